"""Render the export contract as Markdown (docs/data-contract.md is this output, kept by a test)."""

from __future__ import annotations

from smart101_dash.contract import CONTRACT, Column, Dataset

INTRO = """\
# The export contract

The dashboard reads **one export folder**: `data/demo` by default, or the folder named by the
environment variable `SMART101_DATA_DIR`. A cut of the export holds ADaM-style datasets, each either
`<name>.parquet` or a folder `<name>/` of Parquet parts (hive partitions such as
`adlb/PARAMCD=CD4/part-0.parquet` are allowed; a partition column counts as a column). Names are
lower case. Only `adsl` is required; a panel whose dataset is absent says so. Files and folders
whose names begin with `.` or `_` are not data (a writer's temporary files, `_SUCCESS`); every
other `*.parquet` part under a dataset's folder is read, following symbolic links.

## Several cuts
The folder holds one cut (the datasets themselves), or several: one sub-folder per cut, named
by its cut-off date as `YYYY-MM-DD`, each holding a whole cut:

```
export/
  2026-06-30/   adsl.parquet, adae.parquet, adlb/..., ...
  2026-10-31/   adsl.parquet, adae.parquet, adlb/..., ...
```

A folder with at least one dated sub-folder is a folder of cuts: other files and folders in it
are not read. The app shows the newest cut unless another is chosen in the sidebar ("Data
cut"), and its **Since the last cut** page compares the cut shown with an earlier one (by
default the one before): new subjects and events, records whose dates or grades changed, and
records removed, matched by each dataset's record key (adsl USUBJID; adae USUBJID and AESEQ;
adinf USUBJID and INFSEQ; adgvhd USUBJID and ADT). `validate` checks every cut; `tables`
writes the newest. `data/demo` is such a folder: the demo trial at 2026-06-30 and at
2026-10-31 (`python -m smart101_dash demo OUT --cutoff DATE` writes the trial as it stood at
an earlier cut-off).

Check a folder with `python -m smart101_dash validate DIR` (or `make validate
SMART101_DATA_DIR=DIR`): it prints one line per finding (dataset, column, rule, number of rows,
a few USUBJIDs) and exits 0 when the export is usable, 1 when not. The app runs the same checks
when it loads an export and lists the findings on its **Data quality** page. Nothing is ever
written into the export folder. Neither command ever prints a traceback for what is on disk: a
file or folder that cannot be read (permissions, a link loop or a dangling link, corrupt bytes
anywhere in a file, a partition folder that cannot be listed) is an error on the dataset it
hits, so rows on disk are never silently left unread.

## Publishing a cut
The app loads a new cut when its files change, and reads each cut from a private copy of its
files (in the server's temporary folder, removed with the cut), so a page is drawn from one cut
throughout even while the next one is written. An export job should:
- write each file under a temporary name (beginning with `.`, say `.adsl.parquet.tmp`) and
  rename it into place, or write a new dated cut folder;
- write an empty file **`_SUCCESS`** in the cut's folder as its last step (delete it first when
  rewriting a cut in place). A cut with a `_SUCCESS` newer than its files is loaded at once.
  Without it the app waits until the files have not changed for 5 seconds
  (`SMART101_SETTLE_SECONDS`), so a job that renames its files one by one is not caught
  half-way.

Until a new cut can be loaded, and when it cannot be read or lacks a usable adsl, the app goes
on showing the last cut that could be (or the newest earlier cut in a folder of cuts), with a
banner naming the newer one and what is wrong with it. A cut in use by a page is never dropped
under it, however many newer cuts arrive.

## Dates and numbers that cannot be right
One rule, applied once in the cut's views (every page and `tables` see the same) and reported by
`validate` as a warning naming the column and what is done:
- a date before 1950, or after the data cut-off, is not used (read as missing); a record (lab,
  assessment, infection, adverse event) whose own date is not used is left out, and an AE's end
  date that is not used reads as ongoing;
- in adsl, an outcome of the transplant (DTHDT, RLPSDT, ANCRDT, PLTRDT, GFDT, LSTALVDT) dated
  before HSCTDT is not used either; a death that is not used takes DTHFL and DTHCAUS with it,
  so no page counts it (a graft failure takes GFTYPE);
- LSTALVDT after the cut-off but not after today reads as the cut-off (known alive then, the
  usual clipping); after today (9999-12-31, say) it is not used, and follow-up ends at a relapse
  or at day 0;
- a data cut-off after today (or before 1950) is not used: the cut folder's date, else the
  latest date in adsl up to today, stands in, and the banner shows it;
- NaN or an infinity in a required number is an error (the dataset is left out); in an optional
  one (AVISITN) it reads as missing, with a warning.

## Conventions
- **Day 0 is HSCTDT**, the day of the CD34+ selected graft, for both cohorts. The day of an event
  is `date - HSCTDT` (day 0 exists; CDISC's ADY, which has no day 0, is not used).
- Dates are Parquet `date32` (DuckDB `DATE`); text is `string`; `integer` columns are any
  integer type; `number` columns any integer or floating type.
- Flags are `"Y"` or null. Codes are upper-case strings from the allowed sets below.
- Counts are in cells/uL (= cells/mm3 = 10^6/L).

## What the checks do with a finding
| severity | rules | effect |
|---|---|---|
| error | dataset missing (adsl), unreadable, truncated or corrupt; a file or partition folder that cannot be read; a partition folder that contradicts the same column in its file; dataset empty; required column missing; wrong type; missing value (or NaN, an infinity) in a non-nullable column; value outside its allowed set (a required column) or range; duplicate USUBJID in adsl; more than one cut-off date; ARM inconsistent with COHORT | the dataset is left out; panels that need it say why; the other panels still work |
| warning | records whose USUBJID is not in adsl; dates that cannot be right (above); records dated before HSCTDT; DTHFL without DTHDT (or the reverse); AGEGR1 inconsistent with AGE; Group A not adult or Group B not pediatric; SMART101 infusion outside day 4-10 or without a transplant; a control with TRTSDT; transplant before enrollment; last known alive after death; an overall aGvHD grade that is not the MAGIC grade of its organ stages; an optional column's value outside its allowed set (not used); graft failure type and date that disagree, a primary failure after a recovery or a secondary one without it | the dataset is used; those rows are left out of the endpoints that cannot use them (events after the cut-off are ignored, orphan records never join a subject) |
| info | an optional dataset is absent | the panels that need it say so |
"""


