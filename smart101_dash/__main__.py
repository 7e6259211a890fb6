"""Command line: `python -m smart101_dash {validate,demo,tables,contract} ...`."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smart101_dash",
                                     description="Smart-101 outcomes dashboard tools.")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check an export folder against the contract")
    validate.add_argument("export_dir", type=Path)

    demo = commands.add_parser("demo", help="write a synthetic demo export")
    demo.add_argument("out", type=Path)
    demo.add_argument("--seed", type=int, default=None, help="random seed (default: the demo's)")
    demo.add_argument("--controls", type=int, default=150, help="size of the control cohort")
    demo.add_argument("--cutoff", type=_date, default=None,
                      help="the same trial as it stood at this earlier cut-off (YYYY-MM-DD)")

    tables = commands.add_parser("tables", help="write every panel's tables as CSV files")
    tables.add_argument("export_dir", type=Path)
    tables.add_argument("out", type=Path)
    tables.add_argument("--arm", choices=["GROUP A", "GROUP B"], default=None,
                        help="one arm against the controls of its age group (as the app's Arm)")
    for flag, what in (("--cohort", "cohort (SMART101, CONTROL)"),
                       ("--age-group", "age group (ADULT, PEDIATRIC)"),
                       ("--diagnosis", "diagnosis (DIAG)"),
                       ("--disease-status", "disease status (DISSTAT)"),
                       ("--donor-type", "donor type (DONTYPE)")):
        tables.add_argument(flag, action="append", default=None, metavar="VALUE",
                            help=f"keep this {what}; repeat for several (as the sidebar)")
    tables.add_argument("--enrolled-from", type=_date, default=None, metavar="YYYY-MM-DD")
    tables.add_argument("--enrolled-to", type=_date, default=None, metavar="YYYY-MM-DD")
    tables.add_argument("--view", default=None, metavar="URL",
                        help="a view shared from the app (its address, or the part after '?'): "
                             "its data cut, filters and, for its page, the page's options; "
                             "not combined with the filter options above")
    tables.add_argument("--subjects", action="store_true",
                        help="also write subjects.csv: the filtered population, one row per "
                             "subject, with every endpoint's days and status (subject-level)")
    tables.add_argument("--role", default="analyst",
                        help="write what this role of the roles file may see (default analyst)")
    tables.add_argument("--landmark-day", type=_positive_day, default=None, metavar="L",
                        help="time-to-event tables from landmark day L (as the pages' 'From a "
                             "landmark day'): only patients alive and free of each endpoint "
                             "at day L count")
    tables.add_argument("--as-treated", action="store_true",
                        help="SMART101 as infused (default: as enrolled, intention to treat)")

    report = commands.add_parser("report", help="the DSMB report: one HTML file and its PDF")
    report.add_argument("export_dir", type=Path)
    report.add_argument("out", type=Path)
    report.add_argument("--session", choices=["open", "closed"], required=True,
                        help="closed: everything by cohort and arm (the DSMB); open: pooled "
                             "safety and the stopping rules, no comparison")
    report.add_argument("--previous", default=None,
                        help="the earlier cut to compare with (its folder name; default the "
                             "cut before)")
    report.add_argument("--role", default="dsmb",
                        help="write what this role of the roles file may see (default dsmb)")
    report.add_argument("--no-pdf", action="store_true", help="write the HTML file only")

    audit = commands.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="check the trail's chain of hashes")
    verify.add_argument("folder", type=Path, nargs="?", default=None,
                        help="the audit folder (default: $SMART101_AUDIT_DIR or var/audit)")

    commands.add_parser("contract", help="print the export contract as Markdown")

    args = parser.parse_args(argv)
    if args.command == "contract":
        from smart101_dash.contract_doc import render_contract_markdown

        print(render_contract_markdown(), end="")
        return 0
    if args.command == "validate":
        from smart101_dash.cuts import find_cuts
        from smart101_dash.validate import validate_export

        cuts = find_cuts(args.export_dir)
        ok = True
        for cut in cuts:  # a folder of cuts: each cut in turn, oldest first
            if len(cuts) > 1:
                print(f"== Cut {cut.label} ==")
            report = validate_export(cut.path)
            print(report.format_text())
            ok = ok and report.ok
        return 0 if ok else 1
    if args.command == "tables":
        return _tables(args)
    if args.command == "report":
        return _report(args)
    if args.command == "audit":
        from smart101_dash.audit import audit_dir, verify

        result = verify(args.folder or audit_dir())
        print(result.format())
        return 0 if result.ok else 1
    if args.command == "demo":
        from smart101_dash.demo import write_demo_export

        if args.controls < 0:
            parser.error("--controls must be zero or more")
        options: dict[str, object] = {"n_controls": args.controls}
        if args.cutoff is not None:
            options["earlier"] = args.cutoff
        if args.seed is not None:
            options["seed"] = args.seed
        try:
            counts = write_demo_export(args.out, **options)
        except (FileExistsError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"Demo export written to {args.out}: "
              + ", ".join(f"{name} {n} rows" for name, n in counts.items()))
        return 0
    return 2  # unreachable: argparse requires a command


def _report(args: argparse.Namespace) -> int:
    from smart101_dash.access import AccessDenied, RolesFileError, load_roles
    from smart101_dash.report import write_report
    from smart101_dash.store import DatasetUnavailable

    try:
        viewer = load_roles().viewer("command line", args.role)
        written = write_report(args.export_dir, args.out, viewer, args.session,
                               previous=args.previous, pdf=not args.no_pdf)
    except (AccessDenied, RolesFileError, ValueError, DatasetUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Report ({args.session} session, {len(written.sections)} sections): {written.html}")
    if written.pdf is not None:
        print(f"PDF: {written.pdf}")
    elif not args.no_pdf:
        print(written.note, file=sys.stderr)
        return 1
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive_day(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole day: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"the landmark day must be 1 or later, got {value}")
    return value


def _tables(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from smart101_dash.access import AccessDenied, RolesFileError, load_roles
    from smart101_dash.config import SETTINGS
    from smart101_dash.filters import Filters
    from smart101_dash.store import DatasetUnavailable
    from smart101_dash.tables import write_tables

    start = replace(SETTINGS.start, as_treated=args.as_treated)
    if args.landmark_day is not None:
        start = replace(start, landmark=True, landmark_day=args.landmark_day)
    chosen = {"arm": args.arm, "cohorts": args.cohort, "age_groups": args.age_group,
              "diagnoses": args.diagnosis, "disease_statuses": args.disease_status,
              "donor_types": args.donor_type, "enrolled_from": args.enrolled_from,
              "enrolled_to": args.enrolled_to}
    chosen = {k: tuple(v) if isinstance(v, list) else v for k, v in chosen.items() if v}
    if args.view is not None and chosen:
        print("error: --view already holds the filters; give it alone", file=sys.stderr)
        return 2
    try:
        viewer = load_roles().viewer("tables command", args.role)
        assert viewer is not None  # a role was named: viewer() returns one or raises
        written = write_tables(args.export_dir, args.out, viewer, Filters(**chosen),
                               replace(SETTINGS, start=start), view=args.view,
                               subjects=args.subjects)
    except DatasetUnavailable as exc:
        print(f"error: {exc.describe(with_examples=False)}", file=sys.stderr)
        return 1
    except (AccessDenied, RolesFileError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for problem in written.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if written.notice:
        print(f"warning: {written.notice}", file=sys.stderr)
    if written.findings:
        print(f"The export has {len(written.findings)} finding(s) (validate says more):",
              file=sys.stderr)
        for finding in written.findings:
            print(f"  {finding}", file=sys.stderr)
    print(f"{len(written.files)} tables written to {args.out} (role {viewer.role})")
    for name, reason in written.skipped.items():
        print(f"not built: {name}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
