"""The protocol's safety stopping rules: read from a TOML file, evaluated on a cut.

A rule names an endpoint by a day (non-relapse mortality by day 100, grade III-IV acute GvHD by
day 100, a SMART101-related grade 4-5 adverse event by day 100, ...), the population it watches
(the infused SMART101 patients, or one arm) and its boundary, of one of two kinds:

- Bayesian (Beta-binomial): a Beta(a, b) prior on the event rate, a threshold rate p0; the
  rule is crossed when P(rate > p0 | data) = 1 - I_{p0}(a + x, b + n - x) exceeds `level`
  (x events among n evaluable patients; I the regularized incomplete Beta function).
- A boundary table: crossed when at least k events occur among the first n evaluable
  patients, for any (n, k) of the table.

A patient is evaluable for a rule once the outcome by the day is known: the event happened
by the day, or a competing event (death, for an endpoint other than death) happened by it,
or the patient was followed to the day. Evaluable patients accrue in the order of the date on
which their outcome became known (day 0 plus the earlier of the event day and the rule's
day). "Approaching": one more event in one more evaluable patient would cross the rule.

The file's path is $SMART101_MONITORING (default: config/monitoring.toml). The committed
file is an example, not the trial's protocol, and says so (`example = true` is shown on every
page that shows the rules).
"""

from __future__ import annotations

import functools
import os
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import beta

from smart101_dash.config import PACKAGE_ROOT

MONITORING_ENV = "SMART101_MONITORING"
DEFAULT_MONITORING_FILE = PACKAGE_ROOT / "config" / "monitoring.toml"
# The endpoints a rule may name: the analysis PARAMCDs (status 1 the event, 2 competing) and
# the SMART101-related grade 4-5 adverse event.
ENDPOINTS = {
    "NRM": "non-relapse mortality", "OS": "death from any cause",
    "AGVHD24": "grade II-IV acute GvHD", "AGVHD34": "grade III-IV acute GvHD",
    "CGVHD": "chronic GvHD", "CGVHDMS": "moderate-severe chronic GvHD",
    "RELATED_AE45": "a SMART101-related grade 4-5 adverse event",
    "GF": "graft failure",
}
POPULATIONS = {"SMART101": "infused SMART101 patients", "GROUP A": "infused Group A patients",
               "GROUP B": "infused Group B patients"}


class MonitoringFileError(ValueError):
    """The monitoring file cannot be used; the message names the file, rule and field."""


class Status(StrEnum):
    WITHIN = "within"
    APPROACHING = "approaching"
    CROSSED = "crossed"
    NOT_EVALUABLE = "not evaluable"


@dataclass(frozen=True)
class Bayesian:
    a: float
    b: float
    threshold: float  # p0
    level: float  # stop when P(rate > p0 | data) > level

    def posterior(self, events: int, evaluable: int) -> float:
        """P(rate > p0 | events among evaluable) under the Beta(a, b) prior."""
        return float(beta.sf(self.threshold, self.a + events, self.b + evaluable - events))

    def crossed(self, events: int, evaluable: int) -> bool:
        return self.posterior(events, evaluable) > self.level

    def smallest_crossing(self, evaluable: int) -> int | None:
        """The fewest events among `evaluable` patients that cross the rule (None: none do)."""
        return _smallest_bayesian_crossing(self.a, self.b, self.threshold, self.level, evaluable)

    def describe(self) -> str:
        return (f"Beta({self.a:g}, {self.b:g}) prior; stop when P(rate > {self.threshold:g}) "
                f"> {self.level:g}")


@functools.cache  # a few hundred small keys a rule, the same on every page and click
def _smallest_bayesian_crossing(a: float, b: float, threshold: float, level: float,
                                evaluable: int) -> int | None:
    """Every count's posterior in one scipy call (a call per count cost 12 ms a page)."""
    events = np.arange(evaluable + 1)
    posteriors = beta.sf(threshold, a + events, b + evaluable - events)
    crossing = np.flatnonzero(posteriors > level)
    return int(crossing[0]) if crossing.size else None


