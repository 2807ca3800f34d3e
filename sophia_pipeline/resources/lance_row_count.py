"""The row count of a local LanceDB table, remembered beside the table so that reading it
again costs a directory listing instead of importing ``lancedb`` (two seconds, most of
``sophia-pipeline status``).

A remembered count is keyed by a token of the table's ``_versions/`` folder: Lance
commits every write (insert, merge, delete, index build, compaction) by adding a
manifest there, so a table whose listing is unchanged is the table that was counted. Any
change of the listing (a new version, a cleanup, a table removed or re-created) misses,
and the caller counts with ``lancedb`` again. Only ``LanceDBVectorStore.count`` fills
the cache, and only with a count taken while the token stayed the same, so a hit is
never a count of another version. This module imports nothing of LanceDB.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

_VERSIONS = "_versions"


class RowCountCache:
    """``<uri>/.<table>.count.json``: one count and the token it was taken at. LanceDB
    lists only ``*.lance`` folders as tables, so the file is invisible to it."""

    def __init__(self, uri: str | os.PathLike[str], table_name: str) -> None:
        self.table_dir = Path(uri) / f"{table_name}.lance"
        self.path = Path(uri) / f".{table_name}.count.json"

    def token(self) -> str | None:
        """A digest of the ``_versions/`` listing (name, size, modification time of each
        entry); None where the table has no such folder (no table, or not one this
        module understands: the caller counts with LanceDB)."""
        try:
            with os.scandir(self.table_dir / _VERSIONS) as entries:
                stats = {e.name: e.stat() for e in entries}
        except OSError:  # no table folder, or an entry removed while listing
            return None
        listing = [(name, s.st_size, s.st_mtime_ns) for name, s in sorted(stats.items())]
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()

    def get(self) -> int | None:
        """The remembered count when the table is unchanged since it was taken."""
        token = self.token()
        if token is None:
            return None
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # never written, or unreadable: count again
            return None
        if not isinstance(saved, dict) or saved.get("token") != token:
            return None
        rows = saved.get("rows")
        return rows if isinstance(rows, int) and rows >= 0 else None

    def put(self, token: str, rows: int) -> None:
        """Remembers ``rows`` for ``token``. Written to a temporary file and renamed, so a
        reader sees the old file or the new one, never half of one. A folder that cannot
        be written (a read-only mount) only costs the next reader a real count."""
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"token": token, "rows": rows}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.debug("row count not cached at %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
