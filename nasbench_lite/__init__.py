"""nasbench-lite: a tabular and surrogate benchmark for neural architecture search.

Light at import: the table and the space load with numpy and h5py only; JAX, XGBoost and Ray
are imported by the modules that need them, when they are first used.
"""

from __future__ import annotations

from typing import Any

from nasbench_lite.plugins import resolve

__version__ = "0.1.0"

# public name -> "module:attribute", resolved on first access (PEP 562).
_LAZY = {
    "get_space": "nasbench_lite.spaces:get_space",
    "Table": "nasbench_lite.table:Table",
    "default_table_path": "nasbench_lite.table:default_table_path",
    "TrainConfig": "nasbench_lite.train:TrainConfig",
    "train_cells": "nasbench_lite.train:train_cells",
    "train_one": "nasbench_lite.train:train_one",
    "get_preset": "nasbench_lite.train:get_preset",
    "use_cpu_cores": "nasbench_lite.devices:use_cpu_cores",
    "load_dataset": "nasbench_lite.datasets:load_dataset",
    "run_search": "nasbench_lite.search:run_search",
    "Budget": "nasbench_lite.search:Budget",
    "make_benchmark": "nasbench_lite.backends:make_benchmark",
    "available_strategies": "nasbench_lite.search:available_strategies",
    "get_strategy": "nasbench_lite.search:get_strategy",
    "InputError": "nasbench_lite.errors:InputError",
    "Surrogate": "nasbench_lite.surrogate:Surrogate",
    "objective": "nasbench_lite.adapters:objective",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'nasbench_lite' has no attribute {name!r}")
    value = resolve(_LAZY[name])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # The public API, lazy names included (PEP 562), for dir() and tab completion.
    return sorted(__all__)
