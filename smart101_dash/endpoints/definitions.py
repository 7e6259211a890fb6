"""One-line definitions of the endpoints with the settings in force, for the panels to show."""

from __future__ import annotations

from smart101_dash.config import EndpointSettings
from smart101_dash.endpoints._frame import EndpointInputError

_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _censoring(settings: EndpointSettings) -> str:
    text = "censored at last known alive or the data cut-off"
    if settings.censor_at_follow_up:
        text += f", and at day {settings.follow_up_days}"
    return text


def definition(name: str, settings: EndpointSettings, **params: object) -> str:
    """The definition of endpoint `name` (a function name of this package), as a sentence.

    `params` are the keyword arguments given to the derivation (min_grade, window_days,
    severity, category), so the text names exactly what was computed. Day 0 is HSCTDT.
    """
    cens = _censoring(settings)
    window = params.get("window_days")
    if name == "overall_survival":
        return f"Overall survival: death from any cause; {cens}. Day 0 = HSCT."
    if name == "disease_free_survival":
        return f"Disease-free survival: relapse or death, whichever first; {cens}."
    if name == "relapse":
        return (f"Relapse, with death without prior relapse competing (a death on the day of "
                f"relapse counts as relapse); {cens}.")
    if name == "non_relapse_mortality":
        return (f"Non-relapse mortality: death without prior relapse, relapse competing (a "
                f"death on the day of relapse is not NRM); {cens}.")
    if name == "acute_gvhd":
        grade = int(params.get("min_grade", 2))  # type: ignore[call-overload]
        win = window if window is not None else 100
        return (f"Acute GvHD grade {_ROMAN[grade]}-IV (MAGIC) by day {win}: first assessment "
                f"with that grade, death without it competing; {cens}.")
    if name == "acute_gvhd_grade":
        win = window if window is not None else 100
        return (f"Maximum acute GvHD grade (MAGIC 0-IV) by day {win}: the worst overall grade "
                f"of the assessments on day 0-{win} within follow-up; 0 when none recorded; "
                f"every transplanted patient in the denominator.")
    if name == "chronic_gvhd":
        sev = params.get("severity", "any")
        which = "any severity" if sev == "any" else "moderate or severe"
        comp = "death or relapse" if settings.cgvhd_relapse_competes else "death"
        win = f" by day {window}" if window is not None else ""
        return (f"Chronic GvHD (NIH 2014), {which}{win}: first assessment with it, {comp} "
                f"competing; {cens}.")
    if name == "cd4_reconstitution":
        op = ">=" if settings.cd4_threshold_inclusive else ">"
        return (f"CD4+ immune reconstitution: CD4 {op} {settings.cd4_threshold_cells_per_ul:g}"
                f" cells/uL on two consecutive measurements by day {settings.cd4_window_days},"
                f" dated at the first; death competing; {cens}.")
    if name in ("first_infection", "infection_episodes"):
        cat = params.get("category")
        what = f"{str(cat).lower()} infection" if cat else "infection of any category"
        win = f" by day {window}" if window is not None else ""
        if name == "first_infection":
            return f"First {what}{win} (onset date), death competing; {cens}."
        return (f"Episodes of {what}{win} (onset dates), per patient-day at risk from day 0 "
                f"to the end of follow-up; death ends follow-up; {cens}.")
    if name in ("neutrophil_engraftment", "platelet_engraftment"):
        what = ("Neutrophil engraftment: ANCRDT, the first of three consecutive days with ANC "
                ">= 500/uL" if name == "neutrophil_engraftment" else
                "Platelet engraftment: PLTRDT, the first of three consecutive days with "
                "platelets >= 20,000/uL without a transfusion in the 7 days before")
        return (f"{what}; death or graft failure before it competing (a recovery on the day "
                f"of either counts; a recovery after graft failure does not); {cens}.")
    if name == "graft_failure":
        return (f"Graft failure, primary (never engrafted) or secondary (loss after "
                f"engraftment): GFDT, death without it competing; {cens}.")
    if name == "gvhd_relapse_free_survival":
        chronic = ("moderate or severe chronic GvHD (NIH 2014; the proxy used when "
                   "CGVHDIST is not recorded)" if params.get("chronic") == "moderate_severe"
                   else "chronic GvHD needing systemic immunosuppression (CGVHDIST = Y)")
        return (f"GvHD-free relapse-free survival (GRFS): the first of grade III-IV acute GvHD "
                f"(MAGIC, any day), {chronic}, relapse or death; {cens}.")
    raise EndpointInputError(f"no endpoint named {name!r}")
