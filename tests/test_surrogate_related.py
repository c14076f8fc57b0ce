"""Related tasks as surrogate features: each class's final validation accuracy on another
task's table. Recorded in the model, saved and read back; a table of the same task and
recipe, or of another space, is refused in one line; an informative related task must help
the ranking when only a few classes of the new task are known."""

from __future__ import annotations

import types

import numpy as np
import pytest
from conftest import check_saved_columns

from nasbench_lite.cli import main
from nasbench_lite.surrogate import Surrogate, SurrogateConfig, SurrogateError
from nasbench_lite.surrogate.quality import evaluate
from nasbench_lite.surrogate.related import RELATED_FILE, related_columns
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table

FAST = SurrogateConfig(members=2, folds=2, grid=({"max_depth": 4, "learning_rate": 0.3},),
                       features=("onehot",))  # fmt: skip


@pytest.fixture(scope="module")
def target() -> Table:
    return synthetic_table(rows=600, seeds=2, epochs=2, rng=3)


def other_task(table: Table, undone: int = 0) -> Table:
    """Another task's table of the same classes: its validation accuracy is a monotone map of
    `table`'s seed-mean final test accuracy plus a little noise (a related task), on another
    dataset; the first `undone` rows not trained (NaN)."""
    rng = np.random.default_rng(7)
    truth = np.asarray(table.metric("test_acc")[:, :, -1], np.float64).mean(axis=1)
    valid = (
        0.2
        + 0.6 * truth[:, None, None]
        + 0.01 * rng.standard_normal(table.metric("valid_acc").shape)
    )
    valid[:undone] = np.nan
    arrays = {**table.arrays, "metrics/valid_acc": valid.astype(np.float32)}
    done = np.asarray(table.done).copy()
    done[:undone] = False
    arrays["status/done"] = done
    return Table(arrays, {**table.attrs, "dataset": "mnist1d_v2"}, "other-task.h5")


@pytest.fixture(scope="module")
def related(target) -> Table:
    return other_task(target, undone=20)


@pytest.fixture(scope="module")
def model(target, related) -> Surrogate:
    return Surrogate.fit(target, 0.05, seed=0, config=FAST, related=[related])


def test_related_columns_are_the_final_validation_seed_means_by_class(target, related):
    columns = related_columns(target, [related])
    assert columns.shape == (target.space.num_unique, 1) and columns.dtype == np.float32
    classes = np.asarray(target.space.canonical_ids)[related.row_raw]
    mean = np.asarray(related.metric("valid_acc")[:, :, -1], np.float64).mean(axis=1)
    np.testing.assert_allclose(columns[classes[20:], 0], mean[20:], rtol=1e-6)
    assert np.isnan(columns[classes[:20], 0]).all()  # not trained there: missing
    others = np.setdiff1d(np.arange(target.space.num_unique), classes)
    assert np.isnan(columns[others]).all()  # classes the related table has no row for


def test_an_informative_related_task_raises_the_ranking(model, target):
    alone = Surrogate.fit(target, 0.05, seed=0, config=FAST)
    with_related = evaluate(model, target, "test_acc")["kendall"]
    without = evaluate(alone, target, "test_acc")["kendall"]
    assert with_related > without + 0.2


def test_the_blend_leans_on_an_informative_task_and_away_from_noise(model, target):
    assert model.meta["related_prior"]["valid_acc"]["weight"] <= 0.3
    line = model.meta["related_prior"]["test_acc"]["lines"]["1"]
    assert line[1] == pytest.approx(1 / 0.6, rel=0.1)  # test = (valid there - 0.2) / 0.6
    noise = other_task(target)
    rng = np.random.default_rng(0)
    arrays = {**noise.arrays, "metrics/valid_acc": rng.random(noise.metric("valid_acc").shape)}
    noise = Table(arrays, noise.attrs, "noise-task.h5")
    blind = Surrogate.fit(target, 0.05, seed=0, config=FAST, related=[noise])
    alone = Surrogate.fit(target, 0.05, seed=0, config=FAST)
    # Noise gets a flat line: blending with it only shrinks towards the mean, and the
    # ranking stays the model's.
    assert abs(blind.meta["related_prior"]["test_acc"]["lines"]["1"][1]) < 0.2
    tau = evaluate(blind, target, "test_acc")["kendall"]
    assert tau > evaluate(alone, target, "test_acc")["kendall"] - 0.03


