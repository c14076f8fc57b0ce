"""Mistakes a user makes on the command line: each stops with one line naming the input and
the problem (exit 2), and nothing already written is lost."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from nasbench_lite.cli import main
from nasbench_lite.table.synthetic import synthetic_table

SMALL = ["--seeds", "1", "--budget", "5evals", "--strategies", "random_search", "--no-progress"]


@pytest.fixture
def two_tables(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    synthetic_table(a, rows=80, seeds=2, rng=1, attrs={"dataset": "task_a"})
    synthetic_table(b, rows=80, seeds=2, rng=2, attrs={"dataset": "task_b"})
    return a, b


def one_error_line(capsys, *words):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def test_suite_card_never_replaces_a_table_or_a_file_it_did_not_write(two_tables, capsys):
    a, b = two_tables
    before = a.read_bytes()
    assert main(["suite-card", "--tasks", str(a), str(b), "--out", str(a)]) == 2
    one_error_line(capsys, "a.h5", ".md file")
    assert a.read_bytes() == before
    notes = a.with_name("notes.md")
    notes.write_text("mine\n")
    assert main(["suite-card", "--tasks", str(a), str(b), "--out", str(notes)]) == 2
    one_error_line(capsys, "notes.md", "--force")
    assert notes.read_text() == "mine\n"
    card = a.with_name("suite.md")
    assert main(["suite-card", "--tasks", str(a), str(b), "--out", str(card)]) == 0
    assert main(["suite-card", "--tasks", str(a), str(b), "--out", str(card)]) == 0  # again
    assert main(["suite-card", "--tasks", str(a), str(b), "--out", str(notes), "--force"]) == 0
    assert notes.read_text().startswith("# Suite card")
    assert main(["suite-card", "--tasks", str(a), str(b), "--out", str(a.with_name("x.txt"))]) == 2


def test_card_never_writes_over_its_table_or_one_file_twice(two_tables, capsys):
    a, _ = two_tables
    before = a.read_bytes()
    out = a.with_name("c.md")
    assert main(["card", str(a), "--out", str(out), "--plot", str(a), "--force"]) == 2
    assert a.read_bytes() == before
    assert main(["card", str(a), "--out", str(out), "--plot", str(a.with_name("p.png")),
                 "--force"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["card", str(a), "--out", str(out), "--plot", str(out), "--force"]) == 2
    one_error_line(capsys, "c.md", "PNG")
    assert main(["card", str(a), "--out", str(a.with_name("c.txt"))]) == 2
    one_error_line(capsys, "c.txt", ".md")
    assert not a.with_name("c.txt").exists()


def test_report_only_names_an_empty_or_cut_results_file(two_tables, tmp_path, capsys):
    a, _ = two_tables
    out = tmp_path / "c"
    assert main(["compare", "--table", str(a), *SMALL, "--out", str(out)]) == 0
    capsys.readouterr()
    csv = out / "results.csv"
    whole = csv.read_bytes()
    csv.write_bytes(whole[: len(whole) // 2])
    assert main(["compare", "--report-only", str(out)]) == 2
    one_error_line(capsys, "results.csv", "cut short")
    csv.write_bytes(b"")
    assert main(["compare", "--report-only", str(out)]) == 2
    one_error_line(capsys, "results.csv")
    csv.write_bytes(whole.split(b"\n")[0] + b"\n")  # the header alone
    assert main(["compare", "--report-only", str(out)]) == 2
    one_error_line(capsys, "results.csv", "no rows")


@pytest.mark.parametrize(
    "argv, words",
    [
        (["generate", "--preset", "tiny", "--cells", "3", "--seeds", "1", "--sample-seed", "-1"],
         ["--sample-seed", ">= 0"]),
        (["latency", "--rounds", "0"], ["--rounds", "at least one"]),
        (["proxies", "--chunk", "0"], ["--chunk", "at least one"]),
    ],
)  # fmt: skip
def test_numbers_out_of_range_are_named(argv, words, two_tables, tmp_path, capsys):
    a, _ = two_tables
    table = tmp_path / "t.h5"
    shutil.copy(a, table)
    where = ["--out", str(tmp_path / "g.h5")] if argv[0] == "generate" else ["--table", str(table)]
    assert main([*argv, *where]) == 2
    one_error_line(capsys, *words)


def test_surrogate_seed_out_of_range_is_named_before_any_fit(two_tables, tmp_path, capsys):
    pytest.importorskip("xgboost")
    a, _ = two_tables
    for seed in ("-1", "99999999999999999999"):
        out = tmp_path / f"m{seed[:3]}"
        assert main(["surrogate", "fit", "--table", str(a), "--out", str(out), "--seed", seed]) == 2
        one_error_line(capsys, "seed", "0..2,000,000")
    assert np.all([not p.exists() or not any(p.iterdir()) for p in tmp_path.glob("m*")])


def test_options_that_do_not_apply_are_named_not_ignored(two_tables, capsys):
    a, _ = two_tables
    assert main(["info", str(a), "--card", "x.md"]) == 2
    one_error_line(capsys, "--card", "--verify")
    pytest.importorskip("xgboost")
    assert main(["surrogate", "eval", "--table", str(a), "--out", "zzz"]) == 2
    one_error_line(capsys, "--out", "surrogate fit")
    for extra in (["--seed", "3"], ["--train-fraction", "0.5"], ["--related", str(a)]):
        assert main(["surrogate", "eval", "--table", str(a), *extra]) == 2
        one_error_line(capsys, extra[0], "for surrogate fit; eval ignores it")
    for extra in (["--model", "m"], ["--json"]):
        assert main(["surrogate", "fit", "--table", str(a), "--out", "zzz", *extra]) == 2
        one_error_line(capsys, extra[0], "for surrogate eval; fit ignores it")


def test_report_only_refuses_the_run_options_it_would_ignore(two_tables, tmp_path, capsys):
    a, _ = two_tables
    out = tmp_path / "out"
    assert main(["compare", "--table", str(a), *SMALL, "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    capsys.readouterr()
    for extra in (["--tolerance", "0.01"], ["--seeds=3"], ["--table", str(a), "--force"]):
        assert main(["compare", "--report-only", str(out), *extra]) == 2
        one_error_line(capsys, extra[0].split("=")[0], "--report-only", "no run options")
        assert (out / "report.md").read_text() == report
    assert main(["-v", "compare", "--report-only", str(out), "--no-progress"]) == 0


@pytest.mark.parametrize(
    ("backend", "option", "reader"),
    [
        ("tabular", ["--model", "m"], "surrogate"),
        ("tabular", ["--preset", "cpu"], "live"),
        ("tabular", ["--dataset", "mnist1d"], "live"),
        ("surrogate", ["--preset", "cpu"], "live"),
        ("live", ["--model", "m"], "surrogate"),
    ],
)
def test_compare_refuses_an_option_its_backend_does_not_read(
    two_tables, tmp_path, capsys, backend, option, reader
):
    a, _ = two_tables
    args = ["compare", "--table", str(a), "--backend", backend, *SMALL, *option]
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    name = option[0].lstrip("-")
    one_error_line(capsys, f"{name} {option[1]!r}", f"the {backend} backend does not read it",
                   f"for the {reader} backend")  # fmt: skip
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--sample-seed", "3"], ["--sample-seed", "neither given"]),
        (["--ray-address", "auto", "--cells", "2"], ["--ray-address auto", "--executor ray"]),
    ],
)
def test_generate_refuses_options_it_would_ignore(tmp_path, capsys, extra, words):
    out = tmp_path / "t.h5"
    assert main(["generate", "--preset", "tiny", "--out", str(out), *extra]) == 2
    one_error_line(capsys, *words)
    assert not out.exists()
