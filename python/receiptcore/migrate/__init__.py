"""The migration: a repository's binary assets moved to the artifact store, verified references
left in their place (``externalize``), and brought back verified (``pull``). See docs/migrate.md.

- :mod:`~receiptcore.migrate.reference`: the reference file, its place and its one written form;
- :mod:`~receiptcore.migrate.plan`: the gate's findings turned into artifacts, code sites and
  history sizes, changing nothing;
- :mod:`~receiptcore.migrate.externalize` and :mod:`~receiptcore.migrate.pull`: the two moves;
- :mod:`~receiptcore.migrate.check`: a reference's claims against the ledger;
- :mod:`~receiptcore.migrate.git`: what they ask of git.
"""
