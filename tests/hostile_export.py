"""An export whose text fields attack whatever shows or opens them: Markdown, HTML, script,
LaTeX, remote images, `javascript:` links and spreadsheet formulas, in STUDYID, USUBJID, AE
terms, pathogens, sites, donor types and causes of death. Built from the tiny valid export."""

from __future__ import annotations

from pathlib import Path

from export_factory import ROWS, to_table, write_export

MARKUP = ("**bold** _em_ [click](https://evil.example/x) ![img](https://evil.example/i.png) "
          "<img src=https://evil.example/p.png> <a href=\"javascript:alert(1)\">js</a> "
          "<b>b</b> <script>alert(1)</script> $x^2$ :red[red] www.evil.example")
FORMULAS = ("=HYPERLINK(\"https://evil.example\",\"click\")", "+cmd|' /C calc'!A0",
            "@SUM(1+1)", "-2+3*cmd|'/C calc'!A0")
# Two subjects renamed everywhere: a treated patient who died, a control who died.
SUBJECT_IDS = {"T-A2": "=cmd|' /C calc'!A0 **T-A2**",
               "C-2": "<a href=\"https://evil.example\">C-2</a> $C_2$"}


def _rows(name: str) -> list[dict]:
    rows = ROWS[name]()
    for row in rows:
        row["USUBJID"] = SUBJECT_IDS.get(row["USUBJID"], row["USUBJID"])
        if name == "adsl":
            row["STUDYID"] = "SMART101-01 " + MARKUP
            row["SUBJID"] = row["USUBJID"]
            if row.get("DTHCAUS"):
                row["DTHCAUS"] = FORMULAS[3] + " " + MARKUP
            if row["DONTYPE"] == "MUD":
                row["DONTYPE"] = "MUD [x](https://evil.example)"
        if name == "adae":
            row["AEDECOD"] = FORMULAS[0]
            row["AEBODSYS"] = "**SOC** " + MARKUP
            row["AETERM"] = FORMULAS[2]
        if name == "adinf":
            row["PATHOGEN"] = FORMULAS[1] + " " + MARKUP
            row["INFSITE"] = FORMULAS[2] + " <b>site</b>"
    return rows


def write_hostile_export(folder: Path) -> Path:
    return write_export(folder, {name: to_table(name, _rows(name)) for name in ROWS})