def _values(col: Column) -> str:
    parts = []
    if col.allowed is not None:
        parts.append(", ".join(f"`{v}`" for v in col.allowed))
    if col.minimum is not None or col.maximum is not None:
        lo = "" if col.minimum is None else f"{col.minimum:g}"
        hi = "" if col.maximum is None else f"{col.maximum:g}"
        parts.append(f"{lo} to {hi}" if lo and hi else f">= {lo}" if lo else f"<= {hi}")
    return "; ".join(parts)


def _dataset(spec: Dataset) -> str:
    need = "required" if spec.required else "optional"
    lines = [f"## `{spec.name}`: {spec.label} ({need})", "", f"Structure: {spec.structure}.", ""]
    if spec.event_dates:
        dated = ", ".join(f"`{c}`" for c in spec.event_dates)
        lines += [f"Event dates checked against day 0 and the cut-off: {dated}.", ""]
    lines += ["| column | type | required | null allowed | allowed values | meaning |",
              "|---|---|---|---|---|---|"]
    for col in spec.columns:
        lines.append(f"| `{col.name}` | {col.kind.value} | {'yes' if col.required else 'no'} | "
                     f"{'yes' if col.nullable else 'no'} | {_values(col)} | {col.meaning} |")
    return "\n".join(lines) + "\n"


def render_contract_markdown() -> str:
    return INTRO + "\n" + "\n".join(_dataset(spec) for spec in CONTRACT)
