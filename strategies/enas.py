"""ENAS (Pham, Guan, Zoph, Le & Dean, "Efficient Neural Architecture Search via Parameter
Sharing", ICML 2018) on the NB-201 supernet, with a per-edge categorical controller in place of
ENAS's LSTM (the policy of our `reinforce` strategy).

Each step trains the shared weights on a training batch through one cell drawn from the
controller (the trainer's masked network, running only that cell's ops), then draws another
cell, measures its shared-weights accuracy on a validation batch (the reward) and moves the
controller's logits (6, 5) by REINFORCE: up ``(reward - baseline) * grad log p(cell)`` plus
``entropy_weight * grad entropy`` (ENAS's entropy bonus), with Adam. The baseline is an
exponential moving average of rewards, bias-corrected, updated before it is subtracted (as in
NAS-Bench-201's REINFORCE). After each epoch the derived cell is the best of `candidates`
cells drawn from the controller (on a partial table: conditioned on the cells it answers),
ranked by shared-weights validation accuracy on one batch, as ENAS derives its final cell.

Defaults: the shared weights train as in `darts` (docs/search.md); the controller uses
`reinforce`'s learning rate 0.01 (NATS-Bench's) and momentum 0.9, ENAS's entropy weight 1e-4,
and 100 candidates (NAS-Bench-201's number for RSPS's final pick).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_lite.checks import check_number
from nasbench_lite.strategies._weight_sharing import (
    DEFAULT_SEARCH_EPOCHS,
    WeightSharing,
    check_int,
    check_positive,
)

from ._policy import EdgePolicy


class ENAS(WeightSharing):
    """A REINFORCE controller sampling cells from shared weights."""

    name = "enas"
    network = "masked"

    def __init__(
        self,
        space: Any,
        train_config: Any = None,
        dataset: Any = None,
        search_epochs: int = DEFAULT_SEARCH_EPOCHS,
        learning_rate: float | None = None,
        controller_learning_rate: float = 0.01,
        momentum: float = 0.9,
        entropy_weight: float = 1e-4,
        candidates: int = 100,
        data_dir: Any = None,
    ) -> None:
        """controller_learning_rate: Adam's on the logits; momentum: the baseline's EMA
        factor; candidates: cells drawn per epoch to pick the derived one."""
        super().__init__(space, train_config, dataset, search_epochs, learning_rate, data_dir)
        self.arch_learning_rate = check_positive(
            "controller_learning_rate", controller_learning_rate
        )
        self.momentum = check_number("momentum", momentum, at_least=0, below=1)
        self.entropy_weight = check_number("entropy_weight", entropy_weight, at_least=0)
        self.candidates = check_int("candidates", candidates)
        self.policy = EdgePolicy(space)

    def settings(self) -> tuple:
        return (*super().settings(), self.momentum, self.entropy_weight)

    def arch_optimizer(self):
        """Adam's direction (the step is -controller_learning_rate times it)."""
        import optax

        return optax.scale_by_adam()

    def choice(self, key, arch, progress):
        """A cell (6,) op ids drawn from the controller."""
        import jax

        return jax.random.categorical(key, arch, axis=-1)

    def arch_step(self, key, search, forward, x_valid, y_valid, lr, progress):
        """One REINFORCE step of the controller on a drawn cell's validation accuracy."""
        import jax
        import jax.numpy as jnp

        from nasbench_lite.strategies._supernet import accuracy, arch_descent

        cell = self.choice(key, search.arch, progress)
        reward = accuracy(forward(search, cell, x_valid), y_valid)
        # The baseline's numerator and denominator, both decayed: a bias-corrected average.
        extra = self.momentum * search.extra + (1 - self.momentum) * jnp.stack([reward, 1.0])
        advantage = reward - extra[0] / extra[1]

        def objective(logits):  # to minimise
            log_probs = jax.nn.log_softmax(logits, axis=-1)
            log_prob = log_probs[jnp.arange(logits.shape[0]), cell].sum()
            entropy = -(jnp.exp(log_probs) * log_probs).sum()
            return -(advantage * log_prob + self.entropy_weight * entropy)

        search = arch_descent(search, jax.grad(objective)(search.arch), self.arch_optimizer(), lr)
        return search._replace(extra=extra)

    def sample_candidates(self, arch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`candidates` cells (N, 6) drawn from the controller (conditioned on the allowed
        cells of a restricted space)."""
        raws = [self.policy.sample(arch, rng) for _ in range(self.candidates)]
        return self.space.cells(np.array(raws))
