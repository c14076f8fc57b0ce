"""Shared test helpers: synthetic tables made easy to check against (complete and partial;
files come from `nasbench_lite.table.synthetic.synthetic_table` directly) and installed-looking
plug-in packages. Test modules import the helpers with
`from conftest import ...` and get the fixtures by name."""

from __future__ import annotations

import gc
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

try:
    import psutil
except ImportError:  # a dev extra; without it the programs are kept
    psutil = None

from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.devices import use_cpu_cores
from nasbench_lite.search.registry import available_strategies, get_strategy
from nasbench_lite.spaces import get_space
from nasbench_lite.table import synthetic
from nasbench_lite.table.reader import Table

# As the command line does, fix the CPU devices before anything imports JAX (none of the
# imports above does): two, whatever the machine, so every batch is sharded and CLI
# subprocesses, which inherit XLA_FLAGS, see the same devices as the tests.
use_cpu_cores(2)

# Test processes (pytest-xdist) share the cores, as `compare`'s workers do: an OpenMP pool
# (XGBoost's) as wide as the machine in each spins at its barriers while the others hold the
# cores, which made the surrogate tests ten times slower. Set before anything loads OpenMP
# (none of the imports above does); CLI subprocesses inherit it.
if "PYTEST_XDIST_WORKER" in os.environ:
    _share = (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, _share)))


def multi_trial_strategies() -> list[str]:
    """The registered strategies that search by evaluating cells: all but the weight-sharing
    ones (`weight_sharing = True`), which train a supernet on live data at every ask and are
    checked for the same properties on the tiny preset in test_weight_sharing.py, and the
    transfer ones (`uses_sources = True`), which need source tasks and are checked for them
    in test_transfer.py."""
    return [name for name in available_strategies()
            if not _weight_sharing(name) and not _needs_proxies(name)
            and not _flag(name, "uses_sources")]  # fmt: skip


def transfer_strategies() -> list[str]:
    """The registered strategies that learn from source tasks (`uses_sources = True`)."""
    return [name for name in available_strategies() if _flag(name, "uses_sources")]


def _flag(name: str, flag: str) -> bool:
    try:
        return bool(getattr(get_strategy(name), flag, False))
    except (ValueError, TypeError):  # a broken plugin: the tests report it
        return False


def _needs_proxies(name: str) -> bool:
    """Strategies that search only a table with zero-cost proxies (`needs_proxies = True`)
    are checked on one in test_zero_cost_search.py."""
    try:
        return bool(getattr(get_strategy(name), "needs_proxies", False))
    except (ValueError, TypeError):  # a broken plugin: the tests report it
        return False


# Model-based strategies fit a model at every ask: a test running them long is a slow test.
SLOW_STRATEGIES = ("bananas", "tpe")


def marked_slow(values: list, slow) -> list:
    """`values` for `pytest.mark.parametrize`, those in `slow` marked slow (a tuple value is
    one set of arguments)."""
    return [pytest.param(*(v if isinstance(v, tuple) else (v,)), marks=pytest.mark.slow)
            if v in slow else v for v in values]  # fmt: skip


def _weight_sharing(name: str) -> bool:
    try:
        return bool(getattr(get_strategy(name), "weight_sharing", False))
    except (ValueError, TypeError):  # a broken plugin: the tests report it
        return False


