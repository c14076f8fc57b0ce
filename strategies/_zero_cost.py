"""Zero-cost warm-up, Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021,
Section 5): score a pool of random cells by a zero-cost proxy (synflow, their best) without
training any, and start the search from the best of them.

What the strategies that warm up share (not a strategy: the underscore keeps it out of the
registry). The scores come from the benchmark's `ProxyLookup` (`BenchmarkContext.proxies`),
which holds proxy values and nothing else; their measured cost, the table's seconds per
scored cell times the cells scored, is charged to the simulated clock with the first ask
(`Ask.search_seconds`), so a warm-started search pays for its pool like any other work.

Pool sizes are this benchmark's, not the paper's: on the CPU table scoring one cell costs
about 47 ms of CPU and training one about 1 s (20x, where the paper's proxies cost about a
thousandth of a training), so a pool of thousands would spend a default budget (100
trainings) before training anything.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import Ask

PROXY = "synflow"  # the paper's warm-up proxy, and the best single one on our table
WARM_POOL = 200  # cells scored to warm-start a search (about 9 s of proxies, 9 trainings)


class Warmup(NamedTuple):
    cells: tuple[int, ...]  # the pool's cells, one per class, best proxy score first
    seconds: float  # simulated seconds of scoring them, charged with the first ask


def check(name: str, pool: int, proxy: str, proxies: Any) -> None:
    """InputError unless a warm-up of `pool` cells (0: none) by `proxy` can run on `proxies`."""
    if isinstance(pool, bool) or not isinstance(pool, (int, np.integer)) or pool < 0:
        raise InputError(f"{name}: warmup must be an int >= 0 (cells to score), got {pool!r}")
    if pool == 0:
        return
    if proxies is None:
        raise InputError(
            f"{name}: a warm-up by zero-cost proxies needs a table that holds them; compute "
            f"them into a copy with `nasbench-lite proxies --table COPY` and search that"
        )
    if proxy not in proxies.names:
        raise InputError(f"{name}: no proxy {proxy!r}; the table holds {', '.join(proxies.names)}")


def ranked_pool(
    space: Any, proxies: Any, proxy: str, pool: int, rng: np.random.Generator
) -> Warmup:
    """`pool` uniform cells, one kept per class (isomorphic cells score alike), ranked by
    `proxy` at one drawn init seed each (NaN last, ties in draw order)."""
    if pool == 0:
        return Warmup((), 0.0)
    raws = np.asarray(space.sample(rng, pool), dtype=np.int64)
    first = np.unique(np.asarray(space.canonical_ids)[raws], return_index=True)[1]
    raws = raws[np.sort(first)]
    scores = proxies.scores(proxy, raws, rng)
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
    return Warmup(tuple(raws[order].tolist()), proxies.seconds(len(raws)))


def charged(raw: int, seconds: float) -> int | Ask:
    """`raw`, carrying `seconds` of search computation to charge when there are any."""
    return Ask(int(raw), search_seconds=float(seconds)) if seconds > 0 else int(raw)


def raw_of(asked: int | Ask) -> int:
    return asked.raw if isinstance(asked, Ask) else asked
