"""The policy shared by `reinforce` and `ppo`: an independent categorical distribution per
edge (one logit per op), as in NAS-Bench-201's REINFORCE baseline, and Adam on the logits.

Not a strategy (the leading underscore keeps it out of the registry). Numpy only.

Logits are float64 (num_edges, num_ops). On the full space a cell's probability is the product
of its edges' softmax probabilities. On a restricted view (a partial table, `SubSpace`) the
policy is that distribution conditioned on the allowed cells, so it never proposes a cell the
benchmark cannot answer; the formulas below cover both, since the gradient of a cell's
log-probability is always ``onehot(cell) - marginals(logits)``, the marginals being the
softmax on the full space and the conditional per-edge op frequencies on a restricted one.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.spaces.subspace import SubSpace


class Adam(NamedTuple):
    """Adam's moments for one parameter array (Kingma & Ba 2015), and its step count."""

    m: np.ndarray
    v: np.ndarray
    t: int


def frozen(array: np.ndarray) -> np.ndarray:
    """`array` marked read-only: state arrays are never changed in place."""
    array.setflags(write=False)
    return array


def adam_init(params: np.ndarray) -> Adam:
    return Adam(frozen(np.zeros_like(params)), frozen(np.zeros_like(params)), 0)


def adam_ascent(
    params: np.ndarray, grad: np.ndarray, opt: Adam, lr: float, b1=0.9, b2=0.999, eps=1e-8
) -> tuple[np.ndarray, Adam]:
    """One Adam step *up* `grad` (torch.optim.Adam's update and defaults): new arrays."""
    t = opt.t + 1
    m = b1 * opt.m + (1 - b1) * grad
    v = b2 * opt.v + (1 - b2) * grad**2
    step = lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return frozen(params + step), Adam(frozen(m), frozen(v), t)


class EdgePolicy:
    """Static structure of the per-edge policy over `space`: its shape and, for a restricted
    view, the allowed cells (int (n, num_edges)) it is conditioned on."""

    def __init__(self, space: Any) -> None:
        self.space = space
        self.shape = (int(space.num_edges), int(space.num_ops))
        self.support = None  # the full product space
        if isinstance(space, SubSpace):
            self.support = space.cells(space.allowed_raws)  # (n, num_edges)

    def init_logits(self, rng: np.random.Generator) -> np.ndarray:
        """Near-uniform logits, 1e-3 * N(0, 1) as in NAS-Bench-201's code: (E, K) float64."""
        return frozen(1e-3 * rng.standard_normal(self.shape))

    def _normaliser(self, lsm: np.ndarray) -> float:
        """log of the policy's total probability of the allowed cells (0 on the full space)."""
        if self.support is None:
            return 0.0
        return float(np.logaddexp.reduce(lsm[np.arange(self.shape[0]), self.support].sum(1)))

    def sample(self, logits: np.ndarray, rng: np.random.Generator) -> int:
        """One raw cell drawn from the policy (one uniform per edge, or one over the support)."""
        if self.support is None:
            cdf = np.cumsum(np.exp(log_softmax(logits)), axis=1)
            ops = (cdf[:, :-1] < rng.random(self.shape[0])[:, None]).sum(axis=1)
            return int(self.space.index(ops))
        cdf = np.cumsum(np.exp(self.log_probs(logits, self.support)))
        pick = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
        return int(self.space.index(self.support[min(pick, len(cdf) - 1)]))

    def log_probs(self, logits: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """Log-probabilities of int (b, E) cells under the policy: (b,) float64."""
        lsm = log_softmax(logits)
        return lsm[np.arange(self.shape[0]), cells].sum(axis=1) - self._normaliser(lsm)

    def marginals(self, logits: np.ndarray) -> np.ndarray:
        """Per-edge op probabilities of a drawn cell: (E, K), rows sum to 1."""
        if self.support is None:
            return np.exp(log_softmax(logits))
        probs = np.exp(self.log_probs(logits, self.support))  # (n,)
        num_edges, num_ops = self.shape
        flat = (np.arange(num_edges) * num_ops + self.support).ravel()  # (n * E,)
        counts = np.bincount(flat, np.repeat(probs, num_edges), minlength=num_edges * num_ops)
        return counts.reshape(self.shape)

    def grad_log_probs(self, logits: np.ndarray, cells: np.ndarray, weights: np.ndarray):
        """sum_i weights[i] * d log_prob(cells[i]) / d logits, for int (b, E) cells and (b,)
        weights: (E, K). Each term is onehot(cell) - marginals(logits)."""
        num_edges, num_ops = self.shape
        flat = (np.arange(num_edges) * num_ops + cells).ravel()
        chosen = np.bincount(flat, np.repeat(weights, num_edges), minlength=num_edges * num_ops)
        return chosen.reshape(self.shape) - np.sum(weights) * self.marginals(logits)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of (E, K) logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class Baseline(NamedTuple):
    """Exponential moving average of rewards, bias-corrected as in NAS-Bench-201's code
    (numerator / denominator, both decayed by `momentum`)."""

    numerator: float = 0.0
    denominator: float = 0.0

    def update(self, reward: float, momentum: float) -> Baseline:
        return Baseline(
            momentum * self.numerator + (1 - momentum) * reward,
            momentum * self.denominator + (1 - momentum),
        )

    @property
    def value(self) -> float:
        return self.numerator / self.denominator if self.denominator else 0.0


def reward(valid_acc: float) -> float:
    """The reward of a result: its validation accuracy; a diverged training (NaN) earns 0,
    below every measured accuracy."""
    return 0.0 if math.isnan(valid_acc) else float(valid_acc)