def test_classes_a_related_table_lacks_keep_the_models_prediction(model, related, target):
    alone = Surrogate({**model.boosters}, {**model.meta, "related": []}, model.proxy_features)
    missing = np.asarray(target.row_raw)[:20]  # the rows the related table has not trained
    for epoch in (1, 2):
        np.testing.assert_array_equal(model.predict(missing, epoch)[0],
                                      alone.predict(missing, epoch)[0])  # fmt: skip
    trained = np.asarray(target.row_raw)[20:40]
    assert not np.array_equal(model.predict(trained)[0], alone.predict(trained)[0])


def test_a_class_one_related_table_lacks_is_placed_by_the_other(target, related):
    from nasbench_lite.surrogate.related import apply_lines, fit_lines

    both = Surrogate.fit(target, 0.05, seed=0, config=FAST, related=[related, other_task(target)])
    lines = both.meta["related_prior"]["valid_acc"]["lines"]
    assert set(lines) == {"10", "01", "11"}
    columns = both.related_features
    lacking = np.asarray(target.space.canonical_ids)[np.asarray(target.row_raw)[:20]]
    assert np.isnan(columns[lacking, 0]).all() and np.isfinite(columns[lacking, 1]).all()
    np.testing.assert_allclose(
        apply_lines(lines, columns[lacking]),
        lines["01"][0] + lines["01"][1] * columns[lacking, 1].astype(np.float64),
    )
    # Brute force: each subset's line is least squares over the classes that have it.
    rng = np.random.default_rng(3)
    x = rng.random((40, 2))
    x[:10, 0] = np.nan
    y = 0.3 + 0.5 * np.nan_to_num(x[:, 0], nan=0.4) + 0.2 * x[:, 1]
    fitted = fit_lines(x, y)
    keep = np.isfinite(x[:, 0])
    expected = np.linalg.lstsq(np.column_stack([np.ones(30), x[keep]]), y[keep], rcond=None)[0]
    np.testing.assert_allclose(fitted["11"], expected)
    # One column alone: over every class that has that column (all 40 for the second, the
    # 30 with the first), not only those that have both.
    only_1 = np.linalg.lstsq(np.column_stack([np.ones(40), x[:, 1]]), y, rcond=None)[0]
    np.testing.assert_allclose(fitted["01"], only_1)
    only_0 = np.linalg.lstsq(np.column_stack([np.ones(30), x[keep, 0]]), y[keep], rcond=None)[0]
    np.testing.assert_allclose(fitted["10"], only_0)
    assert np.isnan(apply_lines(fitted, np.array([[np.nan, np.nan]]))).all()


def test_the_spread_at_an_early_epoch_is_that_epochs(model, target):
    import xgboost as xgb

    from nasbench_lite.surrogate.features import features

    raws = np.asarray(target.row_raw)[:30]
    x = features(model.meta["table"], raws, tuple(model.meta["config"]["features"]))
    data = xgb.DMatrix(np.concatenate([x, np.full((30, 1), 0.5, np.float32)], axis=1))
    noise = np.clip(model.boosters["valid_acc/noise/0"].predict(data), 0.0, None)
    mean, std = model.predict(raws, epoch=1)
    members = np.stack([model.boosters[f"valid_acc/mean/{m}"].predict(data) for m in range(2)])
    # Each member's curve ends where its final-epoch booster says: shifted alike.
    end = xgb.DMatrix(np.concatenate([x, np.ones((30, 1), np.float32)], axis=1))
    members = members + np.stack([
        model.boosters[f"valid_acc/final/{m}"].predict(xgb.DMatrix(x))
        - model.boosters[f"valid_acc/mean/{m}"].predict(end) for m in range(2)])  # fmt: skip
    # The interval: the seed noise and the cell's own out-of-fold error at that epoch.
    miss = np.clip(model.boosters["valid_acc/error/0"].predict(data), 0.0, None)
    expected = np.sqrt(noise.astype(np.float64) ** 2 + miss.astype(np.float64) ** 2)
    np.testing.assert_allclose(std, expected, rtol=1e-6)
    assert np.ptp(miss) > 0  # cell by cell, not one error for all
    # A model saved before the error model: the ensemble's spread, the noise and the epoch's
    # one out-of-fold error, in quadrature.
    boosters = {k: v for k, v in model.boosters.items() if "/error/" not in k}
    with pytest.raises(SurrogateError, match="lacks its valid_acc error model: refit it"):
        type(model)(boosters, model.meta, model.proxy_features, model.related_features).predict(
            raws
        )  # a format-4 model that lost it
    meta = {**model.meta, "format_version": 3}
    legacy = type(model)(boosters, meta, model.proxy_features, model.related_features)
    error = model.meta["error_std"]["valid_acc"][0]
    expected = np.sqrt(members.astype(np.float64).var(axis=0) + noise.astype(np.float64) ** 2
                       + error**2)  # fmt: skip
    np.testing.assert_allclose(legacy.predict(raws, epoch=1)[1], expected, rtol=1e-6)


