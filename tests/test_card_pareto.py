"""Pareto fronts on the table card and the suite card: fronts checked against a brute-force
dominance test over every class, overlaps against direct set computations, a partially
measured latency reported as not measured, and the cards' sections."""

from __future__ import annotations

import numpy as np
import pytest

from nasbench_lite.cli import main
from nasbench_lite.compare import pareto
from nasbench_lite.search.objectives import Objective
from nasbench_lite.table import fronts
from nasbench_lite.table.card import write_card
from nasbench_lite.table.fronts import fronts_section, table_fronts, task_overlaps
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table

SEEDS, EPOCHS = 2, 2


def designed(classes, accuracy, costs, *, done=None, dead=(), attrs=None):
    """A table of `classes` (sorted) whose seed-mean final test accuracy is `accuracy` and
    whose per-class metrics are `costs` ({name: (n,)}); rows `dead` diverged in every seed,
    rows not `done` are untrained."""
    classes = np.asarray(classes)
    n = len(classes)
    done = np.ones(n, bool) if done is None else np.asarray(done, bool)
    diverged = np.zeros((n, SEEDS), bool)
    diverged[list(dead)] = True
    base = synthetic_table(classes=classes, seeds=SEEDS, epochs=EPOCHS, done=done,
                           diverged=diverged, attrs=attrs)  # fmt: skip
    arrays = {name: np.array(value) for name, value in base.arrays.items()}
    curve = np.broadcast_to(np.asarray(accuracy, np.float32)[:, None, None], (n, SEEDS, EPOCHS))
    curve = curve.copy()
    curve[~done] = np.nan
    curve[diverged] = np.nan
    arrays["metrics/test_acc"] = curve
    for name, values in costs.items():
        values = np.array(values)
        if values.dtype.kind != "f":
            values[~done] = 0  # the schema's fill for rows not done
        arrays[f"metrics/{name}"] = values
    return Table(arrays, base.attrs)


def brute_front(accuracy, cost) -> set[int]:
    """Indices i (finite values) no j is at least as good as in both and better in one."""
    ok = [i for i in range(len(accuracy)) if np.isfinite(accuracy[i]) and np.isfinite(cost[i])]
    out = set()
    for i in ok:
        if not any(accuracy[j] >= accuracy[i] and cost[j] <= cost[i]
                   and (accuracy[j] > accuracy[i] or cost[j] < cost[i]) for j in ok):  # fmt: skip
            out.add(i)
    return out


def random_table(rng, n=300, **kw):
    """Accuracy growing with cost, both coarse so that classes tie; some untrained and dead
    rows. The three costs agree only roughly, so their fronts differ."""
    classes = np.sort(rng.choice(5044, n, replace=False))
    level = rng.integers(1, 25, n)
    accuracy = np.clip(np.round(0.1 + 0.03 * level + rng.normal(0, 0.05, n), 2), 0, 1)
    costs = {"params": level * 100, "flops": (level + rng.integers(0, 4, n)) * 1000,
             "latency_b1": np.round(level * rng.uniform(0.8, 1.2, n), 1) * 1e-4}  # fmt: skip
    done = rng.random(n) > 0.1
    dead = np.flatnonzero(done)[:3]
    return designed(classes, accuracy, costs, done=done, dead=dead, **kw), classes


def truth(table, metric):
    """Brute-force front of `table` against `metric`: its class ids."""
    raws = table.row_raw[table.done]
    acc = np.asarray(table.values("test_acc", raws), np.float64)
    cost = np.asarray(table.values(metric, raws), np.float64)
    classes = np.asarray(table.space.canonical_ids)[raws]
    return {int(classes[i]) for i in brute_front(acc, cost)}, acc, cost


