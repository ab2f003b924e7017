"""Write schemas/*.schema.json from the pydantic models (the single source of truth).

    python scripts/gen_schemas.py          # rewrite the files
    python scripts/gen_schemas.py --check  # exit 1 if a committed file differs (what CI runs)
"""

from __future__ import annotations

import sys
from pathlib import Path

from receiptcore.contracts.schemas import generate

ROOT = Path(__file__).resolve().parent.parent / "schemas"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, text in generate().items():
        path = ROOT / name
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(name)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print(f"schemas out of date (run scripts/gen_schemas.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    for name in stale:
        print(f"wrote schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
