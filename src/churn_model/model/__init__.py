"""The model: training, evaluation, the model file and card, and the candidate folder they make.

``training`` splits a table and fits the domain's pipeline; ``evaluation`` measures it (overall,
per slice, latency, size); ``resolution`` how much each quality figure would move on another
draw of as many held-out rows; ``artifact`` saves and loads a model file within bounds; ``card`` is
what a model is and what produced it; ``report`` writes the Markdown report and its plots;
``candidate`` assembles all of it into ``artifacts/candidates/<id>/``, atomically.

May import: errors, files, records, table, threads, domain, config, data
"""