def test_predicted_curves_still_rise_with_the_epoch(model, target):
    raws = np.arange(0, target.space.num_cells, 11)
    first, last = model.predict(raws, epoch=1)[0], model.predict(raws, epoch=2)[0]
    assert (last >= first - 1e-9).all() and (last > first).any()


def test_the_model_records_its_related_tasks_and_round_trips(model, tmp_path):
    assert [r["dataset"] for r in model.meta["related"]] == ["mnist1d_v2"]
    assert model.meta["related"][0]["rows_done"] == 580
    assert "related tasks ['mnist1d_v2']" in repr(model)
    path = tmp_path / "m"
    check_saved_columns(model, path, RELATED_FILE, "related_features", "related-task")
    (path / RELATED_FILE).unlink()
    with pytest.raises(SurrogateError, match=RELATED_FILE):
        Surrogate.load(path)


def test_a_model_without_related_tasks_saves_no_related_file(target, tmp_path):
    model = Surrogate.fit(target, 0.05, seed=0, config=FAST)
    assert model.related_features is None and model.meta["related"] == []
    path = model.save(tmp_path / "m")
    assert not (path / RELATED_FILE).exists()
    assert Surrogate.load(path).related_features is None


def test_the_same_task_or_another_space_is_refused_in_one_line(target):
    with pytest.raises(SurrogateError) as err:
        Surrogate.fit(target, 0.05, config=FAST, related=[target])
    assert "same task" in str(err.value) and "\n" not in str(err.value)
    # The same task whose config also spells out a recording-only field: still the same task.
    config = {**target.attrs["config"], "test_every_epoch": True}
    spelled = Table(target.arrays, {**target.attrs, "config": config}, "spelled.h5")
    with pytest.raises(SurrogateError, match="spelled.h5 measured the same task"):
        related_columns(target, [spelled])
    foreign = types.SimpleNamespace(space=types.SimpleNamespace(name="plugged3"), source="p.h5")
    with pytest.raises(SurrogateError) as err:
        Surrogate.fit(target, 0.05, config=FAST, related=[foreign])
    message = str(err.value)
    assert "p.h5" in message and "plugged3" in message and "\n" not in message


def test_cli_fit_takes_related_tables_and_eval_refuses_them(target, related, tmp_path, capsys):
    target_path, related_path = tmp_path / "target.h5", tmp_path / "related.h5"
    target.write(target_path)
    related.write(related_path)
    out = tmp_path / "model"
    code = main(["surrogate", "fit", "--table", str(target_path), "--related",
                 str(related_path), "--train-fraction", "0.05", "--out", str(out)])  # fmt: skip
    assert code == 0
    assert "related tasks ['mnist1d_v2']" in capsys.readouterr().out
    assert Surrogate.load(out).meta["related"][0]["source"] == str(related_path)
    code = main(["surrogate", "eval", "--table", str(target_path), "--model", str(out),
                 "--related", str(related_path)])  # fmt: skip
    assert code != 0
    assert "--related: for surrogate fit; eval ignores it" in capsys.readouterr().err
