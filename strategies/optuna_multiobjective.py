"""Optuna's multi-objective samplers as strategies, through the same ask-and-tell adapter as
`optuna_adapter` (one categorical per edge, a seeded sampler per ask, the state a record of
every trial), told every objective with ``study.tell(trial, values=[...])``.

`nsga2`: NSGAIISampler (Deb et al., "A fast and elitist multiobjective genetic algorithm:
NSGA-II", IEEE TEVC 2002) with Optuna's defaults: population 50, crossover probability 0.9,
swapping probability 0.5, uniform crossover. `motpe`: TPESampler on several objectives, the
multi-objective TPE of Ozaki et al. ("Multiobjective tree-structured Parzen estimator for
computationally expensive optimization problems", GECCO 2020), with Optuna's defaults (10
random trials first). Objectives are the comparison's (`compare --objectives`), else
validation accuracy alone. A diverged training is told as a failed trial (Optuna's samplers
leave those out), as is a proposal outside a restricted space.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.search.objectives import DEFAULT_OBJECTIVES, Objective, losses
from nasbench_lite.search.protocol import Result
from nasbench_lite.strategies._samplers import quiet
from nasbench_lite.strategies.optuna_adapter import FAILED, OptunaState, OptunaStrategy, _failed


class OptunaMultiObjective(OptunaStrategy):
    """Any Optuna sampler, told every objective of the comparison (each minimised)."""

    name: ClassVar[str] = "optuna_multiobjective"
    multi_objective: ClassVar[bool] = True
    in_default_comparison: ClassVar[bool] = False  # on accuracy alone: a duplicate

    def __init__(
        self,
        space: Any,
        objectives: tuple[Objective, ...] = DEFAULT_OBJECTIVES,
        sampler: Any = None,
        **sampler_kwargs: Any,
    ) -> None:
        super().__init__(space, sampler, **sampler_kwargs)
        self.objectives = tuple(objectives)

    def ask(self, state: OptunaState, rng: np.random.Generator) -> tuple[OptunaState, int]:
        # A genetic sampler (NSGA-II) keeps its generations in the trials' and the study's
        # system attributes: each new trial's record keeps them, so a rebuilt study holds
        # them too and proposes exactly as the live one.
        before = len(state.trials)
        known = set(_study_attrs(self._study(state)))
        state, raw = super().ask(state, rng)
        study, trials = state.live.study, list(state.trials)
        added = {k: v for k, v in _study_attrs(study).items() if k not in known}
        for number in range(before, len(trials)):
            storage = study._storage
            trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
            attrs = {"trial": storage.get_trial_system_attrs(trial_id), "study": added}
            trials[number] = (*trials[number][:2], json.dumps(attrs, sort_keys=True))
        return state._replace(trials=tuple(trials)), raw

    def tell(self, state: OptunaState, raw: int, result: Result) -> OptunaState:
        at = next((i for i, (r, _) in enumerate(state.pending) if r == raw), None)
        if at is None:  # several asks of one cell are told in ask order
            raise InputError(f"raw cell {raw} was told but not asked (or told already)")
        number = state.pending[at][1]
        values = losses(result, self.objectives)
        study = self._study(state)
        with quiet():
            if all(math.isfinite(v) for v in values):
                study.tell(number, list(values))
            else:  # a diverged training: no values to tell
                study.tell(number, state=_failed())
                values = FAILED
        record = (raw, values, state.trials[number][2])
        trials = state.trials[:number] + (record,) + state.trials[number + 1 :]
        pending = state.pending[:at] + state.pending[at + 1 :]
        return self._advance(state, study, trials, pending)

    def _rebuild(self, state: OptunaState) -> Any:
        import optuna

        directions = ["minimize"] * len(self.objectives)
        with quiet():
            study = optuna.create_study(directions=directions, sampler=self._make(state.seed))
            for raw, values, attrs in state.trials:
                if values is None:
                    trial_state, values = optuna.trial.TrialState.RUNNING, None
                elif not isinstance(values, tuple):  # FAILED
                    trial_state, values = _failed(), None
                else:
                    trial_state, values = optuna.trial.TrialState.COMPLETE, list(values)
                record = json.loads(attrs)
                study.add_trial(
                    optuna.trial.create_trial(
                        params=self._params(raw),
                        distributions=self._distributions,
                        values=values,
                        state=trial_state,
                        system_attrs=record["trial"],
                    )
                )
                for key, value in record["study"].items():
                    study._storage.set_study_system_attr(study._study_id, key, value)
        return study


def _study_attrs(study: Any) -> dict[str, Any]:
    return study._storage.get_study_system_attrs(study._study_id)


class NSGA2(OptunaMultiObjective):
    """Optuna's NSGAIISampler with its defaults (population 50)."""

    name = "nsga2"
    default_sampler = "NSGAIISampler"


class MOTPE(OptunaMultiObjective):
    """Optuna's TPESampler on several objectives with its defaults (10 random trials first)."""

    name = "motpe"
    default_sampler = "TPESampler"
