"""The artifact-store backends the contract tests run against, and how an owner with full access
to the folder or the bucket would tamper with an object."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from receiptcore.store import open_store

_names = itertools.count()


class StoreBackend:
    """A folder, or a prefix in the S3 server's bucket."""

    def __init__(self, kind: str, tmp_path: Path, seaweedfs=None) -> None:
        self.kind = kind
        if kind == "folder":
            self.url = str(tmp_path / "objects")
        else:
            self.url = seaweedfs.url(f"test-{os.getpid()}-{next(_names)}")
        self.store = open_store(self.url)

    def __repr__(self) -> str:
        return self.kind

    def tamper(self, commit: str, data: bytes) -> None:
        """Replace the stored bytes behind the store's back."""
        if self.kind == "folder":
            path = self.store.path(commit)
            os.chmod(path, 0o644)
            path.write_bytes(data)
        else:
            import obstore

            obstore.put(self.store._store, self.store.key(commit), data)

    def stamp(self, commit: str) -> tuple:
        """What changes if an object is rewritten (inode and mtime, or ETag and date)."""
        if self.kind == "folder":
            st = os.stat(self.store.path(commit))
            return st.st_ino, st.st_mtime_ns
        import obstore

        meta = obstore.head(self.store._store, self.store.key(commit))
        return meta["e_tag"], meta["last_modified"]

    def leftovers(self) -> list[str]:
        """Temporary files or objects a put left behind, and anything under a commit name."""
        if self.kind == "folder":
            root = Path(self.url)
            tmp = [p.name for p in (root / "tmp").iterdir()] if (root / "tmp").exists() else []
            return tmp
        import obstore

        return [m["path"] for batch in obstore.list(self.store._store, "tmp/") for m in batch]

    def names(self) -> list[str]:
        if self.kind == "folder":
            root = Path(self.url) / "sha256"
            return [p.name for p in root.rglob("*") if p.is_file()] if root.exists() else []
        import obstore

        return [m["path"] for batch in obstore.list(self.store._store, "sha256/") for m in batch]

    def remove(self, commit: str) -> None:
        """Delete an object behind the store's back."""
        if self.kind == "folder":
            self.store.path(commit).unlink()
        else:
            import obstore

            obstore.delete(self.store._store, self.store.key(commit))
