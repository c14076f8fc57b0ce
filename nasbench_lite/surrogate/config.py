"""How a surrogate is fitted (`SurrogateConfig`) and the constants its model shares."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.surrogate.boosting import GRID
from nasbench_lite.surrogate.features import FEATURE_GROUPS, SurrogateError

ACCURACIES = ("valid_acc", "test_acc")
# sqrt(pi / 2): the mean absolute deviation of a normal variable times it is its SD. The
# error model predicts a cell's mean absolute out-of-fold error (robust to the few far
# misses a squared target would chase) and reports it on the SD's scale.
ABS_TO_SD = float(np.sqrt(np.pi / 2))
MAX_SEED = 2_000_000  # the largest fit seed: seed x 1000 + m must stay a 32-bit int


@dataclass(frozen=True)
class SurrogateConfig:
    """How a surrogate is fitted. Vary with dataclasses.replace."""

    members: int = 5  # bagging ensemble size of each mean model
    folds: int = 3  # cross-validation folds over training classes
    features: tuple[str, ...] = FEATURE_GROUPS
    grid: tuple[dict, ...] = GRID
    # Curves of the table to model per epoch, validation accuracy first (it picks the
    # hyperparameters); any curve the table's schema holds may be named. train_seconds (the
    # cost) is always modelled.
    targets: tuple[str, ...] = ACCURACIES
    # Zero-cost proxies as features (the table's per-class seed means, `proxy_columns`):
    # the model keeps them, and works only with tables that hold them.
    proxies: tuple[str, ...] = ()
    # A booster ensemble on the final epoch alone per curve, which sets each predicted
    # curve's last value (the whole curve shifted alike). False: the per-epoch model alone.
    final_model: bool = True

    def __post_init__(self) -> None:
        # Member m of a fit with seed s seeds XGBoost with s x 1000 + m: at most 1000 members.
        check_int("members", self.members, 1, 1000)
        check_int("folds", self.folds, 2, 100)  # one fold would train on nothing
        if not self.grid:
            raise SurrogateError("grid is empty: name at least one hyperparameter point")
