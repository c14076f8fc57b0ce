"""A second space (tests/tiny_space.py, 3 edges x 3 ops) runs train -> generate -> table ->
compare through the same public functions as nb201, with no change outside its module."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_space import register

from nasbench_lite.compare.config import CompareConfig
from nasbench_lite.compare.run import compare
from nasbench_lite.datasets import load_dataset
from nasbench_lite.generate.run import GenerateConfig, generate
from nasbench_lite.table.reader import Table
from nasbench_lite.train.config import get_preset, splits
from nasbench_lite.train.cost import network_cost
from nasbench_lite.train.trainer import make_train, pair_keys, train_cells

TINY = get_preset("tiny")


@pytest.fixture(scope="module")
def space():
    """The tiny space, registered for this module's tests and unregistered after them."""
    from nasbench_lite import spaces

    yield register()
    spaces._FACTORIES.pop("tiny3", None)
    spaces._INSTANCES.pop("tiny3", None)


def test_protocol_basics(space):
    assert space.num_cells == 27 and space.num_unique == 23
    all_cells = space.cells(np.arange(27))
    assert (space.indices(all_cells) == np.arange(27)).all()
    zero = space.canonical(space.parse("none/none/skip_connect"))
    assert zero == space.canonical(space.parse("skip_connect/none/none"))
    assert zero != space.canonical(space.parse("skip_connect/none/skip_connect"))


@pytest.mark.slow
def test_masked_cell_matches_reference_and_cost(space):
    import jax

    from nasbench_lite.train.reference import reference_network

    data = load_dataset("mnist1d")
    cells = np.array([[2, 2, 2], [1, 0, 2], [0, 1, 2]])
    result = train_cells(TINY, cells, [0, 0, 1], data, space=space)
    assert result.metrics["valid_acc"].shape == (3, TINY.epochs)
    for i, cell in enumerate(cells):
        net = reference_network(cell, TINY, 10, space)
        train = jax.jit(make_train(TINY, 10, network=net))
        key = pair_keys(np.array([[0, 0, 1][i]]))[0]
        ref = np.asarray(train(key, cell, 1.0, *splits(data, TINY)))
        np.testing.assert_allclose(result.metrics["valid_loss"][i], ref[:, 2], rtol=1e-3)
        assert result.flops[i] == network_cost(TINY, cell, (40, 1), 10, space)[1]
    assert result.flops[0] > result.flops[1] > result.flops[2]  # 3 convs, 1, 1 dead-input
    with pytest.raises(ValueError, match=r"shape \(n, 3\) for space tiny3"):
        train_cells(TINY, np.zeros((1, 6), int), [0], data, space=space)
    with pytest.raises(ValueError, match=r"op ids in 0..2 \(space tiny3\)"):
        train_cells(TINY, np.full((1, 3), 4), [0], data, space=space)


@pytest.mark.slow
def test_generate_table_and_compare(space, tmp_path):
    config = GenerateConfig(space="tiny3", preset="tiny", seeds=2, chunk=8)
    table = generate(tmp_path / "tiny3.h5", config, progress=False)
    assert table.done.all() and table.num_rows == 23
    reopened = Table.open(tmp_path / "tiny3.h5")
    assert reopened.attrs["space"] == "tiny3"
    for raw in range(27):  # every raw cell answers with its class's row
        assert reopened.lookup(raw, "valid_acc") == reopened.lookup(
            int(space.representatives[space.canonical(raw)]), "valid_acc"
        )
    config = CompareConfig(
        table=reopened, strategies=("random_search", "local_search"), seeds=3,
        budget="6evals", jobs=1, out=tmp_path / "out", progress=False,
    )  # fmt: skip
    results = compare(config).results
    assert set(results["strategy"]) == {"random_search", "local_search"}
    assert (results.groupby(["strategy", "seed"])["evals"].max() == 6).all()
    assert (results["regret"] >= 0).all() and (tmp_path / "out" / "report.md").is_file()
