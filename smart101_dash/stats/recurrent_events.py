"""Mean cumulative count of recurrent events (infection episodes) with death as terminal event."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from smart101_dash.stats._steps import at_risk
from smart101_dash.stats._validate import (
    ArrayLike,
    StatsInputError,
    survival_input,
)


@dataclass(frozen=True)
class MeanCumulativeCount:
    """The mean cumulative count per group.

    `table`: one row per group and distinct episode time with columns group, time, n_risk
    (subjects still followed), n_episodes, mcc (expected episodes per subject by that day).
    `max_time`: each group's last follow-up time (landmarks after it are left out).
    """

    table: pd.DataFrame
    groups: tuple[str, ...]
    max_time: dict[str, float]


def mean_cumulative_count(
    time: ArrayLike,
    status: ArrayLike,
    episode_time: ArrayLike,
    group: ArrayLike | None = None,
    episode_group: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    episode_weights: ArrayLike | None = None,
) -> MeanCumulativeCount:
    """Mean cumulative count of recurrent events, death a terminal event (Ghosh & Lin 2000).

    mu(t) = sum over episode times u <= t of S(u-) dN(u) / Y(u), where Y(u) counts subjects
    still followed at u (time >= u), dN(u) the episodes at u (all subjects), and S the
    Kaplan-Meier estimate of survival (death the event), taken just before u so that an
    episode on the day of death counts in full (the Aalen-Johansen convention; Dong et al.
    2015 give the same estimator as the "MCC"). Without deaths it is the Nelson-Aalen-type
    mean function of Lawless & Nadeau (1995). No interval is given.

    `time`, `status` (0 alive at the end of follow-up, any other code died) and `group`: one
    per subject. `episode_time` (and `episode_group`): one per episode, each within its
    subject's follow-up. Subjects without episodes count in Y all the same. `weights`:
    subjects per row of (time, status, group); `episode_weights`: episodes per row of
    (episode_time, episode_group), so that counted rows give the subjects' estimate.
    """
    subjects = survival_input(time, status, group, allowed_status=(0, 1, 2), weights=weights,
                              what="mean_cumulative_count")
    ep_t = np.asarray(episode_time, dtype=np.float64).ravel()
    if group is None:
        ep_g = np.full(ep_t.size, subjects.groups[0])
    elif episode_group is None:
        raise StatsInputError("mean_cumulative_count: episode_group is needed with group")
    else:
        ep_g = np.asarray(episode_group).astype(str).ravel()
    if ep_g.size != ep_t.size:
        raise StatsInputError("mean_cumulative_count: episode_time and episode_group differ "
                              "in length")
    ep_w = (np.ones(ep_t.size, dtype=np.int64) if episode_weights is None else
            survival_input(ep_t, np.zeros(ep_t.size, int), weights=episode_weights,
                           what="mean_cumulative_count episodes").weight if ep_t.size else
            np.zeros(0, dtype=np.int64))
    if ep_t.size and (not np.all(np.isfinite(ep_t)) or np.any(ep_t < 0)):
        raise StatsInputError("mean_cumulative_count: episode times must be finite and >= 0")
    unknown = sorted(set(ep_g.tolist()) - set(subjects.groups))
    if unknown:
        raise StatsInputError(f"mean_cumulative_count: episodes in groups without subjects: "
                              f"{unknown}")
    blocks, max_time = [], {}
    for i, g in enumerate(subjects.groups):
        mask = subjects.codes == i
        t, w = subjects.time[mask], subjects.weight[mask]
        died = subjects.status[mask] > 0
        order = np.argsort(t, kind="stable")
        t_sorted, w_sorted = t[order], w[order]
        max_time[g] = float(t_sorted[-1])
        episodes = ep_t[ep_g == g]
        if episodes.size and episodes.max() > t_sorted[-1]:
            raise StatsInputError(f"mean_cumulative_count: an episode of group {g} falls after "
                                  "every subject's follow-up")
        u, n_ep = _counted(episodes, ep_w[ep_g == g])
        y = at_risk(t_sorted, u, w_sorted)
        # Kaplan-Meier of death just before each episode time u.
        d_times, d_counts = _counted(t[died], w[died])
        factors = 1.0 - d_counts / at_risk(t_sorted, d_times, w_sorted)
        surv_steps = np.concatenate(([1.0], np.cumprod(factors)))
        s_before = surv_steps[np.searchsorted(d_times, u, side="left")]
        mcc = np.cumsum(s_before * n_ep / y)
        blocks.append(pd.DataFrame({"group": g, "time": u, "n_risk": y, "n_episodes": n_ep,
                                    "mcc": mcc}))
    return MeanCumulativeCount(table=pd.concat(blocks, ignore_index=True),
                               groups=subjects.groups, max_time=max_time)


def _counted(times: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct times and how many (rows of `weight` each) fall on each."""
    u, inverse = np.unique(times, return_inverse=True)
    return u, np.bincount(inverse, weights=weight, minlength=u.size).astype(np.int64)
