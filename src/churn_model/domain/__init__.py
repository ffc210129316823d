"""The domain: the files a user edits to adopt the template for their own table.

``schema`` says what a valid record is, ``features`` turns records into model inputs (the
scikit-learn ``Pipeline``), and ``example`` is the bundled sample's story (how ``just data``
rebuilds the pinned example data offline). Everything outside this package is machinery: it reads
what it needs from here and never names the example's columns.
"""
