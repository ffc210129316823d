"""Tables: reading them within bounds, checking them against the schema, pinning and drawing them.

``tables`` reads CSV and Parquet files within bounds (whole or in chunks) and writes CSV bytes that
depend only on the values; ``parsing`` is the one rule by which a field's text becomes a value;
``validation`` derives its rules from the schema and checks a table chunk by chunk, ``problems``
keeps what it finds in bounded memory and reports every problem at once (``id_ledger`` finds
repeated ids across the chunks of a read); ``pinning``
materialises the DVC-pinned data, verifies it and refreshes the pin; ``synthetic`` draws rows of
any schema; ``infer_schema`` drafts a ``schema.py`` from an extract (``label_leaks`` finds the
features it asks about as possible leaks).

May import: errors, files, records, table, threads, domain, config
"""
