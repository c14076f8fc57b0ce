"""benchmarks/proxies_report.py across tasks: each proxy's Spearman on every task, side by
side, and its rank on each, checked on made-up tables whose proxies have known rankings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("proxies_report",
                                               ROOT / "benchmarks/proxies_report.py")  # fmt: skip
report = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(report)


def _with_proxies(table: Table, proxies: dict[str, np.ndarray], done=None) -> Table:
    """`table` plus per-pair metrics proxy_<name> (rows, seeds) and proxies/done."""
    arrays = dict(table.arrays)
    for name, values in proxies.items():
        arrays[f"metrics/proxy_{name}"] = np.asarray(values, np.float32)
    rows = table.num_rows
    arrays["proxies/done"] = np.ones(rows, bool) if done is None else done
    return Table(arrays, table.attrs, source=f"/somewhere/{table.attrs['dataset']}.h5")


def _tables(rng):
    """Two tasks: on "a" the proxy `up` follows the accuracy exactly and `down` reverses it;
    on "b" the other way round; `noise` is random on both. "b" holds its proxies for half the
    rows only."""
    out = []
    for label, sign in (("a", 1.0), ("b", -1.0)):
        table = synthetic_table(rows=60, seeds=2, epochs=3, rng=rng,
                                attrs={"dataset": label})  # fmt: skip
        valid = np.nanmean(table.metric("valid_acc")[:, :, -1], axis=1)
        seeds = np.stack([valid, valid], axis=1)
        done = np.ones(table.num_rows, bool) if label == "a" else np.arange(table.num_rows) % 2 == 0
        proxies = {"up": sign * seeds, "down": -sign * seeds,
                   "noise": rng.normal(size=seeds.shape)}  # fmt: skip
        out.append((label, _with_proxies(table, proxies, done)))
    return out


def _row(section: str, name: str) -> list[str]:
    line = next(line for line in section.splitlines() if line.startswith(f"| {name} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_across_tasks_gives_each_proxys_spearman_and_rank_per_task():
    rng = np.random.default_rng(7)
    tables = _tables(rng)
    section = report.tasks_report(tables)
    assert section.startswith(report.TASKS_START) and section.endswith(report.TASKS_END)
    up, down = _row(section, "up"), _row(section, "down")
    assert up[1].startswith("+1.000 /") and up[2].startswith("-1.000 /")
    assert down[1].startswith("-1.000 /") and down[2].startswith("+1.000 /")
    # The noise proxy's figure on "b" is computed over the rows holding proxies only.
    b = tables[1][1]
    rows = np.flatnonzero(np.asarray(b.arrays["proxies/done"]))
    valid = np.nanmean(b.metric("valid_acc")[rows, :, -1], axis=1)
    noise = b.metric("proxy_noise")[rows].mean(axis=1)
    rho = stats.spearmanr(noise, valid)[0]
    assert _row(section, "noise")[2].startswith(f"{rho:+.3f}")
    # Ranks by Spearman over all classes, brute force over every proxy row of each task.
    names = ["up", "down", "noise", "params", "flops"]
    for column, (_, table) in enumerate(tables):
        rows = np.flatnonzero(table.done & np.asarray(table.arrays["proxies/done"]))
        valid = np.nanmean(table.metric("valid_acc")[rows, :, -1], axis=1)
        rhos = {}
        for name in names:
            metric = table.metric(name if name in ("params", "flops") else f"proxy_{name}")[rows]
            score = metric.mean(axis=1) if metric.ndim == 2 else metric
            rhos[name] = stats.spearmanr(score, valid)[0]
        for name in names:
            expected = 1 + sum(rhos[other] > rhos[name] for other in names)
            assert int(_row(section, name)[-1].split(", ")[column]) == expected
    assert "`b`: `b.h5`, 60 of 60 classes trained, 30 with proxies; compared over 30" in section


def test_across_tasks_refuses_a_table_without_proxies():
    table = synthetic_table(rows=10, seeds=2, epochs=2, rng=0, attrs={"dataset": "c"})
    with pytest.raises(SystemExit, match="c: no proxies"):
        report.tasks_report([("c", table)])


def test_the_section_replaces_only_its_own_markers(tmp_path):
    out = tmp_path / "doc.md"
    out.write_text(f"intro\n{report.START}\nold one\n{report.END}\nmid\n"
                   f"{report.TASKS_START}\nold tasks\n{report.TASKS_END}\nend\n")  # fmt: skip
    report._write(out, f"{report.TASKS_START}\nnew\n{report.TASKS_END}",
                  report.TASKS_START, report.TASKS_END)  # fmt: skip
    text = out.read_text()
    assert "old one" in text and "old tasks" not in text and "\nnew\n" in text
    assert text.startswith("intro\n") and text.endswith("end\n")


def test_a_failed_proxy_ranks_last_and_is_counted():
    """A class whose proxy is NaN or infinite at an init seed ranks last; it is counted among
    the compared classes and named as failed, never dropped (dropping flatters a proxy)."""
    import numpy as np

    from nasbench_lite.table.proxy_stats import failed_line, proxy_statistics
    from nasbench_lite.table.reader import Table
    from nasbench_lite.table.synthetic import synthetic_table

    table = synthetic_table(None, rows=60, seeds=2, epochs=2, rng=0)
    valid = table.metric("valid_acc")[:, :, -1].astype(np.float64).mean(axis=1)
    perfect = np.repeat(valid[:, None], 2, axis=1)

    def stats(values):
        arrays = {**table.arrays, "metrics/proxy_synflow": values,
                  "proxies/done": np.ones(table.num_rows, bool)}  # fmt: skip
        return proxy_statistics(Table(arrays, table.attrs))["synflow"]

    assert stats(perfect)["spearman"] == pytest.approx(1.0) and stats(perfect)["failed"] == 0
    on_worst = perfect.copy()
    on_worst[np.argmin(valid), 1] = -np.inf  # ranked last, where it belongs
    figures = stats(on_worst)
    assert figures["spearman"] == pytest.approx(1.0)
    assert (figures["classes"], figures["failed"]) == (60, 1)
    on_best = perfect.copy()
    on_best[np.argmax(valid), 0] = np.nan  # ranked last: the proxy pays for it
    figures = stats(on_best)
    assert figures["spearman"] < 0.95 and (figures["classes"], figures["failed"]) == (60, 1)
    assert "synflow 1" in failed_line({"synflow": figures})
    assert failed_line({"synflow": stats(perfect)}).startswith("Every proxy")
