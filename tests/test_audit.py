"""The audit trail: records chained by SHA-256; an edit, a removal or a reordering is named."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import pytest
from viewers import ANALYST, DSMB, SPONSOR

from smart101_dash.access import AccessDenied
from smart101_dash.audit import (
    FILE_NAME,
    GENESIS,
    Action,
    AuditError,
    AuditLog,
    content_hash,
    read_records,
    verify,
)

ROOT = Path(__file__).resolve().parent.parent


def trail(folder: Path, n: int = 5) -> Path:
    log = AuditLog(folder)
    for i in range(n):
        log.append(DSMB, Action.PAGE_VIEW, page=f"page{i}", filters="no filters",
                   export="abc123", rows=i)
    return folder / FILE_NAME


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_each_record_holds_its_fields_and_the_previous_hash(tmp_path: Path) -> None:
    path = trail(tmp_path)
    records = [json.loads(line) for line in lines(path)]
    assert [r["page"] for r in records] == [f"page{i}" for i in range(5)]
    assert records[0]["prev"] == GENESIS
    for before, after in pairwise(records):
        assert after["prev"] == before["hash"] == content_hash(before)
    first = records[0]
    assert first["time"].endswith("Z") and first["user"] == DSMB.email
    assert (first["role"], first["action"], first["export"], first["rows"]) == (
        "dsmb", "page_view", "abc123", 0)
    assert verify(tmp_path).ok and verify(tmp_path).records == 5


def test_an_edited_record_is_named(tmp_path: Path) -> None:
    path = trail(tmp_path)
    text = lines(path)
    text[2] = text[2].replace('"rows":2', '"rows":0')
    path.write_text("\n".join(text) + "\n")
    result = verify(tmp_path)
    assert (result.ok, result.first_bad) == (False, 3) and "edited" in result.reason


def test_an_edit_with_its_hash_recomputed_breaks_the_next_link(tmp_path: Path) -> None:
    path = trail(tmp_path)
    records = [json.loads(line) for line in lines(path)]
    records[1]["user"] = "someone else"
    records[1]["hash"] = content_hash(records[1])
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert verify(tmp_path).first_bad == 3


@pytest.mark.parametrize(("change", "first_bad"), [
    (lambda t: t[:1] + t[2:], 2),  # record 2 removed
    (lambda t: [t[0], t[2], t[1], *t[3:]], 2),  # records 2 and 3 swapped
    (lambda t: t[1:], 1),  # the first removed
    (lambda t: [*t[:3], "{not json", *t[3:]], 4),
])
def test_removed_reordered_or_damaged_records_are_named(tmp_path: Path, change: object,
                                                         first_bad: int) -> None:
    path = trail(tmp_path)
    path.write_text("\n".join(change(lines(path))) + "\n")  # type: ignore[operator]
    assert verify(tmp_path).first_bad == first_bad


def test_concurrent_appends_keep_one_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: log.append(ANALYST, Action.DOWNLOAD, rows=i), range(200)))
    assert verify(tmp_path).records == 200 and verify(tmp_path).ok


def test_cli_exit_codes(tmp_path: Path) -> None:
    trail(tmp_path)
    command = [sys.executable, "-m", "smart101_dash", "audit", "verify", str(tmp_path)]
    ok = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "intact: 5 records" in ok.stdout
    path = tmp_path / FILE_NAME
    path.write_text("\n".join(lines(path)[:2] + lines(path)[3:]) + "\n")
    bad = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "broken at record 3" in bad.stdout
    assert "Traceback" not in bad.stderr


def test_never_inside_the_export_folder(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="inside the export folder"):
        AuditLog(tmp_path / "export" / "audit", export_dir=tmp_path / "export")
    with pytest.raises(AuditError, match="inside the export folder"):
        AuditLog(tmp_path / "export", export_dir=tmp_path / "export")


def test_an_unwritable_folder_is_an_audit_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(AuditError, match="cannot write the audit trail"):
        AuditLog(blocker / "audit").append(DSMB, Action.SIGN_IN)


def test_only_the_audit_permission_reads_the_trail(tmp_path: Path) -> None:
    trail(tmp_path, 2)
    assert [r["page"] for r in read_records(tmp_path, DSMB)] == ["page0", "page1"]
    for viewer in (SPONSOR, ANALYST):
        with pytest.raises(AccessDenied):
            read_records(tmp_path, viewer)