@pytest.mark.parametrize("seed", range(4))
def test_fronts_equal_the_brute_force_dominance_check(seed):
    table, _ = random_table(np.random.default_rng(seed))
    figures = table_fronts(table)
    assert figures["classes"] == int(table.done.sum()) - 3 and not figures["unmeasured"]
    assert list(figures["fronts"]) == ["params", "flops", "latency_b1"]
    assert any(f.size > f.points for f in figures["fronts"].values())  # ties on a front
    sizes = np.bincount(np.asarray(table.space.canonical_ids))
    for metric, front in figures["fronts"].items():
        expected, acc, cost = truth(table, metric)
        assert set(front.classes.tolist()) == expected and front.size == len(expected)
        assert (table.space.canonical_ids[front.raws] == front.classes).all()
        assert front.members.tolist() == sizes[front.classes].tolist()
        assert np.all(np.diff(front.cost) >= 0) and np.all(np.diff(front.accuracy) >= 0)
        # Its distinct points are the comparisons' true front (which keeps one of a tie).
        objectives = (Objective("valid_acc", "max"), Objective(metric, "min"))
        reference = pareto.ParetoReference.of_values(
            objectives, ("test_acc", metric), np.column_stack([acc, cost])
        )
        assert front.points == len(reference.front)
        assert set(zip(front.accuracy.tolist(), front.cost.tolist(), strict=True)) == {
            (float(a), float(c)) for a, c in reference.front}  # fmt: skip


def test_ties_stay_on_the_front_and_the_comparisons_keep_one():
    # Classes 0 and 1 tie on (0.9, 100); class 2 is dominated by them; 3 is cheapest.
    points = np.array([[-0.9, 100], [-0.9, 100], [-0.8, 100], [-0.5, 50]])
    assert fronts.nondominated(points, keep_equal=True).tolist() == [True, True, False, True]
    assert pareto.nondominated(points).tolist() == [True, False, False, True]
    table = designed([10, 20, 30, 40], [0.9, 0.9, 0.8, 0.5],
                     {"params": [100, 100, 100, 50], "flops": [1, 2, 3, 4]})  # fmt: skip
    front = table_fronts(table)["fronts"]["params"]
    assert front.classes.tolist() == [40, 10, 20] and (front.size, front.points) == (3, 2)


def test_overlaps_equal_direct_set_computations():
    table, _ = random_table(np.random.default_rng(7))
    figures = table_fronts(table)
    sets = {m: truth(table, m)[0] for m in ("params", "flops", "latency_b1")}
    expected = [(a, b, len(sets[a] & sets[b]), len(sets[a] | sets[b]))
                for a, b in (("params", "flops"), ("params", "latency_b1"),
                             ("flops", "latency_b1"))]  # fmt: skip
    assert figures["overlaps"] == expected
    # Two identical cost metrics give the same front: Jaccard 1.
    same = designed([1, 2, 3], [0.3, 0.6, 0.9], {"params": [1, 2, 3], "flops": [10, 20, 30]})
    assert table_fronts(same)["overlaps"] == [("params", "flops", 3, 3)]
    assert "| `params` | `flops` | 3 | 3 | 1.000 |" in "\n".join(fronts_section(same))


def test_a_partially_measured_latency_is_not_measured():
    rng = np.random.default_rng(3)
    n = 40
    done = np.arange(n) < 30
    b1 = rng.uniform(1e-4, 1e-3, n)
    b1[35] = np.nan  # an untrained row: does not matter
    b256 = rng.uniform(1e-2, 1e-1, n)
    b256[[3, 7, 35]] = np.nan  # two trained classes unmeasured
    table = designed(np.arange(0, 4 * n, 4), rng.uniform(0.1, 0.9, n),
                     {"params": rng.integers(1, 9, n) * 100, "flops": rng.integers(1, 9, n),
                      "latency_b256": b256, "latency_b1": b1}, done=done)  # fmt: skip
    figures = table_fronts(table)
    assert list(figures["fronts"]) == ["params", "flops", "latency_b1"]
    assert figures["unmeasured"] == {"latency_b256": (28, 30)}
    assert [o[:2] for o in figures["overlaps"]] == [
        ("params", "flops"),
        ("params", "latency_b1"),
        ("flops", "latency_b1"),
    ]
    text = "\n".join(fronts_section(table))
    assert "| `latency_b256` | not measured (28 of 30 classes) |" in text
    assert "Front against `latency_b256`" not in text and "Front against `latency_b1`" in text


