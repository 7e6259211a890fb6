"""Since the last cut: what a DSMB asks first at a new meeting.

Per cohort and arm, the subjects newly enrolled, transplanted and infused; new deaths (cause,
day), relapses, SAEs, grade 3+ AEs, a higher maximum acute GvHD grade, new chronic GvHD and
new grade 3 infections; records re-adjudicated between the cuts (old and new value) and
records removed; and the headline estimates then and now. The earlier cut is the one before
the cut shown, or another chosen on the page (`changes.py` holds the SQL).
"""

from __future__ import annotations

import pandas as pd

from smart101_dash.access import Permission, Viewer
from smart101_dash.analysis import analysis_tables
from smart101_dash.changes import (
    CHANGES,
    RECORD_CHANGES_SQL,
    change_tables,
    subject_changes_sql,
)
from smart101_dash.config import Settings
from smart101_dash.cuts import earlier_cut, sibling_cuts
from smart101_dash.filters import Filters
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult
from smart101_dash.panels.common import cohort_counts
from smart101_dash.panels.curves import landmark_rows
from smart101_dash.panels.spec import ItemSpec, Kind, Option, Panel, Section, Widget, wants
from smart101_dash.store import Database, ExportCut, Query

TITLE = "Since the last cut"
GROUPS = (("SMART101", "GROUP A"), ("SMART101", "GROUP B"), ("CONTROL", "CONTROL"))
# The headline estimates compared: (PARAMCD, day, label); OS a survival, the others incidences.
HEADLINES = (("OS", 365, "Overall survival at 1 year"), ("NRM", 100, "NRM by day 100"),
             ("AGVHD34", 100, "Grade III-IV aGvHD by day 100"))
EARLIER = ""  # the option's value for "the cut before the one shown"


def earlier_choices(cut: ExportCut) -> tuple[tuple[str, str], ...]:
    """The page's choices: the cut before (default), then every earlier cut by name."""
    earlier = [c for c in sibling_cuts(cut.export_dir) if c.path != cut.export_dir
               and (c.cutoff is None or cut.cutoff is None or c.cutoff < cut.cutoff)]
    return (("The cut before", EARLIER), *((c.label, c.label) for c in reversed(earlier)))


def build(db: Database, cut: ExportCut, filters: Filters, settings: Settings, *,
          viewer: Viewer, previous: str = EARLIER,
          items: frozenset[str] | None = None) -> PanelResult:
    """Counts per change and group and the estimates then and now (aggregate); the subjects
    and the changed records only for a viewer allowed subject-level rows. `items`: the keys
    wanted (None: every item the viewer may see)."""
    chosen = earlier_cut(cut.export_dir) if previous == EARLIER else next(
        (c for c in sibling_cuts(cut.export_dir) if c.label == previous), None)
    if chosen is None:
        several = len(sibling_cuts(cut.export_dir)) > 1
        text = (f"No cut named {previous!r} in this export." if previous != EARLIER else
                f"The cut shown ({cut.cutoff}) is the earliest of this export: there is no "
                "earlier cut to compare it with." if several else
                "This export holds a single cut: there is no earlier cut to compare with. "
                "An export folder may hold one sub-folder per cut, named by its cut-off date "
                "(docs/data-contract.md).")
        return PanelResult(TITLE, cut, filters, messages=(Message(Level.INFO, text),))
    old = db.load(chosen.path)
    old.require("adsl")
    tables = change_tables(db, cut, old)
    changes = tables.changes
    skipped = [c for c in CHANGES if c not in changes]
    messages = [Message(Level.WARNING, f"Not compared: {', '.join(skipped)} (their dataset is "
                                       "not usable in one of the two cuts).")] if skipped else []
    search = (tables.schema,)
    label = f"cut of {old.cutoff or chosen.label}"
    shown = []
    if wants(items, "changes_summary"):
        q_counts = Query(subject_changes_sql(counted=True), filters.params())
        summary = summary_table(db.query(cut, q_counts, search=search), changes, settings)
        shown.append(PanelItem(
            "changes_summary", f"Subjects with each change since the {label}", summary, None,
            (q_counts,), "Subjects of the filtered population (a subject counts once per "
            "change). The lists of subjects are under 'Subjects and records', for roles "
            "that may see them."))
    if wants(items, "changes_estimates"):
        q_estimates, estimates = headline_table(db, cut, old, filters, settings)
        shown.append(PanelItem(
            "changes_estimates", "Headline estimates then and now", estimates, None,
            q_estimates, "Kaplan-Meier (OS) and cumulative incidence (NRM, aGvHD) on each "
            "cut, for the filtered population."))
    subject_level = viewer.can(Permission.SUBJECT_LEVEL)
    if subject_level and wants(items, "changes_subjects"):
        q_subjects = Query(subject_changes_sql(), filters.params(), subject_level=True)
        shown.append(PanelItem(
            "changes_subjects", "The subjects of each change",
            db.query(cut, q_subjects, viewer, search=search), None, (q_subjects,),
            "Day: days after the transplant (day 0) of the event."))
    if subject_level and wants(items, "changes_records"):
        q_records = Query(RECORD_CHANGES_SQL, filters.params(), subject_level=True)
        shown.append(PanelItem(
            "changes_records", "Records re-adjudicated or removed",
            db.query(cut, q_records, viewer, search=search), None, (q_records,),
            "A value known in both cuts that differs (a date or grade read again), and "
            "records of the earlier cut the later one no longer has."))
    compared = (f"Compared: this cut ({cut.cutoff}) with the {label} (export "
                f"{old.fingerprint}).")
    return PanelResult(TITLE, cut, filters, tuple(shown), messages=tuple(messages),
                       n_per_group=cohort_counts(db, cut, filters), definitions=(compared,))


