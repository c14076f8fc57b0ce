"""Zero-cost proxies as surrogate features: recorded in the model, saved and read back, and
refused (one line) where a table lacks them; an informative proxy must help the ranking."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import check_saved_columns

from nasbench_lite.surrogate import Surrogate, SurrogateConfig, SurrogateError
from nasbench_lite.surrogate.features import PROXY_FILE, proxy_columns, table_identity
from nasbench_lite.surrogate.quality import evaluate
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table

FAST = SurrogateConfig(members=2, folds=2, grid=({"max_depth": 4, "learning_rate": 0.3},),
                       features=("onehot",))  # fmt: skip


def with_proxies(table: Table) -> Table:
    """`table` plus synflow = the seed's final test accuracy (an oracle no cell encoding
    matches) and jacov = noise, with one row left uncomputed."""
    rng = np.random.default_rng(1)
    test = np.asarray(table.metric("test_acc")[:, :, -1], np.float64)
    arrays = dict(table.arrays)
    arrays["metrics/proxy_synflow"] = 1e6 * test  # spans orders of magnitude after the log
    arrays["metrics/proxy_jacov"] = -rng.random(test.shape)
    arrays["metrics/proxy_jacov"][0] = np.nan
    return Table(arrays, {**table.attrs, "proxies": {"cpu_seconds": 1.0}}, "with-proxies")


@pytest.fixture(scope="module")
def plain() -> Table:
    return synthetic_table(rows=400, seeds=2, epochs=2, rng=2)


@pytest.fixture(scope="module")
def table(plain) -> Table:
    return with_proxies(plain)


@pytest.fixture(scope="module")
def model(table) -> Surrogate:
    config = dataclasses.replace(FAST, proxies=("synflow", "jacov"))
    return Surrogate.fit(table, 0.25, seed=0, config=config)


@pytest.fixture(scope="module")
def plain_model(plain) -> Surrogate:
    return Surrogate.fit(plain, 0.25, seed=0, config=FAST)


def test_proxy_columns_are_the_seed_means_by_class(table):
    columns = proxy_columns(table, ("synflow", "jacov"))
    classes = np.asarray(table.space.canonical_ids)[table.row_raw]
    mean = table.metric("proxy_synflow").mean(axis=1)
    np.testing.assert_allclose(columns[classes, 0], np.log1p(mean), rtol=1e-6)
    assert np.isnan(columns[classes[0], 1])  # uncomputed: missing
    others = np.setdiff1d(np.arange(table.space.num_unique), classes)
    assert np.isnan(columns[others]).all()  # classes not in the table
    assert columns.dtype == np.float32


def test_the_model_records_its_proxies_and_round_trips(model, tmp_path):
    assert model.meta["config"]["proxies"] == ["synflow", "jacov"]
    check_saved_columns(model, tmp_path / "m", PROXY_FILE, "proxy_features", "proxy")


def test_an_informative_proxy_raises_the_ranking(model, plain_model, table):
    with_proxy = evaluate(model, table, "test_acc")["kendall"]
    without = evaluate(plain_model, table, "test_acc")["kendall"]
    assert with_proxy > without + 0.05


def test_features_of_no_group_are_empty(table):
    from nasbench_lite.surrogate.features import features

    assert features(table, table.row_raw[:5], ()).shape == (5, 0)


def test_a_table_without_the_proxies_is_refused_in_one_line(plain):
    # A model's record, as `fit` writes it (no boosters needed to check a table).
    meta = {"table": table_identity(plain), "config": {"proxies": ["synflow"]}}
    model = Surrogate({}, meta)
    config = dataclasses.replace(FAST, proxies=("synflow",))
    with pytest.raises(SurrogateError) as err:
        Surrogate.fit(plain, 0.25, config=config)
    assert "proxy_synflow" in str(err.value) and "nasbench-lite proxies" in str(err.value)
    for call in (model.check_table, lambda t: evaluate(model, t)):
        with pytest.raises(SurrogateError) as err:
            call(plain)
        message = str(err.value)
        assert "\n" not in message and "synflow" in message and str(plain.source) in message
    with pytest.raises(SurrogateError, match="unknown proxies"):
        Surrogate.fit(plain, 0.25, config=dataclasses.replace(FAST, proxies=("params",)))


def test_a_model_without_proxies_is_unchanged(plain_model, plain, tmp_path):
    model = plain_model
    assert model.proxy_features is None and model.meta["config"]["proxies"] == []
    path = model.save(tmp_path / "m")
    assert not (path / PROXY_FILE).exists()
    assert Surrogate.load(path).proxy_features is None
    model.check_table(with_proxies(plain))  # a table with proxies is fine too
