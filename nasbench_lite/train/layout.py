"""How a batch of (cell, seed) pairs is laid out: grouped by cell, groups dealt to the devices."""

from __future__ import annotations

import numpy as np

LAYOUTS = ("grouped", "vmap")
# The layout `train_cells` uses when given none, by JAX backend. On a CPU each core loops
# over its classes running only each cell's ops: 4.7-4.9x fewer seconds per pair than
# computing every op (docs/throughput.md). An accelerator runs one class at a time far below
# its width, so there every op of every pair runs at once in one wide program.
DEFAULT_LAYOUT = {"cpu": "grouped", "accelerator": "vmap"}


def default_layout(backend: str) -> str:
    """The layout for JAX backend ``backend`` ("cpu", "gpu", "tpu", ...)."""
    return DEFAULT_LAYOUT["cpu" if backend == "cpu" else "accelerator"]


def group_pairs(cells: np.ndarray) -> tuple[np.ndarray, int]:
    """(order, S): pairs ``order`` (n,) fall into consecutive groups of S pairs of one cell.

    S is the largest size that splits every distinct cell's pairs evenly (the gcd of their
    counts): 3 when every cell comes with 3 seeds, 1 for pairs of all-different cells.
    """
    _, inverse, counts = np.unique(cells, axis=0, return_inverse=True, return_counts=True)
    return np.argsort(inverse.reshape(-1), kind="stable"), int(np.gcd.reduce(counts))


def balance_groups(costs: np.ndarray, devices: int) -> np.ndarray:
    """Slots (D * P,) of group indices, device-major, P = ceil(G / D) per device, so that
    every device's total cost is about equal (longest first, onto the least-loaded device).

    A device runs its groups one after another, so without balancing the devices that drew
    the costly cells finish last while the others idle. Free slots are filled with the
    cheapest group again (padding: trained and thrown away).
    """
    per_device = -(-len(costs) // devices)
    slots: list[list[int]] = [[] for _ in range(devices)]
    load = np.zeros(devices)
    for g in np.argsort(-costs, kind="stable"):
        open_ = [d for d in range(devices) if len(slots[d]) < per_device]
        d = min(open_, key=lambda d: load[d])
        slots[d].append(int(g))
        load[d] += costs[g]
    cheapest = int(np.argmin(costs))
    return np.array([g for s in slots for g in s + [cheapest] * (per_device - len(s))])