def summary_table(counts: pd.DataFrame, changes: tuple[str, ...], settings: Settings
                  ) -> pd.DataFrame:
    """One row per change, one column per cohort and arm: subjects."""
    found = {(r.change, r.cohort, r.arm): int(r.subjects) for r in counts.itertuples()}
    labels = {g: (settings.study.arm_label(g[1]) if g[0] == "SMART101" else "Control")
              for g in GROUPS}
    rows = [{"change": change, **{labels[g]: found.get((change, *g), 0) for g in GROUPS}}
            for change in changes]
    return pd.DataFrame(rows, columns=["change", *labels.values()])


def headline_table(db: Database, cut: ExportCut, old: ExportCut, filters: Filters,
                   settings: Settings) -> tuple[tuple[Query, ...], pd.DataFrame]:
    """OS at 1 year, NRM and grade III-IV aGvHD by day 100, per cohort, then and now."""
    by_cut, queries = {}, []
    for name, which in (("then", old), ("now", cut)):
        tables = analysis_tables(db, which, settings.endpoints)
        codes = tuple(c for c, _, _ in HEADLINES if c in tables.parameters)
        read = tables.endpoints(db, filters, codes)
        queries.append(read.query)
        by_cut[name] = {code: landmark_rows(code, read[code], [day], survival=code == "OS")
                        for code, day, _ in HEADLINES if code in read}
    rows = []
    for code, day, label in HEADLINES:
        for group in ("SMART101", "CONTROL"):
            row: dict[str, object] = {"estimate": label, "group": group}
            for name in ("then", "now"):
                table = by_cut[name].get(code)
                hit = None if table is None else table[table["group"] == group]
                row[name] = None if hit is None or hit.empty else hit["estimate"].iloc[0]
                row[f"n_{name}"] = None if hit is None or hit.empty else int(
                    hit["n_risk"].iloc[0])
            rows.append(row)
    table = pd.DataFrame(rows, columns=["estimate", "group", "then", "now", "n_then", "n_now"])
    # Whole numbers, blank for a group the filters leave out (floats drew 21.000).
    table = table.astype({"n_then": "Int64", "n_now": "Int64"})
    return tuple(queries), table.rename(columns={"n_then": "at_risk_then",
                                                 "n_now": "at_risk_now"})


# The counts and estimates open the page; the lists of subjects and records (subject-level,
# two more queries) are built when their tab is opened.
SUMMARY = Section("summary", "Counts and estimates")
LISTS = Section("subjects", "Subjects and records")

PANEL = Panel(
    key="changes", title=TITLE, icon=":material/difference:", datasets=("adsl",),
    items=(ItemSpec("changes_summary", Kind.TABLE, section=SUMMARY),
           ItemSpec("changes_estimates", Kind.TABLE, section=SUMMARY),
           ItemSpec("changes_subjects", Kind.TABLE, subject_level=True, section=LISTS),
           ItemSpec("changes_records", Kind.TABLE, subject_level=True, section=LISTS)),
    options=(Option("previous", "Compared with", Widget.SELECT, lambda s: EARLIER,
                    cut_choices=earlier_choices,
                    help="The earlier cut of this export to compare the cut shown with."),),
    build=build)
