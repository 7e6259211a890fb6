"""The Overview in headless Chromium: charts render, a filter updates them, downloads match."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from conftest import ARTIFACTS, wait_idle

from smart101_dash.cuts import newest_cut


def banner_counts(page: object) -> tuple[int, int]:
    """Enrolled per cohort, from the banner's populations line."""
    text = page.inner_text("[data-testid=stMain]")
    line = next((x for x in text.splitlines() if " enrolled, " in x), "")
    treated = re.match(r"([^:·]+): (\d+) enrolled", line)
    control = re.search(r"· (CONTROL|Controls[^:]*): (\d+) enrolled", line)
    assert treated and control, text[:500]
    return int(treated.group(2)), int(control.group(2))


def adsl(export: Path) -> pd.DataFrame:
    return pq.read_table(newest_cut(export) / "adsl.parquet").to_pandas()


def download(page: object, index: int) -> pd.DataFrame:
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").nth(index).click()
    raw = Path(info.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and not raw[3:].startswith(b"#")  # header first
    return pd.read_csv(info.value.path())  # plain pandas, as an analyst would


def test_overview_renders_filters_and_downloads(page: object, export: Path) -> None:
    page.locator("[data-testid=stSidebarNavLink]", has_text="Overview").first.click()
    wait_idle(page)  # the first page is the safety summary
    subjects = adsl(export)
    n_treated = int((subjects["COHORT"] == "SMART101").sum())
    n_control = int((subjects["COHORT"] == "CONTROL").sum())
    assert banner_counts(page) == (n_treated, n_control)
    chart = page.locator("[data-testid=stPlotlyChart] .main-svg").first
    chart.wait_for(state="visible", timeout=30_000)
    assert chart.bounding_box()["height"] > 300
    legend = page.locator("[data-testid=stPlotlyChart] .legendtext").all_text_contents()
    assert "Group A (adults)" in legend and "Group B (pediatric)" in legend
    assert page.locator("[data-testid=stDataFrame], .smart101-print-table").count() == 3
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

    page.get_by_text("Group A (adults)", exact=True).first.click()  # the Arm radio
    wait_idle(page)
    adults = subjects[((subjects["COHORT"] == "SMART101") & (subjects["ARM"] == "GROUP A"))
                      | ((subjects["COHORT"] == "CONTROL") & (subjects["AGEGR1"] == "ADULT"))]
    expected = ((adults["COHORT"] == "SMART101").sum(), (adults["COHORT"] == "CONTROL").sum())
    assert banner_counts(page) == expected
    legend = page.locator("[data-testid=stPlotlyChart] .legendtext").all_text_contents()
    assert "Group A (adults)" in legend and "Group B (pediatric)" not in legend
    page.screenshot(path=str(ARTIFACTS / "overview-group-a.png"), full_page=True)

    # The enrollment CSV holds exactly Group A's patients, in enrollment order, without IDs.
    rows = download(page, 0)
    group_a = subjects[(subjects["COHORT"] == "SMART101") & (subjects["ARM"] == "GROUP A")]
    group_a = group_a.sort_values(["ENRLDT", "USUBJID"])
    assert "usubjid" not in rows.columns and set(rows["arm"]) == {"GROUP A"}
    assert list(pd.to_datetime(rows["enrollment_date"]).dt.date) == list(group_a["ENRLDT"])
    assert list(rows["cumulative_in_arm"]) == list(range(1, len(group_a) + 1))
    # The baseline CSV: the N of each cohort under the filter.
    baseline = download(page, 2).set_index(["characteristic", "category"])
    patients = baseline.loc[("Patients", "n"), ["SMART101 n", "CONTROL n"]]
    assert patients.astype(int).tolist() == list(expected)


def test_new_export_shows_on_next_interaction(page: object, export: Path) -> None:
    before = banner_counts(page)
    table = pq.read_table(newest_cut(export) / "adsl.parquet")
    frame = table.to_pandas()
    extra = frame[frame["COHORT"] == "CONTROL"].head(3).copy()
    extra["USUBJID"] = extra["USUBJID"] + "-NEW"
    new = pd.concat([frame, extra], ignore_index=True)
    # Written beside the old file, then renamed over it: how a new cut arrives.
    pq.write_table(pa.Table.from_pandas(new, schema=table.schema, preserve_index=False),
                   newest_cut(export) / ".adsl.tmp")
    os.replace(newest_cut(export) / ".adsl.tmp", newest_cut(export) / "adsl.parquet")
    page.get_by_text("Data quality").first.click()  # any interaction
    wait_idle(page)
    assert banner_counts(page) == (before[0], before[1] + 3)
    assert "A new data cut was loaded" in page.inner_text("[data-testid=stMain]")
    page.screenshot(path=str(ARTIFACTS / "data-quality-new-cut.png"), full_page=True)
