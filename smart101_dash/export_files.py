"""Where an export's files are on disk, and whether every one of them can be reached.

The export is read through this module's walk, never through a glob pattern, and a cut from a
private copy of its files (`snapshot`): a glob silently
skips a folder it cannot list and reads `[`, `*` and `?` in a path as patterns, so rows on disk
would go unread without a word. The walk follows symbolic links (a loop is a problem, not a
hang), opens every part, and returns what it could not reach; validation turns each into an
error on the dataset it hits.

Names beginning with `.` or `_` are not data (the Hive and Spark convention: temporary files
of a writer, `_SUCCESS`), so an export job may write `.adsl.parquet.tmp` and rename it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from smart101_dash.sql import quote_literal

# The file an export job writes last to say the cut is complete (docs/data-contract.md).
COMPLETE_MARKER = "_SUCCESS"
HIDDEN = (".", "_")


@dataclass(frozen=True)
class Unreachable:
    """A file or folder under the export that could not be read, and why."""

    path: str  # relative to the folder walked ("." for the folder itself)
    reason: str  # the system's words: "Permission denied", "Too many levels of symbolic links"


@dataclass(frozen=True)
class Walk:
    """Every Parquet file under a folder, what could not be reached, and when it last changed."""

    # (relative path, size, modification time, last change: the later of mtime and ctime, so
    # a file renamed into place counts as changed), in nanoseconds
    files: tuple[tuple[str, int, int, int], ...]
    unreachable: tuple[Unreachable, ...]
    last_change_ns: int  # newest change of a file or folder
    complete_ns: int | None  # when the complete marker was written; None without one

    def fingerprint(self) -> str:
        """A short hash of the files (names, sizes, modification times) and of what could
        not be reached, so a fixed permission is a new cut."""
        digest = hashlib.sha256()
        for rel, size, mtime, _ in self.files:
            digest.update(f"{rel}\0{size}\0{mtime}\n".encode())
        for problem in self.unreachable:
            digest.update(f"!{problem.path}\0{problem.reason}\n".encode())
        return digest.hexdigest()[:12]

    def is_marked_complete(self) -> bool:
        """The export job said the cut is complete, after its last change of a file."""
        newest_file = max((changed for *_, changed in self.files), default=0)
        return self.complete_ns is not None and self.complete_ns >= newest_file


def resolved(folder: Path | str) -> Path:
    """The absolute path; a link loop is left as it is, for validation to name."""
    path = Path(folder).expanduser()
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # Python 3.11 raises RuntimeError on a symlink loop
        return path.absolute()


def reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def walk(root: Path) -> Walk:
    """Walk `root` (following links; each real folder once) for `*.parquet` files."""
    files: list[tuple[str, int, int, int]] = []
    unreachable: list[Unreachable] = []
    seen: set[tuple[int, int]] = set()
    last_change, complete = 0, None
    pending = [(root, ".")]
    while pending:
        folder, rel = pending.pop()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in seen:
                unreachable.append(Unreachable(rel, "symbolic link loop"))
                continue
            seen.add((info.st_dev, info.st_ino))
            last_change = max(last_change, info.st_mtime_ns)
            with os.scandir(folder) as listing:
                names = sorted(entry.name for entry in listing)
        except OSError as exc:
            unreachable.append(Unreachable(rel, reason(exc)))
            continue
        for name in names:
            path, child = folder / name, name if rel == "." else f"{rel}/{name}"
            if name.startswith(HIDDEN):
                if rel == "." and name == COMPLETE_MARKER:
                    complete = _mtime_or_none(path)
                continue
            try:
                info = os.stat(path)
                if stat.S_ISDIR(info.st_mode):
                    pending.append((path, child))
                    continue
                if not name.endswith(".parquet"):
                    continue
                with open(path, "rb"):
                    pass  # a part that exists but cannot be opened is rows not read
            except OSError as exc:
                unreachable.append(Unreachable(child, reason(exc)))
                continue
            changed = max(info.st_mtime_ns, info.st_ctime_ns)
            files.append((child, info.st_size, info.st_mtime_ns, changed))
            last_change = max(last_change, changed)
    return Walk(tuple(sorted(files)), tuple(unreachable), last_change, complete)


def _mtime_or_none(path: Path) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def glob_escaped(path: Path | str) -> str:
    """A path DuckDB reads as itself: `[`, `*` and `?` would otherwise be glob patterns."""
    text = str(path)
    return text.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")


def partition_keys(parts: tuple[Path, ...], root: Path) -> tuple[str, ...]:
    """The Hive partition keys (`key=value` folders) of a folder's parts."""
    keys: set[str] = set()
    for part in parts:
        for folder in part.relative_to(root).parts[:-1]:
            if "=" in folder:
                keys.add(folder.split("=", 1)[0])
    return tuple(sorted(keys))


def read_parquet_sql(parts: tuple[Path, ...], hive: bool, filename: bool = False) -> str:
    """`read_parquet` over exactly these files (paths quoted and glob-escaped)."""
    paths = ", ".join(quote_literal(glob_escaped(p)) for p in parts)
    extra = ", filename = true" if filename else ""
    return (f"read_parquet([{paths}], hive_partitioning = {str(hive).lower()}, "
            f"union_by_name = true{extra})")


def snapshot(folder: Path, seen: Walk, into: Path) -> None:
    """Copy the Parquet files of `seen` (a walk of `folder`) into the empty folder `into`.

    A cut is read from its copy, never from the export folder: a job that replaces a file
    while a page is drawn cannot change the cut under it or hand DuckDB a file that changed
    between two reads. A part that vanished or cannot be read meanwhile is left out (the
    validation of the folder names it).
    """
    for rel, *_ in seen.files:
        target = into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(folder / rel, target)
        except OSError:
            continue
