"""Release: judging candidates, calibrating the judgement, promoting, and tracking all of it.

``gate`` judges a candidate against ``ci/gates.toml`` and the baseline, with ``remeasure``
re-deriving its figures from its model file and held-out split, and ``serving_check`` scoring it
every way it is served; ``gate_rows`` applies the thresholds to the figures, ``verdict`` is the
record of the judgement and the checks promotion makes of it, ``gate_report`` renders it;
``calibration`` measures the spread of every metric over seeds and drafts a ``gates.toml``, and
``decision_threshold`` proposes the threshold from the same runs; ``registry`` promotes and rolls
back the champion; ``tracking``, in a project that tracks, mirrors candidates, verdicts and the
champion to a tracking server when one is configured. ``rejudge`` judges a model again, as the
gate does, before the registry promotes, exports or restores it.

May import: errors, files, records, table, threads, domain, config, data, model, serving
"""
