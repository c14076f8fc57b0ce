"""Proximal policy optimisation (Schulman et al., "Proximal Policy Optimization Algorithms",
2017) of the per-edge categorical policy that `reinforce` uses.

NAS-Bench-101 (Ying et al., ICML 2019) reports that its PPO controller failed, and uses
REINFORCE as its reinforcement-learning baseline instead; PPO is here so that the claim can be
checked on this benchmark, not as a recommendation.

Every told result enters a buffer as (cell, advantage, log-probability when asked), the
advantage being the reward (validation accuracy; a diverged training earns 0) minus an
exponential moving average of rewards (momentum 0.9, updated first, as in `reinforce`). Once
`batch_size` results are in, the logits take `epochs` Adam steps up PPO's clipped objective

    mean_i min(r_i A_i, clip(r_i, 1 - clip, 1 + clip) A_i),  r_i = p(cell_i) / p_old(cell_i)

over the buffer, which is then emptied. Defaults: clip 0.2 and 4 epochs (Schulman et al.'s
Atari values, 3 to 10 epochs in their other settings); buffer 10 cells, learning rate 0.1
and momentum 0.9 chosen for a budget of ~100 evaluations (the papers give no PPO setting for
a per-edge policy; NB-101's controller was an RNN).

Asynchronous workers: the log-probability of a cell is recorded when it is asked (under the
logits of that moment), so a result that comes back after an update is weighted by its true
ratio; `ask` draws from the current logits.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.checks import check_int, check_number
from nasbench_lite.search.protocol import Result

from ._policy import (
    Adam,
    Baseline,
    EdgePolicy,
    adam_ascent,
    adam_init,
    reward,
)


class PPOState(NamedTuple):
    logits: np.ndarray  # (num_edges, num_ops) float64, read-only
    adam: Adam
    baseline: Baseline
    in_flight: tuple[tuple[int, float], ...]  # (raw, log-probability when asked)
    buffer: tuple[tuple[int, float, float], ...]  # (raw, advantage, log-probability when asked)


class PPO:
    """Clipped-objective policy optimisation with a per-edge categorical policy."""

    name = "ppo"

    def __init__(
        self,
        space: Any,
        learning_rate: float = 0.1,
        clip: float = 0.2,
        epochs: int = 4,
        batch_size: int = 10,
        momentum: float = 0.9,
    ) -> None:
        for key, value, low in (("learning_rate", learning_rate, 0), ("clip", clip, 0)):
            check_number(key, value, above=low)
        for key, value in (("epochs", epochs), ("batch_size", batch_size)):
            check_int(key, value)
        check_number("momentum", momentum, at_least=0, below=1)
        self.space = space
        self.policy = EdgePolicy(space)
        self.learning_rate, self.clip, self.momentum = float(learning_rate), float(clip), momentum
        self.epochs, self.batch_size = epochs, batch_size

    def init(self, rng: np.random.Generator) -> PPOState:
        logits = self.policy.init_logits(rng)
        return PPOState(logits, adam_init(logits), Baseline(), (), ())

    def ask(self, state: PPOState, rng: np.random.Generator) -> tuple[PPOState, int]:
        raw = self.policy.sample(state.logits, rng)
        logp = self._log_prob(state.logits, raw)
        return state._replace(in_flight=state.in_flight + ((raw, logp),)), raw

    def tell(self, state: PPOState, raw: int, result: Result) -> PPOState:
        # The oldest in-flight entry of this cell; a cell told without being asked (a loop
        # driven by hand) is weighted as if drawn from the current logits.
        valid_acc = result.valid_acc
        at = next((i for i, (r, _) in enumerate(state.in_flight) if r == raw), None)
        if at is None:
            old_logp, in_flight = self._log_prob(state.logits, raw), state.in_flight
        else:
            old_logp = state.in_flight[at][1]
            in_flight = state.in_flight[:at] + state.in_flight[at + 1 :]
        value = reward(valid_acc)
        baseline = state.baseline.update(value, self.momentum)
        buffer = state.buffer + ((raw, value - baseline.value, old_logp),)
        state = state._replace(baseline=baseline, in_flight=in_flight, buffer=buffer)
        if len(buffer) < self.batch_size:
            return state
        logits, adam = self._update(state.logits, state.adam, buffer)
        return state._replace(logits=logits, adam=adam, buffer=())

    def _log_prob(self, logits: np.ndarray, raw: int) -> float:
        return float(self.policy.log_probs(logits, self.space.cell(raw)[None, :])[0])

    def _update(self, logits: np.ndarray, adam: Adam, buffer: tuple) -> tuple[np.ndarray, Adam]:
        """`epochs` Adam steps up the clipped objective over the buffer's cells."""
        raws, advantages, old_logps = (np.array(column) for column in zip(*buffer, strict=True))
        cells = self.space.cells(raws)  # (b, num_edges)
        for _ in range(self.epochs):
            ratio = np.exp(self.policy.log_probs(logits, cells) - old_logps)
            # The unclipped term is the minimum (and carries a gradient) unless the ratio has
            # already moved past 1 +- clip in the advantage's direction.
            active = np.where(advantages > 0, ratio < 1 + self.clip, ratio > 1 - self.clip)
            weights = advantages * ratio * active / len(buffer)
            grad = self.policy.grad_log_probs(logits, cells, weights)
            logits, adam = adam_ascent(logits, grad, adam, self.learning_rate)
        return logits, adam
