"""Optuna's samplers as search strategies, through optuna's ask-and-tell interface (Akiba et
al., "Optuna: A Next-generation Hyperparameter Optimization Framework", KDD 2019). Registered
as `tpe` (TPESampler: Bergstra et al., "Algorithms for Hyper-Parameter Optimization", NeurIPS
2011, as run on NAS-Bench-101/201) and reachable for any sampler as "optuna:<SamplerName>",
e.g. "optuna:RandomSampler" (`nasbench_lite.search.registry.get_strategy`).

A cell is a trial with one categorical parameter per edge (`space.edge_names` where the space
has them, else "edge_<i>"; the op names as choices). `ask` is `study.ask`, `tell` is
`study.tell` of the trial the cell was asked as; with several workers several trials are
running at once, as optuna allows. A diverged training is told as -inf (`fitness`). On a
restricted space (a partial table) a proposal the table cannot answer is repaired: it is told
as a failed trial (optuna's samplers ignore those) and the nearest available cell, a random
available one-edge edit of it (`space.mutate`), is enqueued and asked in its place.

Reproducibility: the run's generator draws one seed at `init`; every ask builds the sampler
afresh, seeded from that seed and the trial number, so each proposal is a function of the
trials so far and the seed alone. The state records every trial (cell and value), so ask and
tell stay pure functions of the state: the study is kept alive for speed, and a state that
is used a second time (a branch the runner never takes) rebuilds its study from the record.
Samplers that keep their own records in the study (CMA-ES) may propose differently after a
rebuild. CmaEsSampler does not model categorical parameters (it falls back to random
sampling for them); TPE and random sampling do.
"""

from __future__ import annotations

import functools
import math
from typing import Any, ClassVar, NamedTuple

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.extras import require
from nasbench_lite.search.protocol import Result, fitness
from nasbench_lite.strategies._samplers import quiet, sampler_class, sampler_factory

# Loading this module checks for optuna (without importing it): without the extra, the
# strategies fail to load with the install command, and `compare` skips them by name.
require("adapters", "the optuna adapter", modules=("optuna",))

FAILED = math.nan  # the value recorded for a trial told as failed (an unavailable proposal)


class _Study:
    """The live optuna study of one search (a cache shared by the states of that search) and
    the version of the state it holds the trials of."""

    def __init__(self, study: Any, version: int) -> None:
        self.study, self.version = study, version

    def __repr__(self) -> str:
        return "<optuna study>"


class OptunaState(NamedTuple):
    seed: int  # drawn from the run's generator at init; seeds every sampler
    trials: tuple[tuple[int, float | None], ...]  # by trial number: (raw, value); None while
    # running, FAILED for a proposal outside a restricted space
    pending: tuple[tuple[int, int], ...]  # (raw, trial number) asked and not told, ask order
    live: _Study | None  # the study of this search (None: build it from `trials`)
    version: int  # calls that led here; `live` holds this state's trials iff versions match

    def __repr__(self) -> str:  # the record only: the live study is a cache
        return f"OptunaState(seed={self.seed}, trials={self.trials}, pending={self.pending})"


