"""Zero-cost proxies: scores of an untrained network that are meant to rank cells by their
trained accuracy (Abdelfattah et al., ICLR 2021; Mellor et al., ICML 2021; Lin et al., ICCV
2021), computed for every class of a table, three initialisation seeds each.

`measures` holds the proxies of ONE network (JAX), `scores` the host's float64 step,
`batched` runs them for many (cell, seed) pairs in one compiled program, `table` writes them
into a table file, resumably. Importing this package imports neither JAX nor Flax.
"""

from nasbench_lite.proxies.names import COMPUTED, PROXIES, metric_name

__all__ = ["COMPUTED", "PROXIES", "metric_name"]
