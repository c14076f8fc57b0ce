"""The search protocol (strategies ask and tell) and the runner that spends a run's budget."""

from nasbench_lite.search.budget import Budget
from nasbench_lite.search.protocol import Ask, Result, Strategy
from nasbench_lite.search.registry import available_strategies, get_strategy, make_strategy
from nasbench_lite.search.runner import run_search
from nasbench_lite.search.trajectory import RESULT_COLUMNS, Trajectory

__all__ = [
    "RESULT_COLUMNS",
    "Ask",
    "Budget",
    "Result",
    "Strategy",
    "Trajectory",
    "available_strategies",
    "get_strategy",
    "make_strategy",
    "run_search",
]
