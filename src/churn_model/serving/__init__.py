"""Serving: loading a packaged model and answering with it, over HTTP and in batch.

``contract`` is the request and answer shapes the schema gives; ``request_limits`` reads and checks
bodies within bounds; ``served_model`` loads a model directory and scores records, through
``fast_path`` (the fitted preprocessing replayed on plain NumPy arrays) when it agrees with the
pipeline; ``micro_batching`` lets concurrent requests share calls; ``app`` is the HTTP service;
``batch_scoring`` scores a table of any length in constant memory; ``smoke`` checks a deployed
service against the model it should serve.

May import: errors, files, records, table, domain, config, data, model
"""
