"""The append-only ledger: a Merkle log of receipts with signed checkpoints.

:mod:`.merkle` hashes and proves (RFC 6962/9162), :mod:`.checkpoint` signs tree heads (C2SP
signed notes), :mod:`.sqlite` stores the log under ``.receiptcore/`` (the embedded default).
"""
