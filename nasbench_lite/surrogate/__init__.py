"""The XGBoost surrogate: fit on a table, predict any cell with a noise model, report quality.

Importing this package imports NumPy only; XGBoost loads when a model is fitted or loaded.
"""

from nasbench_lite.surrogate.features import FEATURE_GROUPS, SurrogateError, features
from nasbench_lite.surrogate.model import Surrogate, SurrogateConfig
from nasbench_lite.surrogate.quality import evaluate

__all__ = [
    "FEATURE_GROUPS",
    "Surrogate",
    "SurrogateConfig",
    "SurrogateError",
    "evaluate",
    "features",
]
