"""Optuna's samplers for our strategies: found by name, built with a run's seed, and optuna's
own logging kept quiet while they run (`strategies/optuna_adapter.py` uses these).

Optuna is imported inside each function, so importing this module imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

from nasbench_lite.errors import InputError


def sampler_class(name: str) -> type:
    """The sampler class `optuna.samplers.<name>`; InputError listing them if there is none."""
    import optuna

    cls = getattr(optuna.samplers, name, None)
    if not (isinstance(cls, type) and issubclass(cls, optuna.samplers.BaseSampler)):
        known = sorted(
            n
            for n in dir(optuna.samplers)
            if isinstance(getattr(optuna.samplers, n), type)
            and issubclass(getattr(optuna.samplers, n), optuna.samplers.BaseSampler)
            and n != "BaseSampler"
        )
        raise InputError(f"unknown optuna sampler {name!r}; optuna.samplers has {', '.join(known)}")
    return cls


def sampler_factory(sampler: Any, kwargs: dict[str, Any]):
    """A function seed -> sampler instance from `sampler` (a name of `optuna.samplers`, a
    sampler class or a callable taking `seed=`) and its `kwargs`, checked by building one.
    InputError for an instance (the run must seed it), a callable without `seed`, arguments
    the sampler rejects, or a result that is not a sampler."""
    import optuna

    if isinstance(sampler, optuna.samplers.BaseSampler):
        raise InputError(
            f"sampler {sampler!r} is an instance; pass its class (or name) and its arguments, "
            "so that the run's seed seeds it"
        )
    factory = sampler_class(sampler) if isinstance(sampler, str) else sampler
    if not callable(factory):
        raise InputError(f"sampler {sampler!r} is neither a sampler name nor a class")
    try:
        takes_seed = "seed" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        takes_seed = True  # a builtin or extension callable: let the call decide
    if not takes_seed:
        raise InputError(f"sampler {sampler!r} takes no seed; the run must be able to seed it")

    # A sampler whose seed would not reach its draws by default: Optuna's QMC sequence is
    # unscrambled (the same points for every seed) unless asked to scramble.
    if factory is getattr(optuna.samplers, "QMCSampler", None):
        kwargs = {"scramble": True, **kwargs}

    def make(seed: int) -> Any:
        return factory(seed=seed, **kwargs)

    try:
        with quiet():
            built = make(0)
    except TypeError as err:
        raise InputError(f"sampler {sampler!r} rejects arguments {kwargs}: {err}") from None
    if not isinstance(built, optuna.samplers.BaseSampler):
        raise InputError(f"sampler {sampler!r} built {built!r}, not an optuna sampler")
    return make


@contextlib.contextmanager
def quiet():
    """Optuna's own logging (a line per trial, warnings included) and its experimental-feature
    warnings, off for the duration of a call and restored after."""
    import warnings

    import optuna

    level = optuna.logging.get_verbosity()
    # ERROR: samplers such as CMA-ES warn on every trial that a categorical parameter is
    # sampled independently (by design on this space): thousands of lines a comparison.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(level)