@dataclass(frozen=True)
class BoundaryTable:
    n: tuple[int, ...]  # the first n evaluable patients ...
    k: tuple[int, ...]  # ... among whom k events cross the rule

    def smallest_crossing(self, evaluable: int) -> int | None:
        """The fewest events among the first `evaluable` patients that cross the rule."""
        ks = [k for n, k in zip(self.n, self.k, strict=True) if n >= evaluable]
        return min(ks) if ks else None

    def describe(self) -> str:
        pairs = ", ".join(f"{k} of {n}" for n, k in zip(self.n, self.k, strict=True))
        return f"stop at {pairs} evaluable patients"


@dataclass(frozen=True)
class Rule:
    key: str
    title: str
    endpoint: str
    day: int
    population: str
    boundary: Bayesian | BoundaryTable


@dataclass(frozen=True)
class Monitoring:
    path: Path
    example: bool  # the file says it is an example, not the protocol
    note: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class RuleResult:
    rule: Rule
    events: int
    evaluable: int
    posterior: float | None  # Bayesian rules
    boundary_now: int | None  # the fewest events that cross at this many evaluable patients
    status: Status
    accrual: pd.DataFrame  # evaluable (1..n), events (cumulative), boundary (crossing count)
    reason: str = ""  # why a rule is not evaluable

    @property
    def summary(self) -> str:
        if self.status is Status.NOT_EVALUABLE:
            return self.reason
        text = f"{self.events} of {self.evaluable} evaluable"
        if self.posterior is not None:
            text += f"; P(rate > {self.rule.boundary.threshold:g}) = {self.posterior:.3f}"  # type: ignore[union-attr]
        elif self.boundary_now is not None:
            text += f"; boundary {self.boundary_now} events"
        return text


def monitoring_file() -> Path:
    value = os.environ.get(MONITORING_ENV)
    return Path(value).expanduser() if value else DEFAULT_MONITORING_FILE


