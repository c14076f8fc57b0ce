"""REINFORCE whose initial policy is meta-learned on the source tasks with Reptile; Nichol,
Achiam & Schulman, "On First-Order Meta-Learning Algorithms" (2018), applied to the per-edge
policy of NAS-Bench-201's REINFORCE baseline (`reinforce`).

Meta-training (at `init`, before the first ask): the logits theta start near uniform, as
REINFORCE's do. Each of `meta_iterations` outer steps draws one source task at random (serial
Reptile, one task per step), runs `inner_steps` steps of plain REINFORCE on it from theta
(the same learning rate, momentum and baseline as the target's search, a fresh Adam), each
step drawing a cell from the policy, restricted to the classes the source holds, and
rewarding it with one seed's final validation accuracy there (a random seed: as noisy as an
evaluation on the target), and then moves theta toward the adapted logits phi:
theta += epsilon * (phi - theta), with the outer step size epsilon linearly annealed from
`outer_step` to 0 (the paper's schedule: 1.0 annealed to 0). The target search is then plain
REINFORCE from theta.

Defaults: outer step 1.0 (the paper's); 100 inner steps, the default comparison's ~100
evaluations, so the policy is meta-trained for the horizon it adapts over on the target; 100
outer steps. Meta-training reads the source tables only (10,000 lookups by default) and
trains nothing, so it is not charged to the target's simulated clock, with `--charge-overhead`
either (its wall seconds are `source_seconds`, which the runner takes out of the timed
`init`, as the other transfer strategies' source work, done when they are built, is never
timed); its measured cost is reported separately (`meta_training`, and in docs/transfer.md).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np

from nasbench_lite.checks import check_int, check_number
from nasbench_lite.search.protocol import Result
from nasbench_lite.spaces.subspace import SubSpace

from . import _transfer as tl
from ._policy import Baseline, EdgePolicy, adam_ascent, adam_init, frozen, reward
from .reinforce import Reinforce, ReinforceState


class ReptileReinforce:
    """REINFORCE from logits meta-trained across the source tasks with Reptile."""

    name = "reptile_reinforce"
    uses_sources: ClassVar[bool] = True
    counterpart: ClassVar[str] = "reinforce"

    def __init__(self, space: Any, learning_rate: float = 0.01, momentum: float = 0.9,
                 meta_iterations: int = 100, inner_steps: int = 100, outer_step: float = 1.0,
                 sources: Any = None) -> None:  # fmt: skip
        check_int("meta_iterations", meta_iterations, 0)
        check_int("inner_steps", inner_steps, 1)
        check_number("outer_step", outer_step, above=0)
        self.space, self.sources = space, tl.check_sources(self.name, sources)
        self.reinforce = Reinforce(space, learning_rate, momentum)
        self.meta_iterations, self.inner_steps = meta_iterations, inner_steps
        self.outer_step = float(outer_step)
        self.inner = tl.memo(self.sources, (self.name, tl.space_key(space)), self._inner_tasks)
        self.meta_training: dict[str, float] = {}  # lookups and process seconds of the last init

    def _inner_tasks(self) -> list[tuple[EdgePolicy, np.ndarray]]:
        """Per source task: the policy over its known cells and its final validation
        accuracy per (raw cell, seed), NaN where unknown."""
        base = self.space.base if isinstance(self.space, SubSpace) else self.space
        everything = np.arange(base.num_cells)
        out = []
        for task in self.sources:
            known = task.known
            view = base if known.all() else SubSpace(base, known)
            seeds = task.curves.shape[1]
            accs = np.stack([task.valid_acc(everything, seed=s) for s in range(seeds)], axis=1)
            out.append((EdgePolicy(view), frozen(accs)))
        return out

    def meta_train(self, rng: np.random.Generator) -> np.ndarray:
        """Reptile's outer loop: the meta-learned initial logits (E, K)."""
        started, wall, lookups = time.process_time(), time.perf_counter(), 0
        policy = self.reinforce.policy
        theta = policy.init_logits(rng)
        lr, momentum = self.reinforce.learning_rate, self.reinforce.momentum
        for i in range(self.meta_iterations):
            inner_policy, accs = self.inner[int(rng.integers(len(self.inner)))]
            phi, adam, baseline = theta, adam_init(theta), Baseline()
            for _ in range(self.inner_steps):
                raw = inner_policy.sample(phi, rng)
                value = reward(float(accs[raw, int(rng.integers(accs.shape[1]))]))
                baseline = baseline.update(value, momentum)
                cells = self.space.cell(raw)[None, :]
                advantage = np.array([value - baseline.value])
                grad = inner_policy.grad_log_probs(phi, cells, advantage)
                phi, adam = adam_ascent(phi, grad, adam, lr)
                lookups += 1
            epsilon = self.outer_step * (1.0 - i / self.meta_iterations)
            theta = frozen(theta + epsilon * (phi - theta))
        self.meta_training = {"lookups": lookups, "seconds": time.process_time() - started,
                              "wall_seconds": time.perf_counter() - wall}  # fmt: skip
        return theta

    @property
    def source_seconds(self) -> float:
        """Wall seconds of the last `init` spent on the source tasks (not charged)."""
        return float(self.meta_training.get("wall_seconds", 0.0))

    def init(self, rng: np.random.Generator) -> ReinforceState:
        logits = self.meta_train(rng)
        return ReinforceState(logits, adam_init(logits), Baseline())

    def ask(self, state: ReinforceState, rng: np.random.Generator) -> tuple[ReinforceState, int]:
        return self.reinforce.ask(state, rng)

    def tell(self, state: ReinforceState, raw: int, result: Result) -> ReinforceState:
        return self.reinforce.tell(state, raw, result)
