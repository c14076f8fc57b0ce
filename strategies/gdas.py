"""GDAS (Dong & Yang, "Searching for A Robust Neural Architecture in Four GPU Hours", CVPR
2019) on the NB-201 supernet, with NAS-Bench-201's settings (Dong & Yang, ICLR 2020).

Each step draws one op per edge by the Gumbel-max trick on the architecture parameters and
runs only that op (`supernet.MixedEdge`, hard form): the forward pass is a single cell, while
the straight-through weights ``one_hot - stop_gradient(softmax) + softmax`` of the Gumbel
softmax at temperature tau carry the validation loss's gradient to every op's parameter
(NAS-Bench-201's GDAS adds each unchosen op's weight, of value 0, to the edge's output for
this). Weights train on the training batch with one draw, the architecture on the validation
batch with another. tau falls linearly from 10 to 0.1 over the search's epochs (NB-201's
settings), so the draws sharpen from near-uniform to near-argmax. The derived cell takes
each edge's op of largest architecture parameter, `none` included (as `darts`).

Optimisers as `darts` (NAS-Bench-201's recipe scaled to our presets; docs/search.md).
"""

from __future__ import annotations

from typing import Any

from nasbench_lite.errors import InputError
from nasbench_lite.strategies._weight_sharing import (
    DEFAULT_SEARCH_EPOCHS,
    WeightSharing,
    check_positive,
)


class GDAS(WeightSharing):
    """Gumbel-softmax sampled single paths, hard in the forward pass, tau annealed."""

    name = "gdas"
    network = "hard"

    def __init__(
        self,
        space: Any,
        train_config: Any = None,
        dataset: Any = None,
        search_epochs: int = DEFAULT_SEARCH_EPOCHS,
        learning_rate: float | None = None,
        arch_learning_rate: float | None = None,
        tau_max: float = 10.0,
        tau_min: float = 0.1,
        data_dir: Any = None,
    ) -> None:
        """tau_max, tau_min: the Gumbel-softmax temperature at the first and last epoch."""
        super().__init__(space, train_config, dataset, search_epochs, learning_rate, data_dir)
        lr = self.nb201_arch_lr() if arch_learning_rate is None else arch_learning_rate
        self.arch_learning_rate = check_positive("arch_learning_rate", lr)
        self.tau_max = check_positive("tau_max", tau_max)
        self.tau_min = check_positive("tau_min", tau_min)
        if tau_min > tau_max:
            raise InputError(f"tau_min {tau_min!r} must not exceed tau_max {tau_max!r}")

    def settings(self) -> tuple:
        return (*super().settings(), self.tau_max, self.tau_min)

    def tau(self, progress):
        """The temperature at `progress` (0 at the first epoch, 1 at the last)."""
        return self.tau_max - (self.tau_max - self.tau_min) * progress

    def choice(self, key, arch, progress):
        """Straight-through one-hot weights (6, 5) of one Gumbel-softmax draw per edge."""
        import jax
        import jax.numpy as jnp

        gumbels = jax.random.gumbel(key, arch.shape)
        soft = jax.nn.softmax((jax.nn.log_softmax(arch, axis=-1) + gumbels) / self.tau(progress))
        hard = jax.nn.one_hot(jnp.argmax(soft, axis=-1), arch.shape[-1])
        return hard - jax.lax.stop_gradient(soft) + soft

    def arch_step(self, key, search, forward, x_valid, y_valid, lr, progress):
        """One Adam step of the architecture down the validation loss of one draw."""
        import jax

        from nasbench_lite.strategies._supernet import arch_descent, cross_entropy

        def loss(arch):
            weights = self.choice(key, arch, progress)
            return cross_entropy(forward(search, weights, x_valid), y_valid)

        return arch_descent(search, jax.grad(loss)(search.arch), self.arch_optimizer(), lr)
