"""The proxies' names and their table metrics (numpy-free, JAX-free)."""

from __future__ import annotations

# The table's side: `proxy_<name>` metrics, and the per-class cost ones it already holds.
from nasbench_lite.table.proxy_stats import COST, PREFIX

# Computed in the network, one value per (class, seed) pair.
COMPUTED = ("synflow", "snip", "grasp", "fisher", "grad_norm", "plain", "jacov", "nwot",
            "epe_nas", "zen", "l2_norm")  # fmt: skip
PROXIES = (*COMPUTED, *COST)


def metric_name(proxy: str) -> str:
    """The table metric holding `proxy`: `proxy_<name>` for a computed one (a (rows, seeds)
    float64 array), the table's own `params` / `flops` for the cost ones."""
    return proxy if proxy in COST else PREFIX + proxy
