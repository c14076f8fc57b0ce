"""Compare strategies on identical budgets: runs in worker processes, statistics, report, plots."""

from nasbench_lite.compare.config import CompareConfig
from nasbench_lite.compare.results import read_results
from nasbench_lite.compare.run import CompareResult, compare, rebuild

__all__ = ["CompareConfig", "CompareResult", "compare", "read_results", "rebuild"]
