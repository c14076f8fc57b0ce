"""Train cells with JAX: the recipe (`TrainConfig`, presets), the batched trainer, cost model.

Importing this package imports NumPy only; JAX, Flax and optax load when a cell is trained.
"""

from nasbench_lite.train.config import (
    CURVES,
    DEFAULT_PRESET,
    PRESETS,
    TrainConfig,
    TrainResult,
    get_preset,
)
from nasbench_lite.train.cost import network_cost
from nasbench_lite.train.trainer import make_train, train_cells, train_one

__all__ = [
    "CURVES",
    "DEFAULT_PRESET",
    "PRESETS",
    "TrainConfig",
    "TrainResult",
    "get_preset",
    "make_train",
    "network_cost",
    "train_cells",
    "train_one",
]