def test_task_overlaps_over_common_classes():
    rng = np.random.default_rng(5)
    tables, values = {}, {}
    for name, classes in (("a", np.arange(0, 600, 2)), ("b", np.arange(200, 800, 2))):
        n = len(classes)
        level = (classes * 7919) % 23 + 1  # a class's costs are the same on both tasks
        acc = np.clip(np.round(0.1 + 0.03 * level + rng.normal(0, 0.05, n), 2), 0, 1)
        costs = {"params": level * 10, "flops": level * 100 + classes % 3}
        if name == "a":
            costs["latency_b1"] = rng.uniform(1e-4, 1e-3, n)
        tables[name] = designed(classes, acc, costs)
        values[name] = {"classes": classes, "acc": acc, **costs}
    rows = task_overlaps(tables)
    assert [(r["metric"], r["a"], r["b"]) for r in rows] == [
        ("params", "a", "b"),
        ("flops", "a", "b"),
        ("latency_b1", "a", "b"),
    ]
    assert rows[2] == {"metric": "latency_b1", "a": "a", "b": "b", "unmeasured": ["b"]}
    common = sorted(set(values["a"]["classes"]) & set(values["b"]["classes"]))
    for row in rows[:2]:
        on = {}
        for name in ("a", "b"):
            v = values[name]
            keep = np.isin(v["classes"], common)
            acc = v["acc"].astype(np.float32)[keep].astype(np.float64)
            on[name] = {
                int(v["classes"][keep][i]) for i in brute_front(acc, v[row["metric"]][keep])
            }
        assert row["common"] == len(common) == 200
        assert (row["front_a"], row["front_b"]) == (len(on["a"]), len(on["b"]))
        assert row["shared"] == len(on["a"] & on["b"]) and row["either"] == len(on["a"] | on["b"])
        assert min(len(on["a"]), len(on["b"])) >= 5 and 0 < row["shared"] < row["either"]


def test_cards_show_the_sections(tmp_path, capsys):
    table, _ = random_table(np.random.default_rng(1), attrs={"dataset": "a"})
    table.write(tmp_path / "t.h5")
    md, _ = write_card(tmp_path / "t.h5", tmp_path / "card.md")
    text = md.read_text()
    figures = table_fronts(table)
    assert "## Pareto fronts" in text
    assert text.index("## Pareto fronts") < text.index("## Training time")
    for metric, f in figures["fronts"].items():
        assert f"| `{metric}` | {f.size:,} | {f.points:,} | {int(f.members.sum()):,} |" in text
        assert f"Front against `{metric}`, cheapest first:" in text
    other = designed(np.arange(0, 5044, 3), np.linspace(0.1, 0.9, len(range(0, 5044, 3))),
                     {"params": np.arange(len(range(0, 5044, 3))) % 7 + 1,
                      "flops": np.arange(len(range(0, 5044, 3))) % 5 + 1},
                     attrs={"dataset": "b"})  # fmt: skip
    other.write(tmp_path / "u.h5")
    out = tmp_path / "suite.md"
    assert main(["suite-card", "--tasks", str(tmp_path / "t.h5"), str(tmp_path / "u.h5"),
                 "--out", str(out)]) == 0  # fmt: skip
    suite = out.read_text()
    assert "## Agreement between tasks" in suite and "## Pareto fronts across tasks" in suite
    assert "| `latency_b1` | " in suite and "not measured on " in suite


def test_without_moocore_the_card_says_why(monkeypatch):
    from nasbench_lite.extras import MissingExtra

    def missing(*args, **kw):
        raise MissingExtra("needs moocore")

    monkeypatch.setattr(fronts, "nondominated", missing)
    table = designed([1, 2, 3], [0.3, 0.6, 0.9], {"params": [1, 2, 3], "flops": [1, 2, 3]})
    assert fronts_section(table)[2] == "Not computed here: needs moocore."