# Above this resident size the compiled programs are dropped after a test module (below).
COMPILED_PROGRAMS_BUDGET = 2 * 2**30


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Drop the compiled XLA programs after a test module once the process holds more than
    COMPILED_PROGRAMS_BUDGET bytes. The trainer and the supernet keep theirs for the life of
    the process (`_COMPILED`), so over the whole suite they add up to a gigabyte; dropping
    them after every module would bound that too, but the modules that train cells would
    then compile the trainer again, minutes over the suite. (`jax.clear_caches()` alone
    frees next to nothing: the programs live in those dictionaries.)"""
    yield
    if "jax" not in sys.modules or psutil is None:
        return
    if psutil.Process().memory_info().rss < COMPILED_PROGRAMS_BUDGET:
        return
    import jax

    trainer = sys.modules.get("nasbench_lite.train.trainer")
    if trainer is not None:
        trainer._COMPILED.clear()
        trainer._batched.cache_clear()
    supernet = sys.modules.get("nasbench_lite.strategies._supernet")
    if supernet is not None:
        supernet._COMPILED.clear()
    jax.clear_caches()
    gc.collect()


@pytest.fixture(scope="session")
def space():
    """The nb201 space (every test file that needs it shares this one)."""
    return get_space("nb201")


def synthetic_table(
    seed: int = 0,
    num_seeds: int = 3,
    epochs: int = 2,
    diverged: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    done: np.ndarray | None = None,
) -> Table:
    """An in-memory nb201 table (`nasbench_lite.table.synthetic`) made easy to check against.

    Every validation accuracy lies in [0.05, 0.45] and every test accuracy is the same seed's
    validation accuracy + 0.5, so a test accuracy can never pass for a validation one; every
    train_seconds is at least 10. Each seed's numbers differ, so a lookup reveals which seed
    it drew. `diverged` (rows, seeds) bool marks pairs whose metrics are NaN. `classes`:
    class ids that have a row (default: all, a complete table), as in a table sampled with
    `generate --fraction`. `done` (rows,) bool: rows not done hold NaN metrics, as in a table
    still being generated.
    """
    table = synthetic.synthetic_table(
        classes=classes, seeds=num_seeds, epochs=epochs, done=done, diverged=diverged, rng=seed
    )
    valid = 0.05 + 0.4 * table.metric("valid_acc")
    changes = {"metrics/valid_acc": valid, "metrics/test_acc": valid + 0.5,
               "metrics/train_seconds": 10 + table.metric("train_seconds")}  # fmt: skip
    return Table({**table.arrays, **changes}, table.attrs)


def partial_table(fraction: float = 0.3, seed: int = 0, sampled: bool = False) -> Table:
    """A synthetic table holding a uniform random `fraction` of the classes: the others are
    rows not done yet (default, a table being generated) or have no row (`sampled`, a table
    made with `generate --fraction`)."""
    space = get_space("nb201")
    rng = np.random.default_rng(1000 + seed)
    present = space.sample_classes(rng, round(fraction * space.num_unique))
    if sampled:
        return synthetic_table(seed, classes=present)
    return synthetic_table(seed, done=np.isin(np.arange(space.num_unique), present))


def write_plugin_package(
    root: Path, dist: str, files: dict[str, str], entries: dict[str, str]
) -> None:
    """An installed-looking distribution in `root` (put it on sys.path to install it):
    `files` (relative path -> Python source, dedented) and a `dist`-0.1.dist-info whose
    entry_points.txt registers, for each group of `entries` (e.g. ``nasbench_lite.spaces``),
    its "name = module:attribute" lines."""
    for name, source in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(source))
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    groups = "".join(f"[{group}]\n{lines}\n\n" for group, lines in entries.items())
    (info / "entry_points.txt").write_text(groups)


def write_strategy_package(root: Path, dist: str, files: dict[str, str], entries: str) -> None:
    """`write_plugin_package` registering `entries` ("name = module:Class" lines) under the
    group ``nasbench_lite.strategies``."""
    write_plugin_package(root, dist, files, {"nasbench_lite.strategies": entries})


@pytest.fixture(scope="session")
def table() -> Table:
    """The complete synthetic table (read-only arrays: safe to share)."""
    return synthetic_table()


@pytest.fixture(scope="session")
def bench(table) -> TabularBenchmark:
    """A tabular benchmark on the complete synthetic table (lookups are pure: shared)."""
    return TabularBenchmark(table)


def check_saved_columns(model, path: Path, file: str, attribute: str, what: str) -> None:
    """Save `model` (fitted with per-class columns kept in `file`, held as `attribute`) to
    `path`, read it back: same predictions and columns; then a corrupt `file` must stop
    `Surrogate.load` with an error saying the `what` features cannot be read."""
    from nasbench_lite.surrogate import Surrogate, SurrogateError

    model.save(path)
    assert (path / file).is_file()
    loaded = Surrogate.load(path)
    raws = np.arange(0, model.space.num_cells, 37)
    np.testing.assert_array_equal(loaded.predict(raws)[0], model.predict(raws)[0])
    np.testing.assert_array_equal(getattr(loaded, attribute), getattr(model, attribute))
    (path / file).write_bytes(b"not an array")
    with pytest.raises(SurrogateError, match=f"{what} features cannot be read"):
        Surrogate.load(path)
