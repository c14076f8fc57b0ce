"""REINFORCE (Williams 1992) over an independent categorical distribution per edge, the
reinforcement-learning baseline of NAS-Bench-201 (Dong & Yang, ICLR 2020) and NATS-Bench
(Dong et al., TPAMI 2021).

The policy holds one logit per (edge, op), initialised near uniform (1e-3 * N(0, 1)); a cell
is drawn with one independent op per edge (on a partial table: conditioned on the cells it
answers, see `_policy`). Each told result updates the logits by one Adam step up
``(reward - baseline) * d log p(cell) / d logits``, the reward being the validation accuracy
(a fraction; a diverged training earns 0) and the baseline an exponential moving average of
rewards with momentum 0.9, updated with the reward before it is subtracted, as in
NAS-Bench-201's code.

Defaults: momentum 0.9 (both papers) and learning rate 0.01, NATS-Bench's value
(``reinforce.py --learning_rate 0.01`` in its scripts). NAS-Bench-201's scripts use 0.5
(``REINFORCE.sh <dataset> 0.5``); with Adam that moves every logit by about 0.5 per result,
and within the ~100 evaluations of a default comparison here the policy collapses onto a few
cells: on an early, partial `cpu` table at 100 evaluations, 0.5 ends with a larger mean regret than
0.01 (6.4 vs 5.6 pp over 40 seeds). Pass ``params={"learning_rate": 0.5}`` for NB-201's
setting. The reward scale matters little: Adam normalises the gradient (NAS-Bench-201's
rewards are percentages, ours fractions).

Asynchronous workers: `ask` draws from the current logits without changing the state; `tell`
updates with the reward of whichever cell is told, also one drawn from older logits while
other results came in (the gradient is that of the current policy's log-probability).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.checks import check_number
from nasbench_lite.search.protocol import Result

from ._policy import (
    Adam,
    Baseline,
    EdgePolicy,
    adam_ascent,
    adam_init,
    reward,
)


class ReinforceState(NamedTuple):
    logits: np.ndarray  # (num_edges, num_ops) float64, read-only
    adam: Adam
    baseline: Baseline


class Reinforce:
    """Policy-gradient search with a per-edge categorical policy and an EMA baseline."""

    name = "reinforce"

    def __init__(self, space: Any, learning_rate: float = 0.01, momentum: float = 0.9) -> None:
        check_number("learning_rate", learning_rate, above=0)
        check_number("momentum", momentum, at_least=0, below=1)
        self.space = space
        self.policy = EdgePolicy(space)
        self.learning_rate = float(learning_rate)
        self.momentum = float(momentum)

    def init(self, rng: np.random.Generator) -> ReinforceState:
        logits = self.policy.init_logits(rng)
        return ReinforceState(logits, adam_init(logits), Baseline())

    def ask(self, state: ReinforceState, rng: np.random.Generator) -> tuple[ReinforceState, int]:
        return state, self.policy.sample(state.logits, rng)

    def tell(self, state: ReinforceState, raw: int, result: Result) -> ReinforceState:
        valid_acc = result.valid_acc
        value = reward(valid_acc)
        baseline = state.baseline.update(value, self.momentum)
        cells = self.space.cell(raw)[None, :]
        grad = self.policy.grad_log_probs(state.logits, cells, np.array([value - baseline.value]))
        logits, adam = adam_ascent(state.logits, grad, state.adam, self.learning_rate)
        return ReinforceState(logits, adam, baseline)
