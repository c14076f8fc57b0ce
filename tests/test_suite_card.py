"""The suite card: per-pair agreement checked against scipy on the classes two tables share,
and the command's output and errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nasbench_lite.cli import main
from nasbench_lite.table.suite_card import final_means, pair_figures, suite_figures
from nasbench_lite.table.synthetic import synthetic_table


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("suite")
    out = {}
    for k, (name, done) in enumerate((("a", None), ("b", 3000))):
        path = folder / f"{name}.h5"
        synthetic_table(path, epochs=2, rng=k, done=done, attrs={"dataset": name})
        out[name] = path
    return out


def test_final_means_are_the_seed_means_of_done_classes(tables):
    from nasbench_lite.table import Table

    table = Table.open(tables["b"])
    means = final_means(table)
    assert len(means) == int(table.done.sum()) == 3000
    # Every class at once, from the raw arrays: the seed mean of the final test accuracy of
    # each done row, keyed by the class of the row's cell.
    done = np.flatnonzero(table.done)
    expected = np.nanmean(table.metric("test_acc")[done, :, -1].astype(np.float64), axis=1)
    classes = np.asarray(table.space.canonical_ids)[table.row_raw[done]]
    assert sorted(means) == sorted(classes.tolist())
    got = np.array([means[int(c)] for c in classes])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_pair_figures_brute_force():
    rng = np.random.default_rng(0)
    a = {c: float(v) for c, v in zip(range(0, 400), rng.random(400), strict=True)}
    b = {c: float(v) for c, v in zip(range(100, 600), rng.random(500), strict=True)}
    b.update({c: a[c] + 0.01 * rng.random() for c in range(100, 200)})  # agree on some
    a[5] = 1.5  # a's best class, not on b
    got = pair_figures(a, b)
    common = sorted(set(a) & set(b))
    x, y = np.array([a[c] for c in common]), np.array([b[c] for c in common])
    assert got["classes"] == len(common) == 300
    assert got["spearman_all"] == pytest.approx(stats.spearmanr(x, y)[0])
    assert got["kendall_all"] == pytest.approx(stats.kendalltau(x, y)[0])
    top = np.argsort(-x)[:30]
    assert got["kendall_top"] == pytest.approx(stats.kendalltau(x[top], y[top])[0])
    assert got["spearman_top"] == pytest.approx(stats.spearmanr(x[top], y[top])[0])
    half = np.argsort(-x)[:150]
    assert got["spearman_half"] == pytest.approx(stats.spearmanr(x[half], y[half])[0])
    assert got["kendall_half"] == pytest.approx(stats.kendalltau(x[half], y[half])[0])
    # a's best class is not on b: no percentile, never another class's in its place.
    best = max(a, key=a.get)
    assert best not in b and got["best_percentile_on_other"] is None
    b[best] = 0.5
    again = pair_figures(a, b)
    y = np.array([b[c] for c in sorted(set(a) & set(b))])
    assert again["best_percentile_on_other"] == pytest.approx(np.mean(y >= 0.5))
    same = pair_figures(a, a)
    assert same["spearman_top"] == pytest.approx(1.0) and same["best_percentile_on_other"] == (
        1 / len(a))  # fmt: skip
    assert pair_figures(a, {1: 0.5, 2: 0.6}) == {"classes": 2}


def test_half_spearman_interval_brute_force():
    from nasbench_lite.table.suite_card import half_spearman_interval

    rng = np.random.default_rng(3)
    x = rng.random(61)
    y = 0.5 * x + rng.random(61)
    y[:5] = y[5]  # ties in y
    low, high = half_spearman_interval(x, y, draws=200, seed=7)
    picks = np.random.default_rng(7).integers(0, 61, size=(200, 61))
    rho = []
    for sub in picks:
        top = sub[np.argsort(-x[sub], kind="stable")[:30]]
        rho.append(stats.spearmanr(x[top], y[top])[0])
    assert (low, high) == pytest.approx(tuple(np.percentile(rho, [2.5, 97.5])))
    point = stats.spearmanr(x[np.argsort(-x)[:30]], y[np.argsort(-x)[:30]])[0]
    assert low < point < high and high - low < 1
    # More classes, a narrower interval.
    xs = rng.random(2000)
    ys = 0.5 * xs + rng.random(2000)
    wide, narrow = half_spearman_interval(xs[:60], ys[:60]), half_spearman_interval(xs, ys)
    assert narrow[1] - narrow[0] < (wide[1] - wide[0]) / 3
    assert np.isnan(half_spearman_interval(np.arange(4.0), np.ones(4))[0])


def test_suite_card_command(tables, tmp_path, capsys):
    out = tmp_path / "card.md"
    assert main(["suite-card", "--tasks", str(tables["a"]), str(tables["b"]), "--out",
                 str(out)]) == 0  # fmt: skip
    text = out.read_text()
    assert "| a-synthetic | b-synthetic | 3,000 |" in text
    assert "3,000 of 5,044" in text and "## Agreement between tasks" in text
    assert main(["suite-card", "--tasks", str(tables["a"]), "--out", str(out)]) == 2
    assert "at least two tasks" in capsys.readouterr().err
    assert main(["suite-card", "--tasks", str(tables["a"]), str(tables["b"]), "--out",
                 str(tmp_path / "missing" / "card.md")]) == 2  # fmt: skip
    assert "existing directory" in capsys.readouterr().err


def test_suite_figures_keys(tables):
    from nasbench_lite.table import Table

    figures = suite_figures({k: Table.open(v) for k, v in tables.items()})
    assert set(figures["pairs"]) == {("a", "b"), ("b", "a")}
    assert figures["tasks"]["b"]["classes"] == 3000


def test_suite_card_without_tasks_names_the_tables_not_generated(tables, tmp_path, monkeypatch):
    from nasbench_lite.table import shipped

    data = tmp_path / "data"
    data.mkdir()
    names = list(shipped.TASK_TABLES.values())
    for name, source in zip(names[:2], (tables["a"], tables["b"]), strict=True):
        (data / name).write_bytes(source.read_bytes())
    monkeypatch.setattr(shipped, "DATA_DIR", data)
    out = tmp_path / "card.md"
    assert main(["suite-card", "--out", str(out)]) == 0
    text = out.read_text()
    later = [f"{t} (`{f}`)" for t, f in shipped.TASK_TABLES.items() if f not in names[:2]]
    assert later and "Not generated yet: " + ", ".join(later) + "." in text
