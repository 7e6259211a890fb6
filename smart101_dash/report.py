"""The DSMB report: one self-contained HTML file (and a PDF of it) for an open or a closed
session.

Closed session (the DSMB; the `closed_report` permission): every page's figures and tables by
cohort, then the outcome pages again for each arm against the controls of its age group, with
the subject-level listings the viewer may see. Open session
(investigators and sponsor): the safety summary pooled over cohorts and arms and the stopping
rules, no comparison. Both: a title page (study, cut-off, export fingerprint, app version,
settings, generation time, session), a table of contents, each panel's definitions, footer,
N and messages, and every table whole.

The HTML opens offline: Plotly's JavaScript is embedded, no request leaves the file. The PDF
is Chromium printing that file (`--print-to-pdf`): the figures are Plotly's own vector
drawing, the page numbers and the closed session's header come from the print stylesheet.
"""

from __future__ import annotations

import html
import json
import numbers
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from smart101_dash import __version__
from smart101_dash.access import Permission, Viewer
from smart101_dash.config import SETTINGS, Settings
from smart101_dash.export_files import resolved
from smart101_dash.filters import Filters
from smart101_dash.labels import P_VALUE, column_formats, group_names, with_headers
from smart101_dash.panels.base import Level, Message, PanelItem, PanelResult
from smart101_dash.panels.registry import PANELS
from smart101_dash.runner import build_panel
from smart101_dash.store import Database, DatasetUnavailable

SESSIONS = ("open", "closed")
CONFIDENTIAL = "CONFIDENTIAL: DSMB closed session"
CHROMIUM_ENV = "SMART101_CHROMIUM"
OPEN_PANELS = ("safety", "stopping_rules")  # pooled safety, and the rules (SMART101 only)
# The closed report repeats the outcome pages for each arm against the controls of its age
# group (the app's Arm filter): "everything by cohort and arm".
ARM_PANELS = ("engraftment", "cd4_reconstitution", "gvhd", "infections", "adverse_events",
              "survival")
ARMS = ("GROUP A", "GROUP B")
FIGURE_WIDTH = 700  # px at 96 per inch: 185 mm


@dataclass(frozen=True)
class ReportWritten:
    html: Path
    pdf: Path | None
    sections: tuple[str, ...]  # the panel titles, in order
    note: str = ""  # why there is no PDF


def write_report(export_dir: Path, out_dir: Path, viewer: Viewer, session: str, *,
                 previous: str | None = None, pdf: bool = True,
                 settings: Settings = SETTINGS) -> ReportWritten:
    """Write `report-<session>.html` (and `.pdf`) into `out_dir`, never into the export."""
    if session not in SESSIONS:
        raise ValueError(f"session must be one of {SESSIONS}, got {session!r}")
    viewer.require(Permission.AGGREGATE, "a report")
    if session == "closed":
        viewer.require(Permission.CLOSED_REPORT, "the closed-session report")
    export_dir, out_dir = resolved(export_dir), resolved(out_dir)
    if out_dir == export_dir or export_dir in out_dir.parents:
        raise ValueError(f"refusing to write into the export folder {export_dir}")
    db = Database()
    try:
        cut = db.load(export_dir)
        cut.require("adsl")
        results = _results(db, cut, viewer, session, previous, settings)
        document = render(results, cut, session, settings, viewer)
    finally:
        db.close()
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / f"report-{session}.html"
    page.write_text(document, encoding="utf-8")
    sections = tuple(r.title for r in results)
    if not pdf:
        return ReportWritten(page, None, sections)
    made, note = print_pdf(page, out_dir / f"report-{session}.pdf")
    return ReportWritten(page, made, sections, note)


def _results(db: Database, cut: Any, viewer: Viewer, session: str, previous: str | None,
             settings: Settings) -> list[PanelResult]:
    results = []
    for panel in PANELS:
        if session == "open" and panel.key not in OPEN_PANELS:
            continue
        options: dict[str, Any] = {}
        if panel.key == "safety" and session == "open":
            options["pooled"] = True
        if panel.key == "changes" and previous:
            options["previous"] = previous
        results.append(_built(panel, db, cut, Filters(), settings, viewer, options))
    if session == "closed":
        for arm in ARMS:
            for panel in (p for p in PANELS if p.key in ARM_PANELS):
                result = _built(panel, db, cut, Filters(arm=arm), settings, viewer, {})
                title = f"{result.title}: {settings.study.arm_label(arm)} and the controls " \
                        "of its age group"
                results.append(replace(result, title=title))
    return results


