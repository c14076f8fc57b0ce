"""What the transfer strategies share: the check of their `sources`, the candidate cells, and
the ranking arrays they read from the source tasks (`nasbench_lite.search.sources`).

Not a strategy (the leading underscore keeps it out of the registry). A transfer strategy's
class sets ``uses_sources = True`` (the comparison then gives it the other tasks' validation
results, leave one task out) and ``counterpart``, the strategy it is compared against (the
same search without the source tasks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.spaces.subspace import SubSpace


def check_sources(name: str, sources: Any) -> Any:
    """`sources` as given, or InputError when there are none."""
    if sources is None or len(sources) == 0:
        raise InputError(
            f"strategy {name!r} learns from other tasks and was given none: compare it across "
            "tasks (compare --tasks, each target's sources are the other tasks) or name its "
            "source tables (compare --sources)"
        )
    return sources


def candidates(space: Any) -> np.ndarray:
    """One raw cell per class the space allows (its representative, or for a restricted view
    whose representative is not allowed, the class's first allowed member), ascending."""
    reps = np.asarray(space.representatives, dtype=np.int64)
    if not isinstance(space, SubSpace):
        return np.sort(reps)
    out = []
    for class_id in space.allowed_classes.tolist():
        rep = int(reps[class_id])
        out.append(rep if space.allowed[rep] else int(space.class_members(class_id)[0]))
    return np.sort(np.asarray(out, dtype=np.int64))


def space_key(space: Any) -> tuple[str, str]:
    """What a memoised result depends on of `space`: its name and the classes it allows (an
    object's id could be reused by another space once the first is freed)."""
    import hashlib

    base = space.base if isinstance(space, SubSpace) else space
    digest = hashlib.sha256(candidates(space).tobytes()).hexdigest()[:16]
    return str(getattr(base, "name", type(base).__name__)), digest


def memo(sources: Any, key: tuple, make):
    """`make()` computed once per `sources` object and key (a portfolio or a box does not
    depend on the run's seed; a worker process runs many seeds with one `sources`)."""
    store = sources.__dict__.setdefault("_strategy_memo", {})
    if key not in store:
        store[key] = make()
    return store[key]


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """Ranks of (tasks, n) scores within each task, 1 = lowest, ties sharing their average
    rank (pandas' DataFrame.rank(axis=1), which Syne Tune's ZeroShotTransfer uses)."""
    from scipy.stats import rankdata

    return rankdata(scores, method="average", axis=1).astype(np.float64)


def box_cells(space: Any, allowed_ops: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """The cells of `cells` (raw, ascending) whose every edge uses an op marked in
    `allowed_ops` (bool (edges, ops))."""
    ops = space.cells(cells)  # (n, edges)
    inside = allowed_ops[np.arange(ops.shape[1]), ops].all(axis=1)
    return cells[inside]
