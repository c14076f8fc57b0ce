"""results.csv of a fixed comparison on the shipped cpu-preset table, pinned byte for byte.

The digest was taken before the package was reorganised into subpackages and must not move
with refactoring: the same strategies, seeds and budget give the same file. The strategies
are numpy-only (no optuna sampler, no BLAS-dependent model), so the digest does not depend
on another library's release. It moves only with a change of what a strategy does: last when
BOHB's bad set was made disjoint from its good set, as HpBandSter's.
"""

from __future__ import annotations

import hashlib

from nasbench_lite.compare import CompareConfig, compare
from nasbench_lite.table import shipped

PINNED = "40116b6d2656907bbfa623a68b4dd28f0adb8a34aa03a0b053873e691d814eee"


def test_a_fixed_comparison_on_the_cpu_table_is_byte_identical(tmp_path):
    strategies = ("hyperband", "bohb", "regularized_evolution", "local_search")
    out = tmp_path / "out"
    table = shipped.DATA_DIR / shipped.CPU_TABLE  # pinned on it, whichever table is the default
    config = CompareConfig(table=table, strategies=strategies, seeds=3,
                           workers=3, budget="2000epochs", out=out, jobs=1)  # fmt: skip
    compare(config)
    digest = hashlib.sha256((out / "results.csv").read_bytes()).hexdigest()
    assert digest == PINNED
