"""Random search with parameter sharing (RSPS; Li & Talwalkar, "Random Search and
Reproducibility for Neural Architecture Search", UAI 2019), as NAS-Bench-201 (Dong & Yang,
ICLR 2020) runs it.

Each step trains the shared weights on a training batch through one uniformly drawn cell (a
single path: the trainer's masked network, running only that cell's ops). There are no
architecture parameters. After each epoch the derived cell is the best of `candidates`
uniformly drawn cells (on a partial table: among the cells it answers), ranked by
shared-weights validation accuracy on one batch; NAS-Bench-201 picks its final cell the same
way from 100 samples.

Defaults: the shared weights train as in `darts` (docs/search.md); 100 candidates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_lite.strategies._weight_sharing import DEFAULT_SEARCH_EPOCHS, WeightSharing, check_int


class RSPS(WeightSharing):
    """Uniform single-path supernet training, then the best of sampled cells."""

    name = "rsps"
    network = "masked"

    def __init__(
        self,
        space: Any,
        train_config: Any = None,
        dataset: Any = None,
        search_epochs: int = DEFAULT_SEARCH_EPOCHS,
        learning_rate: float | None = None,
        candidates: int = 100,
        data_dir: Any = None,
    ) -> None:
        """candidates: uniformly drawn cells per epoch to pick the derived one from."""
        super().__init__(space, train_config, dataset, search_epochs, learning_rate, data_dir)
        self.candidates = check_int("candidates", candidates)

    def init_arch(self, key):
        import jax.numpy as jnp

        return jnp.zeros((6, 5))  # none: the cells are drawn uniformly

    def arch_optimizer(self):
        import optax

        return optax.identity()

    def choice(self, key, arch, progress):
        """A uniformly drawn cell (6,) op ids."""
        import jax

        return jax.random.randint(key, (arch.shape[0],), 0, arch.shape[1])

    def arch_step(self, key, search, forward, x_valid, y_valid, lr, progress):
        return search  # nothing to learn about the architecture

    def sample_candidates(self, arch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """`candidates` uniformly drawn cells (N, 6) of the (possibly restricted) space."""
        return self.space.cells(self.space.sample(rng, self.candidates))
