"""``receiptcore scan``: the CI gate that keeps weights, datasets, vector snapshots, unsafe
pickles, keys, oversized files and forbidden imports out of a runtime repository.

One module per concern: :mod:`~receiptcore.scan.select` (the files), :mod:`.config`,
:mod:`.catalogue` (the rules), :mod:`.rules` and :mod:`.imports` (what they find),
:mod:`.baseline`, :mod:`.run` (one scan), :mod:`.report` and :mod:`.sarif`. The package itself
imports nothing: a scan starts its listing before the rules load (see
:func:`~receiptcore.scan.select.select_files`). See ``docs/scan.md``.
"""
