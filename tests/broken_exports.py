"""Exports broken the ways a real one breaks: on disk (links, permissions, corrupt bytes, glob
characters, partitions) and in its values (NaN, dates that cannot be right).

Each case writes the tiny valid export (export_factory) into a folder, breaks it in one way,
and says what validation must find: (dataset, column, words of the rule, severity). The
unprivileged cases are read by a process that cannot bypass permissions (unprivileged.py).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
from export_factory import CUTOFF, D0, ROWS, adae_rows, to_table, valid_tables, write_export
from unprivileged import deny

from smart101_dash.contract import CONTRACT
from smart101_dash.validate import (
    CANNOT_READ,
    FOLDER_UNREADABLE,
    PART_UNREADABLE,
    UNREADABLE,
    Severity,
)

E, W = Severity.ERROR, Severity.WARNING
EVERY_DATASET = tuple(d.name for d in CONTRACT)
Expected = tuple[str, str | None, str, Severity]


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], Path]  # writes and breaks an export under the folder; its path
    expected: tuple[Expected, ...]
    unprivileged: bool = False  # only breaks for an account without root
    left_out: tuple[str, ...] = ()  # datasets that must not be usable
    extra: dict[str, object] = field(default_factory=dict)


def with_rows(name: str, change: Callable[[list[dict]], None]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        rows = ROWS[name]()
        change(rows)
        return write_export(folder / "export", {**valid_tables(), name: to_table(name, rows)})
    return build


def setting(usubjid: str, **values: object) -> Callable[[list[dict]], None]:
    def change(rows: list[dict]) -> None:
        for row in rows:
            if row["USUBJID"] == usubjid:
                row.update(values)
    return change


def corrupt_middle(folder: Path) -> Path:
    """adae with bytes overwritten inside a column's pages; the footer intact, so the first
    read (schema, row count) succeeds."""
    rows = [{**r, "AESEQ": i * 10 + r["AESEQ"], "AETERM": f"{r['AETERM']} {i}"}
            for i in range(150) for r in adae_rows()]
    export = write_export(folder / "export", {**valid_tables(), "adae": to_table("adae", rows)})
    path = export / "adae.parquet"
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    chunk = meta.row_group(0).column(names.index("AETERM"))
    start = (chunk.dictionary_page_offset or chunk.data_page_offset) + 40
    data = bytearray(path.read_bytes())
    data[start:start + 24] = b"\xab" * 24
    path.write_bytes(bytes(data))
    return export


def link_to_itself(folder: Path) -> Path:
    export = write_export(folder / "export")
    (export / "adae.parquet").unlink()
    os.symlink("adae.parquet", export / "adae.parquet")
    return export


def dangling_link(folder: Path) -> Path:
    export = write_export(folder / "export")
    (export / "adsl.parquet").unlink()
    os.symlink("gone/adsl.parquet", export / "adsl.parquet")
    return export


def folder_loop(folder: Path) -> Path:
    os.symlink("loop", folder / "loop")
    return folder / "loop"


def unreadable_folder(folder: Path) -> Path:
    export = write_export(folder / "export")
    deny(export)
    return export


def partitioned_adlb(export: Path) -> Path:
    """adlb as a folder of Hive partitions by subject (the column is in the folder names)."""
    table = pq.read_table(export / "adlb.parquet")
    (export / "adlb.parquet").unlink()
    for usubjid in sorted(set(table["USUBJID"].to_pylist())):
        part = export / "adlb" / f"USUBJID={usubjid}"
        part.mkdir(parents=True)
        rows = table.filter(pc.equal(table["USUBJID"], usubjid)).drop(["USUBJID"])
        pq.write_table(rows, part / "part-0.parquet")
    return export


def unreadable_partition(folder: Path) -> Path:
    export = partitioned_adlb(write_export(folder / "export"))
    deny(export / "adlb" / "USUBJID=C-1")
    return export


def glob_characters(folder: Path) -> Path:
    return partitioned_adlb(write_export(folder / "trial [v2]*?'s export"))


def hive_contradiction(folder: Path) -> Path:
    """adlb in a PARAMCD=CD8 folder while its rows say CD4 inside the file."""
    tables = valid_tables()
    adlb = tables.pop("adlb")
    export = write_export(folder / "export", tables)
    part = export / "adlb" / "PARAMCD=CD8"
    part.mkdir(parents=True)
    pq.write_table(adlb, part / "part-0.parquet")
    return export


def cutoff_far_ahead(folder: Path) -> Path:
    def change(rows: list[dict]) -> None:
        for row in rows:
            row["DCUTDT"] = date(9999, 12, 31)
    return with_rows("adsl", change)(folder)


DEATH_BEFORE_DAY_0 = D0 - timedelta(389)
CASES = [
    Case("corrupt bytes mid-file", corrupt_middle, (("adae", None, UNREADABLE, E),),
         left_out=("adae",)),
    Case("dataset a link to itself", link_to_itself,
         (("adae", None, CANNOT_READ, E),), left_out=("adae",),
         extra={"detail": "Too many levels of symbolic links"}),
    Case("adsl a link to nowhere", dangling_link, (("adsl", None, CANNOT_READ, E),),
         left_out=("adsl",), extra={"detail": "No such file or directory"}),
    Case("export folder a link loop", folder_loop, (("export", None, FOLDER_UNREADABLE, E),),
         left_out=EVERY_DATASET, extra={"detail": "Too many levels of symbolic links"}),
    Case("export folder unreadable", unreadable_folder,
         (("export", None, FOLDER_UNREADABLE, E),), unprivileged=True, left_out=EVERY_DATASET,
         extra={"detail": "Permission denied"}),
    Case("partition folder unreadable", unreadable_partition,
         (("adlb", None, PART_UNREADABLE, E),), unprivileged=True, left_out=("adlb",),
         extra={"detail": "adlb/USUBJID=C-1: Permission denied"}),
    Case("NaN count", with_rows("adlb", setting("C-3", AVAL=math.nan)),
         (("adlb", "AVAL", "not a number (NaN or infinite) where a value is required", E),),
         left_out=("adlb",)),
    Case("infinite count", with_rows("adlb", setting("T-B1", AVAL=math.inf)),
         (("adlb", "AVAL", "not a number (NaN or infinite) where a value is required", E),),
         left_out=("adlb",)),
    Case("NaN visit number", with_rows("adlb", setting("C-1", AVISITN=math.nan)),
         (("adlb", "AVISITN", "not a number (NaN or infinite); read as missing", W),)),
    Case("glob characters in the path", glob_characters, ()),
    Case("partition contradicts the file", hive_contradiction,
         (("adlb", "PARAMCD", "contradicts the column inside its file", E),),
         left_out=("adlb",)),
    Case("death before day 0", with_rows("adsl", setting("T-A2", DTHDT=DEATH_BEFORE_DAY_0)),
         (("adsl", "DTHDT", "dated before the transplant (day 0); the death counts on no page",
           W),
          ("adsl", "LSTALVDT", "last known alive after the date of death", W))),
    Case("last known alive 9999-12-31",
         with_rows("adsl", setting("T-A1", LSTALVDT=date(9999, 12, 31))),
         (("adsl", "LSTALVDT", "dated after today; follow-up ends at a relapse or at day 0",
           W),)),
    Case("cut-off 9999-12-31", cutoff_far_ahead,
         (("adsl", "DCUTDT", "data cut-off after today (9999-12-31); not used", W),),
         extra={"detail": f"{CUTOFF} (the latest date in adsl) is used instead"}),
    Case("infection dated 1900", with_rows("adinf", setting("C-2", ASTDT=date(1900, 1, 1))),
         (("adinf", "ASTDT", "dated before 1950; the record is not used on any page", W),
          ("adinf", "ASTDT", "dated before the transplant (day 0)", W))),
]