def _built(panel: Any, db: Database, cut: Any, filters: Filters, settings: Settings,
           viewer: Viewer, options: dict[str, Any]) -> PanelResult:
    """A panel's result, or its title with the reason it could not be built."""
    try:
        return build_panel(panel, db, cut, filters, settings, viewer, options)
    except DatasetUnavailable as exc:
        return PanelResult(panel.title, cut, filters, messages=(
            Message(Level.WARNING, exc.describe(with_examples=False)),))


def render(results: list[PanelResult], cut: Any, session: str, settings: Settings,
           viewer: Viewer) -> str:
    """The report as one HTML document."""
    e = html.escape
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = CONFIDENTIAL if session == "closed" else "Open session report"
    settings_rows = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>"
                            for k, v in asdict(settings.endpoints).items())
    toc = "".join(f'<li><a href="#s{i}">{e(r.title)}</a></li>' for i, r in enumerate(results))
    body = "".join(_section(i, r, session) for i, r in enumerate(results))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(header)}: Smart-101 DSMB report, cut-off {e(str(cut.cutoff))}</title>
<style>{STYLE.replace("HEADER_TEXT", json.dumps(header))}</style>
<script>{get_plotlyjs()}</script>
</head><body class="{e(session)}">
<div class="running-header">{e(header)}</div>
<section class="title-page">
<h1>Smart-101: DSMB report</h1>
<p class="session">{e("Closed session: for the DSMB only" if session == "closed" else
                      "Open session: pooled over cohorts and arms, no comparison")}</p>
<table class="facts">
<tr><th>Study</th><td>{e(str(cut.study_id))}</td></tr>
<tr><th>Data cut-off</th><td>{e(str(cut.cutoff))}</td></tr>
<tr><th>Export fingerprint</th><td>{e(cut.fingerprint)}</td></tr>
<tr><th>Export folder</th><td>{e(str(cut.export_dir))}</td></tr>
{f'<tr><th>Not the newest cut</th><td>{e(cut.notice)}</td></tr>' if cut.notice else ''}
<tr><th>App version</th><td>smart101_dash {e(__version__)}</td></tr>
<tr><th>Generated</th><td>{e(generated)} for the role {e(viewer.role)}</td></tr>
<tr><th>Session</th><td>{e(session)}</td></tr>
</table>
<h2>Settings</h2><table class="facts">{settings_rows}</table>
</section>
<nav class="toc"><h2>Contents</h2><ol>{toc}</ol></nav>
{body}
</body></html>"""


def _section(index: int, result: PanelResult, session: str) -> str:
    e = html.escape
    parts = [f'<section class="panel" id="s{index}"><h2>{index + 1}. {e(result.title)}</h2>']
    names = group_names(result.filters)  # the arm and its controls, when an arm is chosen
    if result.n_per_group:
        n = ", ".join(f"{names.get(g, g)} n={v}" for g, v in result.n_per_group.items())
        parts.append(f'<p class="n">{e(n)}</p>')
    for message in result.messages:
        parts.append(f'<p class="message {e(message.level.value)}">{e(message.text)}</p>')
    for j, item in enumerate(result.items):
        parts.append(_item(f"f{index}-{j}", item, names))
    if result.definitions:
        parts.append('<div class="definitions"><h3>Definitions</h3><ul>'
                     + "".join(f"<li>{e(d)}</li>" for d in result.definitions) + "</ul></div>")
    parts.append(f'<p class="footer">{e(result.footer)}</p></section>')
    return "".join(parts)


def _item(anchor: str, item: PanelItem, names: dict[str, str]) -> str:
    e = html.escape
    parts = [f'<div class="item"><h3>{e(item.title)}</h3>']
    if item.chart is not None:
        spec = json.loads(pio.to_json(item.chart, validate=False))
        # The width of an A4 page's text (186 mm): the drawing is never cut at the edge.
        spec["layout"].update(width=FIGURE_WIDTH, autosize=False)
        # "</" ends a script element wherever it appears: written as "<\/" inside the JSON.
        data = json.dumps(spec).replace("</", "<\\/")
        parts.append(f'<div class="figure" id="{anchor}"></div><script>(function () {{ '
                     f'var s = {data}; Plotly.newPlot("{anchor}", s.data, s.layout, '
                     '{"staticPlot": true, "displayModeBar": false}); })();</script>')
    if item.caption:
        parts.append(f'<p class="caption">{e(item.caption)}</p>')
    shown = with_headers(item.data, names)  # headers in words and numbers' formats, as on screen
    parts.append(table_html(shown, formats=column_formats(item.data, shown)))
    parts.append("</div>")
    return "".join(parts)


def table_html(data: pd.DataFrame, links: dict[int, Callable[[str], str]] | None = None,
               names: list[str] | None = None, formats: dict[int, str] | None = None) -> str:
    """The whole table, every row and column, text escaped; empty cells for missing values.
    `links`: by column position, the address a cell's text links to (a patient's page);
    `names`: the columns' names when the headers are words (kept as data-column);
    `formats`: by column position, the number format of a column of numbers (right-aligned)."""
    e = html.escape
    formats = formats or {}
    heads = []
    for position, (header, name) in enumerate(zip(data.columns, names or data.columns,
                                                  strict=True)):
        attributes = ' class="num"' if position in formats else ""
        attributes += f' data-column="{e(str(name))}"' if names else ""
        heads.append(f"<th{attributes}>{e(str(header))}</th>")
    head = "".join(heads)
    rows = []
    for row in data.itertuples(index=False):
        cells = []
        for position, value in enumerate(row):
            text = e(cell_text(value, formats.get(position)))
            if links and position in links and text:
                text = f'<a href="{e(links[position](cell_text(value)))}" target="_blank">{text}</a>'
            cells.append('<td class="num">' + text + "</td>" if position in formats else
                         f"<td>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="data" data-rows="{len(data)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def cell_text(value: object, number_format: str | None = None) -> str:
    """A table cell as printed: empty when missing; a number in its column's format when one
    is given, else 4 significant digits for a fraction; a date without its midnight."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[arg-type]
        return ""
    if number_format is not None and isinstance(value, numbers.Real) \
            and not isinstance(value, bool | np.bool_):
        if number_format == P_VALUE:
            return "<0.0001" if value < 0.0001 else f"{value:.4f}"
        return number_format % value
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def chromium() -> str | None:
    """The Chromium to print with: $SMART101_CHROMIUM, else chromium on the PATH."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser",
                                                       "google-chrome")) if p), None)


def print_pdf(page: Path, out: Path) -> tuple[Path | None, str]:
    """Print `page` to `out` with headless Chromium (None and the reason when it cannot)."""
    browser = chromium()
    if browser is None:
        return None, ("no PDF: Chromium was not found (install Debian's chromium, or set "
                      f"{CHROMIUM_ENV}); the HTML file prints the same from any browser")
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
             f"--user-data-dir={profile}", "--virtual-time-budget=20000",
             f"--print-to-pdf={out}", page.as_uri()],
            capture_output=True, text=True, timeout=300, check=False)
    if run.returncode != 0 or not out.exists():
        return None, f"no PDF: Chromium failed ({run.stderr.strip()[-300:]})"
    return out, ""


STYLE = """
body { font-family: "Source Sans Pro", Arial, sans-serif; font-size: 10pt; color: #222;
       margin: 0 auto; max-width: 960px; padding: 0 12px; }
