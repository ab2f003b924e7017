"""The tool server (the models side of the boundary): ``rag.query``, ``artifact.fetch`` and
``receipt.verify`` over MCP (``receiptcore mcp``).

:mod:`.service` is what the tools do (through the one ``verify``), :mod:`.rag` the query engine's
policy, :mod:`.server` the MCP wiring (schemas from the v2 contracts, strict requests, validated
responses), :mod:`.http` the streamable HTTP endpoint with its Host/Origin and bearer checks.
The client a runtime keeps is :mod:`receiptcore.runtime`, which never imports this package.
"""
