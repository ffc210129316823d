"""The domain: the files a user edits to adopt the template for their own table.

``schema`` says what a valid record is (columns, label, id, slices, dataset rules), ``features``
turns records into model inputs (the scikit-learn ``Pipeline`` and its hyper-parameters), and
``example`` says where the pinned data lives and how ``just data`` rebuilds the bundled sample
offline. Everything outside this package is machinery: it reads what it needs from here and never
names the example's columns. See ``docs/adapting.md``.

May import: errors, records, table
"""