def load_monitoring(path: Path | None = None) -> Monitoring:
    """Read and check the rules; every mistake is a MonitoringFileError naming the rule."""
    path = path or monitoring_file()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MonitoringFileError(f"cannot read the monitoring file {path}: "
                                  f"{exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise MonitoringFileError(f"the monitoring file {path} is not valid TOML: {exc}") from None
    rules = document.get("rules", [])
    if not isinstance(rules, list) or not rules:
        raise MonitoringFileError(f"{path}: needs at least one [[rules]] entry")
    parsed = tuple(_rule(entry, i, path) for i, entry in enumerate(rules, start=1))
    keys = [r.key for r in parsed]
    if len(set(keys)) != len(keys):
        raise MonitoringFileError(f"{path}: rule keys must be unique (got {keys})")
    return Monitoring(path, bool(document.get("example", False)), str(document.get("note", "")),
                      parsed)


def _rule(entry: object, number: int, path: Path) -> Rule:
    where = f"{path}: rule {number}"
    if not isinstance(entry, dict):
        raise MonitoringFileError(f"{where} must be a table")
    where = f"{path}: rule {entry.get('key', number)!r}"

    def field(name: str, kind: type, default: object = None) -> object:
        value = entry.get(name, default)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise MonitoringFileError(f"{where}: {name} must be a {kind.__name__}")
        return value

    key, title = str(field("key", str)), str(field("title", str))
    endpoint, population = str(field("endpoint", str)), str(field("population", str, "SMART101"))
    day = int(field("day", int))  # type: ignore[arg-type]
    if endpoint not in ENDPOINTS:
        raise MonitoringFileError(f"{where}: endpoint must be one of {sorted(ENDPOINTS)}")
    if population not in POPULATIONS:
        raise MonitoringFileError(f"{where}: population must be one of {sorted(POPULATIONS)}")
    if day <= 0:
        raise MonitoringFileError(f"{where}: day must be a positive number of days")
    kinds = [k for k in ("bayesian", "boundary") if k in entry]
    if len(kinds) != 1:
        raise MonitoringFileError(f"{where}: give exactly one of [rules.bayesian] or "
                                  "[rules.boundary]")
    spec = entry[kinds[0]]
    if not isinstance(spec, dict):
        raise MonitoringFileError(f"{where}: {kinds[0]} must be a table")
    boundary = _bayesian(spec, where) if kinds[0] == "bayesian" else _table(spec, where)
    return Rule(key, title, endpoint, day, population, boundary)


def _bayesian(spec: dict, where: str) -> Bayesian:
    prior = spec.get("prior")
    if (not isinstance(prior, list) or len(prior) != 2
            or not all(isinstance(v, int | float) and v > 0 for v in prior)):
        raise MonitoringFileError(f"{where}: bayesian.prior must be [a, b], both > 0")
    values = {}
    for name in ("threshold", "level"):
        value = spec.get(name)
        if not isinstance(value, int | float) or not 0 < value < 1:
            raise MonitoringFileError(f"{where}: bayesian.{name} must be between 0 and 1")
        values[name] = float(value)
    return Bayesian(float(prior[0]), float(prior[1]), values["threshold"], values["level"])


def _table(spec: dict, where: str) -> BoundaryTable:
    n, k = spec.get("n"), spec.get("k")
    if (not isinstance(n, list) or not isinstance(k, list) or len(n) != len(k) or not n
            or not all(isinstance(v, int) and v > 0 for v in [*n, *k])):
        raise MonitoringFileError(f"{where}: boundary.n and boundary.k must be lists of "
                                  "positive whole numbers of the same length")
    if any(kk > nn for nn, kk in zip(n, k, strict=True)) or n != sorted(n):
        raise MonitoringFileError(f"{where}: boundary.n must rise and each k be at most its n")
    return BoundaryTable(tuple(n), tuple(k))


def evaluate(rule: Rule, outcomes: pd.DataFrame) -> RuleResult:
    """The rule on the population's outcomes: one row per patient of the rule's population,
    with `evaluable_on` (the date the outcome by the rule's day became known; missing: not
    evaluable yet) and `event` (the event by the day).

    Patients accrue in the order of `evaluable_on`; patients evaluable on the same day count
    events first (for a "first n" table, the order that errs on the side of safety).
    """
    known = outcomes[outcomes["evaluable_on"].notna()].assign(
        _no_event=lambda f: ~f["event"].astype(bool)).sort_values(
        ["evaluable_on", "_no_event"], kind="stable")
    events = known["event"].to_numpy(dtype=bool)
    cumulative = np.cumsum(events)
    n = len(known)
    x = int(cumulative[-1]) if n else 0
    boundary = rule.boundary
    accrual = pd.DataFrame({
        "evaluable": np.arange(1, n + 1), "events": cumulative.astype(int),
        "boundary": [boundary.smallest_crossing(i) for i in range(1, n + 1)]})
    if isinstance(boundary, Bayesian):
        posterior = boundary.posterior(x, n)
        crossed = boundary.crossed(x, n)
        approaching = boundary.crossed(x + 1, n + 1)
        now = boundary.smallest_crossing(n)
    else:
        posterior = None
        # "At least k events among the first n": the count among the first n patients to be
        # evaluable (all of them while fewer than n are).
        crossed = any(int(cumulative[min(nn, n) - 1]) >= kk
                      for nn, kk in zip(boundary.n, boundary.k, strict=True) if n)
        extended = np.append(cumulative, x + 1)
        approaching = any(int(extended[min(nn, n + 1) - 1]) >= kk
                          for nn, kk in zip(boundary.n, boundary.k, strict=True))
        now = boundary.smallest_crossing(n)
    status = (Status.CROSSED if crossed else Status.APPROACHING if approaching
              else Status.WITHIN)
    return RuleResult(rule, x, n, posterior, now, status, accrual)


def not_evaluable(rule: Rule, reason: str) -> RuleResult:
    """A rule the cut cannot evaluate (its dataset or column is missing), and why."""
    empty = pd.DataFrame({"evaluable": [], "events": [], "boundary": []})
    return RuleResult(rule, 0, 0, None, None, Status.NOT_EVALUABLE, empty, reason)
