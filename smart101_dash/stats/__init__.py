"""The statistics engine: estimators and tests that take arrays and return tables.

Pure numpy/pandas/scipy (plus scikit-survival for the log-rank test): no Streamlit, no DuckDB.
Every estimator checks its input with one shared validator and raises `StatsInputError` (a
ValueError) with a plain message; undefined values are <NA> or None, never NaN shown as a
number. docs/statistics.md says which function does what and which library it relies on.
"""

from smart101_dash.stats._validate import StatsInputError
from smart101_dash.stats.competing_risks import (
    CumulativeIncidence,
    GrayTest,
    cumulative_incidence,
    gray_test,
)
from smart101_dash.stats.hypothesis_tests import LogRankTest, log_rank_test
from smart101_dash.stats.kaplan_meier import (
    KaplanMeier,
    kaplan_meier,
    median_follow_up,
    number_at_risk,
)
from smart101_dash.stats.landmarks import landmarks
from smart101_dash.stats.recurrent_events import MeanCumulativeCount, mean_cumulative_count
from smart101_dash.stats.small_sample import (
    Proportion,
    RankSumTest,
    Rate,
    clopper_pearson,
    poisson_rate_exact,
    wilcoxon_rank_sum,
)

__all__ = [
    "CumulativeIncidence",
    "GrayTest",
    "KaplanMeier",
    "LogRankTest",
    "MeanCumulativeCount",
    "Proportion",
    "RankSumTest",
    "Rate",
    "StatsInputError",
    "clopper_pearson",
    "cumulative_incidence",
    "gray_test",
    "kaplan_meier",
    "landmarks",
    "log_rank_test",
    "mean_cumulative_count",
    "median_follow_up",
    "number_at_risk",
    "poisson_rate_exact",
    "wilcoxon_rank_sum",
]
