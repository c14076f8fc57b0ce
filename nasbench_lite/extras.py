"""The optional dependencies (pyproject.toml extras) and the error naming the one to install.

The base install reads tables and runs tabular comparisons. Training (``generate``,
``train_one``, the live backend), the surrogate, Ray, the adapters to optuna and ConfigSpace
and the one to Syne Tune are extras; code that needs one calls `require` first, so a missing
library is reported with the install command rather than as a bare ModuleNotFoundError deep
inside a run.
"""

from __future__ import annotations

import importlib.util

# extra -> the top-level modules it provides (import names, not distribution names).
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("jax", "flax", "optax", "mnist1d", "sklearn"),
    "surrogate": ("xgboost", "sklearn"),
    "ray": ("ray",),
    "adapters": ("optuna", "ConfigSpace"),
    # syne_tune.blackbox_repository imports huggingface_hub when it is imported.
    "synetune": ("syne_tune", "huggingface_hub"),
    "multiobjective": ("moocore",),
}


class MissingExtra(ImportError):
    """An optional dependency a feature needs is not installed; the message says which extra
    installs it."""


def missing_modules(extra: str) -> list[str]:
    """The modules of `extra` that cannot be imported here (found without importing them)."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; extras: {', '.join(EXTRAS)}")
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require(extra: str, feature: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise MissingExtra when a module of `extra` is missing (only those of `modules`, when
    a feature needs just some of the extra); `feature` says what needs them, e.g. "training".
    """
    missing = missing_modules(extra)
    if modules is not None:
        missing = [name for name in missing if name in modules]
    if missing:
        raise MissingExtra(
            f"{feature} needs the optional dependencies of nasbench-lite[{extra}] "
            f"({', '.join(missing)} not installed): pip install 'nasbench-lite[{extra}]'"
        )
