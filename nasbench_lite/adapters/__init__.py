"""Adapters to other tools: the blackbox objective, and Syne Tune's simulator on our tables
(`synetune`), with its transfer schedulers learning from our source tasks (`synetune_transfer`).

The Optuna samplers are strategies (`nasbench_lite.strategies.optuna_adapter`); the space as
a ConfigSpace is the space's (`nasbench_lite.spaces.nb201.configs`).
"""

from nasbench_lite.adapters.objective import Objective, objective

__all__ = ["Objective", "objective"]