class OptunaStrategy:
    """Any `optuna.samplers.BaseSampler` as a strategy.

    sampler: a sampler class of `optuna.samplers` by name ("TPESampler", "RandomSampler",
        ...), a BaseSampler subclass, or any callable taking `seed=` and returning a sampler;
        not an instance: its seed must come from the run. sampler_kwargs: passed to it.
    Raises InputError for an unknown sampler or arguments it does not take, MissingExtra
    without optuna (the `adapters` extra).
    """

    name: ClassVar[str] = "optuna"
    default_sampler: ClassVar[Any] = "TPESampler"

    def __init__(self, space: Any, sampler: Any = None, **sampler_kwargs: Any) -> None:
        import optuna

        self.space = space
        chosen = self.default_sampler if sampler is None else sampler
        self._make = sampler_factory(chosen, sampler_kwargs)
        if sampler is not None:
            self.name = f"optuna:{getattr(chosen, '__name__', chosen)}"
        dist = optuna.distributions.CategoricalDistribution(tuple(space.ops))
        # One categorical per position of the cell array: the space's edge names where it
        # has them (nb201: "1<-0", ...), else "edge_<i>".
        names = getattr(space, "edge_names", None) or [f"edge_{i}" for i in range(space.num_edges)]
        self._distributions = {name: dist for name in names}
        self._op_id = {op: i for i, op in enumerate(space.ops)}
        allowed = getattr(space, "allowed", None)  # a restricted space (SubSpace)
        self._allowed = None if allowed is None else np.asarray(allowed).tolist()

    def init(self, rng: np.random.Generator) -> OptunaState:
        return OptunaState(int(rng.integers(2**31)), (), (), None, 0)

    def ask(self, state: OptunaState, rng: np.random.Generator) -> tuple[OptunaState, int]:
        study = self._study(state)
        trials, number = list(state.trials), len(state.trials)
        with quiet():
            study.sampler = self._make(_trial_seed(state.seed, number))
            raw = self._raw(study.ask(self._distributions).params)
            if self._allowed is not None and not self._allowed[raw]:  # repair it
                study.tell(number, state=_failed())
                trials.append((raw, FAILED))
                raw, number = int(self.space.mutate(rng, raw)), number + 1
                study.enqueue_trial(self._params(raw))
                study.ask(self._distributions)  # the enqueued cell, not sampled
        trials.append((raw, None))
        pending = state.pending + ((raw, number),)
        return self._advance(state, study, tuple(trials), pending), raw

    def tell(self, state: OptunaState, raw: int, result: Result) -> OptunaState:
        valid_acc = result.valid_acc
        at = next((i for i, (r, _) in enumerate(state.pending) if r == raw), None)
        if at is None:  # several asks of one cell are told in ask order
            raise InputError(f"raw cell {raw} was told but not asked (or told already)")
        number, value = state.pending[at][1], fitness(valid_acc)
        study = self._study(state)
        with quiet():
            study.tell(number, value)
        trials = state.trials[:number] + ((raw, value),) + state.trials[number + 1 :]
        pending = state.pending[:at] + state.pending[at + 1 :]
        return self._advance(state, study, trials, pending)

    def _params(self, raw: int) -> dict[str, str]:
        ops = self.space.cell(raw).tolist()
        return {name: self.space.ops[op] for name, op in zip(self._distributions, ops, strict=True)}

    def _raw(self, params: dict[str, str]) -> int:
        ops = [self._op_id[params[name]] for name in self._distributions]
        return int(self.space.index(np.array(ops)))

    def _study(self, state: OptunaState) -> Any:
        """The study holding exactly `state.trials`: the live one, or one rebuilt."""
        if state.live is not None and state.live.version == state.version:
            return state.live.study
        return self._rebuild(state)

    def _rebuild(self, state: OptunaState) -> Any:
        import optuna

        running = optuna.trial.TrialState.RUNNING
        with quiet():
            study = optuna.create_study(direction="maximize", sampler=self._make(state.seed))
            for raw, value in state.trials:
                params = self._params(raw)
                if value is None or math.isnan(value):
                    trial_state, value = (running if value is None else _failed()), None
                else:
                    trial_state = optuna.trial.TrialState.COMPLETE
                study.add_trial(
                    optuna.trial.create_trial(
                        params=params,
                        distributions=self._distributions,
                        value=value,
                        state=trial_state,
                    )
                )
        return study

    @staticmethod
    def _advance(state: OptunaState, study: Any, trials: tuple, pending: tuple) -> OptunaState:
        # The study now holds `trials`: its holder moves on to the new state's version, so
        # `state`, if used again, no longer matches it and rebuilds.
        live = state.live if state.live is not None and state.live.study is study else None
        if live is None:
            live = _Study(study, state.version)
        live.version = state.version + 1
        return OptunaState(state.seed, trials, pending, live, live.version)


class TPE(OptunaStrategy):
    """Optuna's TPESampler with its defaults (10 random trials first)."""

    name = "tpe"
    default_sampler = "TPESampler"


@functools.cache
def sampler_strategy(sampler_name: str) -> type:
    """The strategy class for "optuna:<sampler_name>" (the entry point of the strategy family
    `optuna`): an `OptunaStrategy` whose default sampler is `optuna.samplers.<sampler_name>`.
    """
    sampler_class(sampler_name)  # raises for an unknown sampler
    attributes = {"name": f"optuna:{sampler_name}", "default_sampler": sampler_name}
    return type(f"Optuna{sampler_name}", (OptunaStrategy,), attributes)


def _trial_seed(seed: int, number: int) -> int:
    return int(np.random.SeedSequence([seed, number]).generate_state(1)[0] >> 1)


def _failed() -> Any:
    import optuna

    return optuna.trial.TrialState.FAIL
