"""BANANAS, White, Neiswanger & Savani, "BANANAS: Bayesian Optimization with Neural
Architectures for Neural Architecture Search" (AAAI 2021), as in its reference code
(naszilla/bananas).

After `num_init` uniformly drawn cells, every fit trains an ensemble of `members` small MLPs
(`_predictors.EnsemblePredictor`, each from its own random initialisation drawn
from the run's generator) on the path encoding (`space.path_encoding`) of the cells told so
far, regressing their validation accuracy (diverged results left out). Candidates are
`per_parent` one-edge mutants (`space.mutate`) of each of the `parents` best cells, without
repeats and without cells isomorphic to (same class as) a cell already asked. Independent
Thompson sampling ranks them: each candidate's value is one draw from N(ensemble mean,
ensemble std), and the `batch_size` highest are proposed.

Defaults follow the reference code: 10 initial cells, 10 proposals per fit, an ensemble of
5, 100 candidates (10 mutants of each of the 10 best), ITS, path encoding, mean absolute
error, Adam with learning rate 0.01. The reference's networks are deeper (10 layers of width
20, 150 epochs of batches of 32); here two hidden layers of 20 trained by 100 full-batch Adam
steps (`hidden`, `steps`): on 100 cells of the `cpu` table that ranks held-out cells about
as well as 200 steps (Spearman ~0.64), and a 100-evaluation run spends ~0.3 s in the
strategy on a 2-core machine, so a default `compare` (25 seeds) stays quick. The reference
mutates cells with a random number of edits; here exactly one edge, as `space.mutate` does.

Asynchronous workers: proposals are handed out one per ask from the last fit's batch; when
the batch is used up, the next ask fits again on whatever results are back (cells in flight
are excluded from the candidates, since they were asked). Until two results are back, asks
beyond the initial cells are random.

Zero-cost warm-up (`warmup` > 0; registered as `bananas_zc`): the `num_init` initial cells
are the best of `warmup` uniform cells ranked by a zero-cost proxy (synflow) instead of
uniform cells, Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021,
Section 5); the scoring's measured cost is charged to the clock with the first ask.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.search.protocol import Result
from nasbench_lite.strategies._predictors import EnsemblePredictor

from . import _model_based as mb
from . import _zero_cost as zc


class Bananas:
    """Neural-ensemble Bayesian optimisation over path encodings, ITS acquisition."""

    name = "bananas"

    def __init__(
        self,
        space: Any,
        num_init: int = 10,
        batch_size: int = 10,
        members: int = 5,
        parents: int = 10,
        per_parent: int = 10,
        hidden: tuple[int, ...] = (20, 20),
        steps: int = 100,
        warmup: int = 0,
        proxy: str = zc.PROXY,
        proxies: Any = None,
    ) -> None:
        for key, value, low in (("num_init", num_init, 0), ("batch_size", batch_size, 1),
                                ("members", members, 2), ("parents", parents, 1),
                                ("per_parent", per_parent, 1), ("steps", steps, 1)):  # fmt: skip
            check_int(key, value, low)
        self.space = space
        self.num_init, self.batch_size = num_init, batch_size
        self.parents, self.per_parent = parents, per_parent
        self.members, self.hidden, self.steps = members, tuple(hidden), steps
        EnsemblePredictor(members, self.hidden, steps)  # checks hidden
        zc.check(self.name, warmup, proxy, proxies)
        self.warmup, self.proxy, self.proxies = warmup, proxy, proxies

    def init(self, rng: np.random.Generator) -> mb.ModelState:
        warm = zc.ranked_pool(self.space, self.proxies, self.proxy, self.warmup, rng)
        return mb.initial_state(warm)

    def ask(self, state: mb.ModelState, rng: np.random.Generator) -> tuple[mb.ModelState, Any]:
        return mb.ask(self.space, state, rng, self.num_init, self._propose)

    def tell(self, state: mb.ModelState, raw: int, result: Result) -> mb.ModelState:
        valid_acc = result.valid_acc
        return mb.tell(state, raw, valid_acc)

    def _propose(self, state: mb.ModelState, rng: np.random.Generator) -> tuple[int, ...]:
        candidates = mb.fresh(
            self.space, state, mb.mutants(self.space, state, rng, self.parents, self.per_parent)
        )
        if not candidates.size:
            return ()
        raws, scores = mb.finite(state)
        model = EnsemblePredictor(self.members, self.hidden, self.steps)
        model.fit(self.space.path_encoding(raws), scores, rng)
        mean, std = model.predict(self.space.path_encoding(candidates))
        sampled = rng.normal(mean, std)  # independent Thompson sampling
        best = np.argsort(-sampled, kind="stable")[: self.batch_size]
        return tuple(candidates[best].tolist())


class WarmStartedBananas(Bananas):
    """BANANAS whose initial cells are the best proxy-scored cells of a random pool."""

    name = "bananas_zc"
    needs_proxies: ClassVar[bool] = True  # searches only a table that holds proxies
    in_default_comparison: ClassVar[bool] = False

    def __init__(self, space: Any, warmup: int = zc.WARM_POOL, proxy: str = zc.PROXY,
                 proxies: Any = None, **params: Any) -> None:  # fmt: skip
        super().__init__(space, warmup=warmup, proxy=proxy, proxies=proxies, **params)
