"""The audit trail: who signed in, looked at what, changed which filter, downloaded what.

One JSON object per line in `<folder>/audit.jsonl`, appended only. Each record carries `hash`,
the SHA-256 of its own content (every other field, canonical JSON), and `prev`, the hash of the
record before it (64 zeros for the first). Editing a record breaks its own hash; removing or
reordering records breaks the `prev` link of the record that follows. `verify` names the first
record that does not fit (`python -m smart101_dash audit verify [DIR]`).

The folder is $SMART101_AUDIT_DIR, or var/audit in the project folder; never inside the export
folder. Appends take an exclusive lock on the file, so several sessions, threads and processes
write one unbroken chain.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from smart101_dash.access import Permission, Viewer
from smart101_dash.config import PACKAGE_ROOT
from smart101_dash.export_files import resolved

AUDIT_DIR_ENV = "SMART101_AUDIT_DIR"
DEFAULT_AUDIT_DIR = PACKAGE_ROOT / "var" / "audit"
FILE_NAME = "audit.jsonl"
GENESIS = "0" * 64
FIELDS = ("time", "user", "role", "action", "page", "filters", "export", "rows", "detail")


class Action(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    PAGE_VIEW = "page_view"
    FILTER_CHANGE = "filter_change"
    DOWNLOAD = "download"
    ACCESS_DENIED = "access_denied"
    REPORT = "report"  # a report downloaded from the app (its session and format)


class AuditError(RuntimeError):
    """The trail cannot be written where it was configured: nothing is shown until it can."""


def audit_dir() -> Path:
    value = os.environ.get(AUDIT_DIR_ENV)
    return Path(value).expanduser().resolve() if value else DEFAULT_AUDIT_DIR


def content_hash(record: dict[str, Any]) -> str:
    """SHA-256 of every field but `hash`, as canonical JSON (sorted keys, no spaces)."""
    body = {k: v for k, v in record.items() if k != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AuditLog:
    """Appends records to one folder's chain."""

    def __init__(self, folder: Path, export_dir: Path | None = None) -> None:
        folder = folder.expanduser().resolve()
        if export_dir is not None:
            export_dir = resolved(export_dir)
            if folder == export_dir or export_dir in folder.parents:
                raise AuditError(f"the audit folder {folder} is inside the export folder "
                                 f"{export_dir}; the app never writes there "
                                 f"(set {AUDIT_DIR_ENV} elsewhere)")
        self.folder = folder
        self.path = folder / FILE_NAME

    def append(self, viewer: Viewer, action: Action, *, page: str = "", filters: str = "",
               export: str = "", rows: int | None = None, detail: str = "") -> dict[str, Any]:
        record: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "user": viewer.email, "role": viewer.role, "action": action.value, "page": page,
            "filters": filters, "export": export, "rows": rows, "detail": detail}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    record["prev"] = _last_hash(handle)
                    record["hash"] = content_hash(record)
                    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
                    handle.seek(0, os.SEEK_END)
                    handle.write(line.encode("utf-8") + b"\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        except OSError as exc:
            raise AuditError(f"cannot write the audit trail {self.path}: "
                             f"{exc.strerror or exc}") from None
        return record


def _last_hash(handle: Any) -> str:
    """The `hash` of the file's last record (GENESIS for an empty file)."""
    end = handle.seek(0, os.SEEK_END)
    if end == 0:
        return GENESIS
    size = min(end, 1 << 16)
    while True:
        handle.seek(end - size)
        lines = handle.read(size).rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or size == end:
            break
        size = min(end, size * 4)  # one record longer than the chunk read
    try:
        return str(json.loads(lines[-1])["hash"])
    except (ValueError, KeyError) as exc:
        raise AuditError("the audit trail's last record is damaged; run "
                         "'python -m smart101_dash audit verify'") from exc


@dataclass(frozen=True)
class Verification:
    records: int
    first_bad: int | None = None  # 1-based line number
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def format(self) -> str:
        if self.ok:
            return f"audit trail intact: {self.records} records"
        return f"audit trail broken at record {self.first_bad}: {self.reason}"


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, line.rstrip(b"\n")


def verify(folder: Path) -> Verification:
    """Check the chain of `folder`'s trail, record by record."""
    path = folder / FILE_NAME
    if not path.exists():
        return Verification(0)
    previous, count = GENESIS, 0
    for number, line in _lines(path):
        try:
            record = json.loads(line)
        except ValueError as exc:
            return Verification(count, number, f"not a JSON record ({exc})")
        if not isinstance(record, dict):
            return Verification(count, number, "not a JSON object")
        if record.get("prev") != previous:
            return Verification(count, number, "its prev does not match the record before "
                                               "it (a record removed, inserted or reordered)")
        if record.get("hash") != content_hash(record):
            return Verification(count, number, "its content does not match its hash "
                                               "(the record was edited)")
        previous, count = record["hash"], count + 1
    return Verification(count)


def read_records(folder: Path, viewer: Viewer) -> list[dict[str, Any]]:
    """Every record of the trail, for a viewer with the audit permission."""
    viewer.require(Permission.AUDIT, "reading the audit trail")
    path = folder / FILE_NAME
    if not path.exists():
        return []
    records = []
    for _, line in _lines(path):
        try:
            records.append({k: v for k, v in json.loads(line).items() if k in FIELDS})
        except ValueError:
            continue  # a damaged line: `verify` names it; the page says the trail is broken
    return records