h1 { font-size: 22pt; margin-top: 40px; } h2 { font-size: 15pt; } h3 { font-size: 11.5pt; }
.running-header { display: none; }
body.closed .running-header { display: block; position: sticky; top: 0; background: #fff;
  color: #b00020; font-weight: bold; padding: 4px 0; border-bottom: 1px solid #b00020; }
table { border-collapse: collapse; margin: 6px 0 10px; }
table.data { width: 100%; font-size: 8.5pt; table-layout: auto; }
table.data th, table.data td { border: 1px solid #ccc; padding: 2px 4px; text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
table.data th { background: #f2f2f2; }
table.data .num { text-align: right; font-variant-numeric: tabular-nums; }
table.facts th { text-align: left; padding-right: 16px; font-weight: 600; }
.caption, .footer, .n { color: #555; font-size: 9pt; }
.message { padding: 4px 8px; border-left: 4px solid #999; background: #f7f7f7; }
.message.warning { border-color: #d39e00; } .message.error { border-color: #b00020; }
.figure { width: 700px; max-width: 100%; }
@page { size: A4; margin: 20mm 12mm 18mm;
  @bottom-center { content: "Page " counter(page) " of " counter(pages); font-size: 9pt;
                   color: #555; } }
@page { @top-center { content: HEADER_TEXT; font-size: 9pt; color: #b00020;
                      font-weight: bold; } }
@media print {
  body { max-width: none; padding: 0; }
  .running-header { display: none !important; }
  .title-page { break-after: page; }
  .toc { break-after: page; }
  section.panel { break-before: page; }
  .item { break-inside: auto; }
  .figure { break-inside: avoid; width: 100%; }
  .figure .main-svg { max-width: 100%; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
