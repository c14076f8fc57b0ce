"""First-order DARTS (Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search",
ICLR 2019) on the NB-201 supernet, as NAS-Bench-201 (Dong & Yang, ICLR 2020) runs it
("DARTS-V1").

Every edge's output is the softmax-weighted sum of its five ops (`supernet.MixedEdge`). Each
step trains the shared weights on a training batch through that mixture, then moves the
architecture parameters (6, 5) down the validation batch's loss at the current weights: the
first-order approximation, no unrolled step. The derived cell takes each edge's op of largest
weight among all five, `none` included, as NAS-Bench-201's code derives its genotype (the
original DARTS leaves `none` out of the argmax, which its 8-op space with two inputs per node
allows; here a `none` edge can win, and a cell of dead edges is what it derives).
NAS-Bench-201 reports that this search collapses onto parameter-free cells (all skip
connections: 54% on CIFAR-10, where the best cells reach 94%); docs/weight_sharing.md says
what it finds here.

Defaults (NAS-Bench-201's search recipe, scaled to our presets; docs/search.md): weights SGD
with momentum 0.9, weight decay 5e-4 (the preset's), gradient norm clipped at 5, cosine from
a quarter of the preset's learning rate (0.025 for the cpu preset) down to 1/25 of it;
architecture Adam with betas (0.5, 0.999) and weight decay 1e-3 at NB-201's 3e-4 scaled to
our far fewer steps (same learning rate x steps). The ask/tell protocol, the clock and the
stopping rule are `nasbench_lite.strategies._weight_sharing`'s.
"""

from __future__ import annotations

from typing import Any

from nasbench_lite.strategies._weight_sharing import (
    DEFAULT_SEARCH_EPOCHS,
    WeightSharing,
    check_positive,
)


class DARTS(WeightSharing):
    """First-order DARTS: softmax-mixed edges, alternating weight and architecture steps."""

    name = "darts"
    network = "mixed"

    def __init__(
        self,
        space: Any,
        train_config: Any = None,
        dataset: Any = None,
        search_epochs: int = DEFAULT_SEARCH_EPOCHS,
        learning_rate: float | None = None,
        arch_learning_rate: float | None = None,
        data_dir: Any = None,
    ) -> None:
        """arch_learning_rate: None for NB-201's 3e-4 scaled to this search's steps."""
        super().__init__(space, train_config, dataset, search_epochs, learning_rate, data_dir)
        lr = self.nb201_arch_lr() if arch_learning_rate is None else arch_learning_rate
        self.arch_learning_rate = check_positive("arch_learning_rate", lr)

    def choice(self, key, arch, progress):
        """The weight step trains the mixture: softmax weights (6, 5)."""
        import jax

        return jax.nn.softmax(arch, axis=-1)

    def arch_step(self, key, search, forward, x_valid, y_valid, lr, progress):
        """One Adam step of the architecture down the validation loss at the current weights."""
        import jax

        from nasbench_lite.strategies._supernet import arch_descent, cross_entropy

        def loss(arch):
            return cross_entropy(forward(search, jax.nn.softmax(arch, axis=-1), x_valid), y_valid)

        return arch_descent(search, jax.grad(loss)(search.arch), self.arch_optimizer(), lr)
