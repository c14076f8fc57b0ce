"""The blackbox objective: what it answers on a table, a table file, the tabular and the
surrogate backends; its own seeded generator; its errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_table

import nasbench_lite as nbl
from nasbench_lite.adapters.objective import KEYS
from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.errors import InputError

CELL = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "skip_connect~2|"
)


@pytest.fixture(scope="module")
def table3():
    return synthetic_table(epochs=3)


def test_answers_one_seed_of_the_table(table3, space):
    f = nbl.objective(table3, seed=0)
    config = space.raw_to_config(11791)
    seen = set()
    for _ in range(30):
        out = f(config, epochs=2)
        assert list(out) == [*KEYS, *table3.metrics] == [*KEYS, *f.metrics]
        assert (out["raw"], out["epoch"]) == (11791, 2)
        expected = table3.query(11791, epoch=2, seed=out["seed"])
        for k in table3.metrics:
            assert out[k] == pytest.approx(expected[k], rel=1e-6), k
        seen.add(out["seed"])
    assert seen == {0, 1, 2}  # noise: every training seed comes up
    final = f(CELL)
    assert final["epoch"] == 3 and final["train_seconds"] > out["train_seconds"] * 1.2
    import json

    plain = f(config, epochs=np.int64(2))  # plain Python numbers: a logger can dump them
    assert json.loads(json.dumps(plain))["epoch"] == 2
    assert all(not isinstance(v, np.generic) for v in plain.values())


def test_seeded_like_the_tabular_backend(table3, tmp_path):
    raws = [int(r) for r in np.random.default_rng(0).integers(0, 15625, 50)]
    path = tmp_path / "t.h5"
    table3.write(path)
    answers = []
    for source, seed in ((table3, 1), (path, 1), (TabularBenchmark(table3), 1), (table3, 2)):
        f = nbl.objective(source, seed=seed)
        answers.append([f(raw)["valid_acc"] for raw in raws])
    assert answers[0] == answers[1] == answers[2]  # same seed, any source: same answers
    assert answers[0] != answers[3]  # another seed, other draws
    # The draw is the tabular backend's: the same generator seed gives the same answers.
    bench, rng = TabularBenchmark(table3), np.random.default_rng(1)
    assert answers[0] == [bench.evaluate(raw, rng).valid_acc for raw in raws]


def test_on_the_surrogate_backend():
    from nasbench_lite.surrogate.model import Surrogate, SurrogateConfig

    table = synthetic_table(epochs=3, classes=np.arange(0, 5044, 12))
    fast = SurrogateConfig(members=2, folds=2, grid=({"max_depth": 3, "learning_rate": 0.3},))
    model = Surrogate.fit(table, train_fraction=0.5, seed=0, config=fast)
    f = nbl.objective(nbl.make_benchmark("surrogate", model=model), seed=0)
    out = f(CELL)
    assert list(out)[:3] == list(KEYS) and out["epoch"] == 3 and len(out["seed"]) == 2
    assert "valid_loss" not in out  # the surrogate does not model losses
    # params and flops are counted from the space and the model's network: exact.
    meta = model.meta["table"]
    config = nbl.TrainConfig.from_dict(meta["train_config"])
    shape, classes = tuple(meta["input_shape"]), meta["num_classes"]
    for raw in (out["raw"], 0, 15624):
        expected = nbl.train.network_cost(config, model.space.cell(raw), shape, classes)
        assert (f(raw)["params"], f(raw)["flops"]) == expected
    assert 0.0 <= out["valid_acc"] <= 1.0 and out["train_seconds"] > 0
    mean, std = model.predict([out["raw"]], None, "valid_acc")
    assert abs(out["valid_acc"] - mean[0]) < 6 * std[0] + 1e-9
    assert f(CELL)["valid_acc"] != out["valid_acc"]  # a fresh noisy draw
    assert f(CELL)["train_seconds"] == out["train_seconds"]  # the predicted mean cost
    early = f(CELL, epochs=1)
    assert early["train_seconds"] == pytest.approx(out["train_seconds"] / 3)
    quiet = nbl.objective(nbl.make_benchmark("surrogate", model=model, noise=False), seed=0)
    assert quiet(CELL)["valid_acc"] == quiet(CELL)["valid_acc"] == pytest.approx(mean[0])


def test_bad_sources_and_inputs(table3):
    with pytest.raises(InputError, match="objective needs a Table, .* got int"):
        nbl.objective(3)
    with pytest.raises(InputError, match=r"'surrogat': neither a table file nor a backend \("):
        nbl.objective("surrogat")
    f = nbl.objective(table3, seed=0)
    with pytest.raises(InputError, match="epoch 9 of raw cell 0 is not in 1..3"):
        f(0, epochs=9)
    # A float budget of whole epochs (SMAC, DEHB) is that many epochs; a fraction is refused.
    assert f(0, epochs=3.0)["epoch"] == 3 == f(0, epochs=np.float64(3))["epoch"]
    assert f(0, epochs=np.float32(2.0))["epoch"] == 2
    with pytest.raises(InputError, match="epochs 2.5: must be a whole number of epochs"):
        f(0, epochs=2.5)
    with pytest.raises(InputError, match="missing edge '3<-2'"):
        f({"1<-0": "none", "2<-0": "none", "2<-1": "none", "3<-0": "none", "3<-1": "none"})
    with pytest.raises(InputError, match="is not available in table"):
        nbl.objective(synthetic_table(done=np.arange(5044) < 3))(CELL)


@pytest.mark.slow
def test_on_the_live_backend():
    from nasbench_lite.backends.live import LiveBenchmark
    from nasbench_lite.datasets import load_dataset

    data = load_dataset("mnist1d").take(256, 128, 128)
    f = nbl.objective(LiveBenchmark("tiny", data), seed=0)
    out = f(CELL, epochs=1)
    assert list(out)[:3] == list(KEYS) and out["raw"] == nbl.get_space("nb201").to_raw(CELL)
    assert out["epoch"] == 1 and 0 <= out["valid_acc"] <= 1 and out["train_seconds"] > 0
    assert np.isfinite(out["valid_loss"]) and out["params"] > 0 and isinstance(out["seed"], int)
    again = nbl.objective(LiveBenchmark("tiny", data), seed=0)(CELL, epochs=1)
    assert again["seed"] == out["seed"]  # the run's training seed comes from the generator
    assert again["valid_acc"] == pytest.approx(out["valid_acc"], abs=1e-6)
