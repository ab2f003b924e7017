"""``receiptcore tool``: call a tool server as a runtime does, checking every proof here."""

from __future__ import annotations

import argparse
import json

from receiptcore.cli import options
from receiptcore.cli.output import emit, warn

EXAMPLES = """\
examples:
  receiptcore tool receipt.verify '{"artifact": {"artifact_id": "docs.faiss", "commit": "<hex>"}}' \\
      --server "receiptcore mcp --home /srv/models/.receiptcore"
  receiptcore tool artifact.fetch '{"artifact": {...}}' --server http://127.0.0.1:8765/mcp --out index.faiss
  receiptcore tool artifact.fetch '{"artifact": {"artifact_id": "adapter", ...}}' --server URL --out adapter/
  receiptcore tool rag.query '{"index": {...}, "query": "how do I verify?", "top_k": 3}' --server URL --json

The proofs a server sends are checked against this machine's trust file and the checkpoint it
pinned (--trust, --ledger-key, --state): a lying server is refused whatever it says.
artifact.fetch --out writes a file artifact's bytes to that file, and a tree artifact (a
published folder) to that folder, which must not exist: it appears, by one rename, only once
every file hashed to its entry in the tree's file list and the list to the commit. Bytes that do
not match exit 9 (digest_mismatch) and leave nothing at --out.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = options.command(
        subparsers,
        "tool",
        help="call rag.query, artifact.fetch or receipt.verify on a tool server, verified here",
        epilog=EXAMPLES,
    )
    parser.add_argument("name", choices=("rag.query", "artifact.fetch", "receipt.verify"))
    parser.add_argument("arguments", metavar="JSON", help="the request, as its contract says")
    parser.add_argument(
        "--server",
        required=True,
        metavar="URL|COMMAND",
        help="an http(s)://.../mcp URL, or the command that starts a server on stdio",
    )
    parser.add_argument(
        "--out",
        metavar="PATH",
        help="artifact.fetch: write the file here, or a tree artifact as this folder "
        "(all or nothing)",
    )
    options.add(parser, "token", "home", "trust", "ledger_key", "state", "mode", "json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import anyio

    from receiptcore.contracts import parse_json_bytes
    from receiptcore.contracts.requests import read_request
    from receiptcore.contracts.schemas import TOOL_SCHEMAS, TOOLS_V2

    arguments = parse_json_bytes(args.arguments, f"{args.name} request")
    read_request(TOOLS_V2[TOOL_SCHEMAS[args.name]][0], arguments, f"{args.name} request")
    result = anyio.run(_call, args, arguments)
    for failure in result["warnings"]:
        warn(f"NOT verified (mode=warn): {failure['message']} ({failure['exit_name']})")
    emit(args, result, _text(result))
    return 0


async def _call(args: argparse.Namespace, arguments) -> dict:
    from receiptcore.runtime.client import ToolClient

    async with ToolClient(
        args.server, trust=args.trust, ledger_key=args.ledger_key, home=args.home,
        state=args.state, mode=args.mode, token=options.token(args),
    ) as client:
        artifact = arguments.get("artifact", {}) if isinstance(arguments, dict) else {}
        if args.name == "receipt.verify":
            receipt = await client.verify(artifact.get("artifact_id", ""), artifact.get("commit", ""))
            body = receipt.response.to_json_obj()
            warnings = receipt.warnings
        elif args.name == "artifact.fetch":
            artifact_id, commit = artifact.get("artifact_id", ""), artifact.get("commit", "")
            if args.out is not None and await _is_tree(client, artifact):
                tree = await client.fetch_tree(artifact_id, commit, args.out)
                body = {"artifact": tree.artifact.to_json_obj(), "kind": "tree",
                        "files": len(tree.files), "size": sum(f.size for f in tree.files),
                        "out": args.out}
                warnings = tree.warnings
            else:
                fetched = await client.fetch(artifact_id, commit, args.out)
                body = {"artifact": fetched.artifact.to_json_obj(), "size": fetched.size,
                        "out": args.out}
                warnings = fetched.warnings
        else:
            answer = await client.query(
                arguments.get("index", {}), arguments.get("query", ""), arguments.get("top_k", 5)
            )
            body = answer.response.to_json_obj()
            warnings = answer.warnings
    return {**body, "warnings": [w.to_json_obj() for w in warnings]}


async def _is_tree(client, artifact: dict) -> bool:
    """Whether the server says ``artifact`` is a tree (where the bytes are, none sent). Its word
    only chooses how to fetch: ``fetch_tree`` refuses bytes that are not a tree's file list
    hashing to the commit, and ``fetch`` checks the bytes against it."""
    located = await client.call("artifact.fetch", {"artifact": artifact})
    return located.kind == "tree"


def _text(result: dict) -> str:
    if "hits" in result:
        lines = [f"{h['rank']}. {h['score']:.3f} {h['path']} chunk {h['chunk']}: "
                 f"{' '.join(h['text'].split())[:200]}" for h in result["hits"]]
        return "\n".join(lines) or "no hits"
    if "proof" in result:
        a = result["artifact"]
        return (f"verified {a['artifact_id']} sha256:{a['commit']} (ledger entry "
                f"{result['ledger_index']}, checkpoint size {result['checkpoint_size']}), "
                "proofs checked here")
    return json.dumps(result, indent=2)
