"""Zero-cost proxy scores for strategies: the one view of a table's proxies a strategy gets
(through `BenchmarkContext.proxies`), with their measured cost to charge to the clock.

A `ProxyLookup` holds copies of the table's `/metrics/proxy_<name>` arrays and nothing
else: no accuracy, no loss, no reference to the table, so a strategy that scores cells with
it learns nothing of their test (or validation) accuracy. A score is one initialisation
seed's value, drawn with the generator the strategy passes in, as computing the proxy once
for a new cell would give; its cost is the table's measured process CPU seconds per (class,
seed) pair (the `proxies` root attribute's `cpu_seconds`, compilation excluded, over the
pairs computed: the same measure the table's `train_seconds` apportions, and the one its
card reports), for all eleven proxies together, since they are computed in one program.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError

PREFIX = "proxy_"  # as table.proxy_stats.PREFIX; a metric of this prefix is a proxy
DONE = "proxies/done"


class ProxyLookup:
    """Proxy scores of raw cells. names: the proxies held; pair_seconds: the measured cost
    of scoring one cell (one (class, seed) pair), NaN when the table records none."""

    __slots__ = ("_rows", "_values", "names", "pair_seconds", "source")

    def __init__(self, values: Mapping[str, np.ndarray], raw_rows: np.ndarray,
                 pair_seconds: float, source: str = "") -> None:  # fmt: skip
        """values: proxy name -> float64 (rows, seeds); raw_rows: int (num_cells,) row of
        each raw cell (-1: none)."""
        held = {}
        for name, array in values.items():
            array = np.array(array, dtype=np.float64)  # a copy, read-only
            array.flags.writeable = False
            held[name] = array
        rows = np.array(raw_rows, dtype=np.int64)
        rows.flags.writeable = False
        self._values = MappingProxyType(held)
        self._rows = rows
        self.names = tuple(sorted(held))
        self.pair_seconds = float(pair_seconds)
        self.source = str(source)

    @classmethod
    def from_table(cls, table: Any) -> ProxyLookup | None:
        """The lookup of a `Table`'s computed proxies (None when it holds none); rows whose
        proxies are not done, or await an unfinished `proxies --recompute`, read NaN."""
        names = [m for m in table.metrics if m.startswith(PREFIX)]
        if not names:
            return None
        from nasbench_lite.table.proxy_stats import current_rows

        done = np.asarray(table.arrays.get(DONE, np.ones(table.num_rows, bool)), bool)
        current = current_rows(table)
        values = {}
        for metric in names:
            array = np.array(table.metric(metric), dtype=np.float64)
            array[~current] = np.nan
            values[metric[len(PREFIX) :]] = array
        record = table.attrs.get("proxies", {})
        pairs = int(done.sum()) * table.num_seeds
        seconds = record.get("cpu_seconds") if isinstance(record, Mapping) else None
        pair = float(seconds) / pairs if seconds is not None and pairs else float("nan")
        return cls(values, np.asarray(table.raw_to_row), pair, str(table.source))

    def __repr__(self) -> str:
        return (f"ProxyLookup({', '.join(self.names)}; {self.pair_seconds * 1e3:.1f} ms a cell, "
                f"{self.source})")  # fmt: skip

    def seconds(self, cells: int) -> float:
        """Simulated seconds of scoring `cells` cells. InputError when the table records no
        cost: a strategy must not get scores for free."""
        if not np.isfinite(self.pair_seconds):
            raise InputError(
                f"{self.source} records no measured cost of its proxies (the `proxies` "
                "attribute's cpu_seconds); recompute them with `nasbench-lite proxies`"
            )
        return cells * self.pair_seconds

    def scores(self, proxy: str, raws, rng: np.random.Generator) -> np.ndarray:
        """float64 (n,) the value of `proxy` for int raw cells `raws` (n,), each at one
        initialisation seed drawn with `rng`; NaN for a cell whose class has no proxies.
        Higher is taken as better (docs/proxies.md). InputError for a name that is not a
        proxy held here (accuracies and losses never are)."""
        if proxy not in self._values:
            raise InputError(f"no proxy {proxy!r} here; the table holds {', '.join(self.names)}")
        raws = np.asarray(raws, dtype=np.int64).reshape(-1)
        if ((raws < 0) | (raws >= len(self._rows))).any():
            raise InputError(f"raw cells must be in 0..{len(self._rows) - 1}")
        values = self._values[proxy]
        rows = self._rows[raws]
        seeds = rng.integers(values.shape[1], size=len(raws))
        out = np.full(len(raws), np.nan)
        known = rows >= 0
        out[known] = values[rows[known], seeds[known]]
        return out
