"""Serving: loading a packaged model and answering with it, in batch and over HTTP.

``answer_names`` names the columns scoring adds, after the label; ``served_model`` loads a model
directory, checked, and scores frames; ``batch_scoring`` scores a table of any length in constant
memory. The HTTP service's modules, in a project that has it, are listed on the Serving page of
the API reference.

May import: errors, files, records, table, threads, domain, config, data, model
"""
