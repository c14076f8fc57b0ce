"""Non-dominated sorting with an epsilon-net inside each front: the multi-objective priority of
Syne Tune's `NonDominatedPriority` (Salinas et al., "A multi-objective perspective on jointly
tuning hardware and hyperparameters", NAS workshop at ICLR 2021), used by
`mo_regularized_evolution`.

Not a strategy (the leading underscore keeps it out of the registry). Fronts are peeled off
one after the other (the first is the non-dominated set); inside a front the members are
ordered as an epsilon-net, as Syne Tune's `compute_epsilon_net` does: first the member best
in the first objective, then each time the member farthest from those already chosen, which
spreads the priority along the front as NSGA-II's crowding distance does. Distances are taken
on objectives scaled to [0, 1] over the population (Syne Tune takes them unscaled, where a
metric in the thousands, e.g. params, would swamp accuracy).
"""

from __future__ import annotations

import warnings

import numpy as np


def dominated_by_any(points: np.ndarray) -> np.ndarray:
    """(n,) bool: which rows of `points` (n, k) (minimised) another row dominates."""
    le = (points[:, None, :] <= points[None, :, :]).all(axis=2)  # le[i, j]: i weakly better
    lt = (points[:, None, :] < points[None, :, :]).any(axis=2)
    return (le & lt).any(axis=0)


def priority(losses: np.ndarray) -> np.ndarray:
    """(n,) int64 ranks, 0 = highest priority, of the rows of `losses` (n, k) float
    (minimised; +inf for a diverged result, ranked last)."""
    losses = np.asarray(losses, dtype=np.float64)
    n = len(losses)
    finite = np.where(np.isfinite(losses), losses, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an objective with no finite value
        low, high = np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)
    low, high = np.nan_to_num(low), np.nan_to_num(high)
    span = np.where(high > low, high - low, 1.0)
    scaled = np.where(np.isfinite(losses), (losses - low) / span, 2.0)  # inf: past the worst
    order: list[int] = []
    remaining = np.arange(n)
    while remaining.size:
        front = remaining[~dominated_by_any(scaled[remaining])]
        order += front[epsilon_net(scaled[front])].tolist()
        remaining = np.setdiff1d(remaining, front, assume_unique=True)
    ranks = np.empty(n, np.int64)
    ranks[np.array(order, dtype=np.int64)] = np.arange(n)
    return ranks


def epsilon_net(points: np.ndarray) -> np.ndarray:
    """(m,) int64: an order of the rows of `points` (m, k): the row lowest in the first
    column first, then each time the row farthest from the rows already taken."""
    m = len(points)
    first = int(np.argmin(points[:, 0]))
    order = [first]
    nearest = np.linalg.norm(points - points[first], axis=1)
    nearest[first] = -1.0
    for _ in range(m - 1):
        pick = int(np.argmax(nearest))
        order.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(points - points[pick], axis=1))
        nearest[order] = -1.0
    return np.array(order, dtype=np.int64)
