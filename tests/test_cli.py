"""The command line as a new user meets it: one-line errors, safe outputs, Ctrl-C, defaults,
help, and a package that says what it holds."""

from __future__ import annotations

import argparse
import ast
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_strategy_package

import nasbench_lite
from nasbench_lite import cli
from nasbench_lite.backends.live import LiveBenchmark
from nasbench_lite.backends.registry import BACKENDS
from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.cli import build_parser, main
from nasbench_lite.compare import results as compare_results
from nasbench_lite.errors import InputError, Interrupted, MissingFileError, OutputExistsError
from nasbench_lite.search.trajectory import RESULT_COLUMNS
from nasbench_lite.spaces import get_space
from nasbench_lite.table import shipped
from nasbench_lite.table.reader import Table
from nasbench_lite.table.synthetic import synthetic_table
from nasbench_lite.text import plural

PACKAGE = Path(nasbench_lite.__file__).parent
CLI_MODULES = {PACKAGE / "cli.py", *(PACKAGE / "commands").glob("*.py")}
SPACE = get_space("nb201")


@pytest.fixture(scope="module")
def table_path(tmp_path_factory) -> Path:
    """A complete synthetic nb201 table file."""
    path = tmp_path_factory.mktemp("table") / "synthetic.h5"
    synthetic_table(path, epochs=2)
    return path


@pytest.fixture(scope="module")
def partial_path(tmp_path_factory) -> Path:
    """A table file with 1,500 of its 5,044 rows trained, as one still being generated."""
    present = SPACE.sample_classes(np.random.default_rng(7), 1500)
    done = np.isin(np.arange(SPACE.num_unique), present)
    path = tmp_path_factory.mktemp("partial") / "partial.h5"
    synthetic_table(path, epochs=2, done=done)
    return path


@pytest.fixture
def shipped_table(table_path, monkeypatch) -> Path:
    """Make `table_path` the default table, as a shipped one would be."""
    monkeypatch.setenv(shipped.TABLE_ENV, str(table_path))
    return table_path


def compare_module():
    import importlib

    return importlib.import_module("nasbench_lite.compare.run")


# ---- library modules neither parse arguments nor print ---------------------------------------


def library_modules() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if p not in CLI_MODULES]


def test_only_the_cli_parses_arguments_or_prints():
    assert len(library_modules()) > 20
    offenders = []
    for path in library_modules():
        source = path.read_text()
        if "argparse" in source:
            offenders.append(f"{path.name}: argparse")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
                offenders.append(f"{path.name}:{node.lineno}: print()")
    assert offenders == []
    # ... and the CLI does both (the check above would pass on an empty package too).
    assert "argparse" in (PACKAGE / "cli.py").read_text()
    assert "print(" in (PACKAGE / "commands" / "tables.py").read_text()


def test_errors_are_value_errors_and_file_errors():
    assert issubclass(InputError, ValueError)
    assert issubclass(MissingFileError, InputError) and issubclass(MissingFileError, OSError)
    assert issubclass(MissingFileError, FileNotFoundError)
    assert issubclass(OutputExistsError, FileExistsError)
    assert issubclass(Interrupted, KeyboardInterrupt)
    with pytest.raises(InputError, match="unknown space 'nb999'"):
        get_space("nb999")
    with pytest.raises(MissingFileError, match="nope.h5 does not exist"):
        Table.open("nope.h5")


def test_input_errors_are_one_line_and_other_errors_keep_their_traceback(
    monkeypatch, table_path, capsys
):
    assert main(["query", str(table_path), "|bad|"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nasbench-lite query: error: ") and err.count("\n") == 1
    assert "Traceback" not in err

    def broken(args):
        raise RuntimeError("a bug")

    import nasbench_lite.commands.tables as tables

    monkeypatch.setattr(tables, "cmd_info", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["info", str(table_path)])


# ---- compare --out ---------------------------------------------------------------------------

SMALL = ["--strategies", "random_search", "--seeds", "1", "--budget", "3evals", "--jobs", "1"]


def test_compare_out_refuses_a_directory_it_did_not_write(table_path, tmp_path, capsys):
    base = ["compare", "--table", str(table_path), *SMALL, "--no-progress", "--out"]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    assert main([*base, str(foreign)]) == 2
    err = capsys.readouterr().err
    assert "mine is not empty" in err and "--force" in err and err.count("\n") == 1
    assert sorted(p.name for p in foreign.iterdir()) == ["thesis.tex"]
    assert main([*base, str(foreign), "--force"]) == 0  # asked for: written
    assert (foreign / "results.csv").is_file() and (foreign / "thesis.tex").is_file()
    capsys.readouterr()
    # A directory an earlier comparison wrote is recognised and overwritten.
    ours = tmp_path / "ours"
    assert main([*base, str(ours)]) == 0
    before = (ours / "results.csv").read_bytes()
    assert main([*base, str(ours)]) == 0
    assert (ours / "results.csv").read_bytes() == before
    # A file, or an empty string, is a one-line error.
    (tmp_path / "file").write_text("x")
    for out, message in [(str(tmp_path / "file"), "a file of that name exists"),
                         ("", "empty string")]:  # fmt: skip
        capsys.readouterr()
        assert main([*base, out]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_check_out_dir_rules(tmp_path):
    check_out_dir = compare_results.check_out_dir
    assert check_out_dir(tmp_path / "new" / "deep") == tmp_path / "new" / "deep"  # fine
    assert not (tmp_path / "new").exists()  # checked by writing there, then removed again
    assert check_out_dir(tmp_path) == tmp_path  # empty: fine
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")  # not a comparison's header
    with pytest.raises(OutputExistsError, match="holds no earlier comparison;"):
        check_out_dir(tmp_path)
    assert check_out_dir(tmp_path, force=True) == tmp_path
    (tmp_path / "results.csv").write_text(",".join(RESULT_COLUMNS) + "\n")
    assert compare_results.written_by_compare(tmp_path) and check_out_dir(tmp_path) == tmp_path
    with pytest.raises(InputError, match="empty string"):
        check_out_dir(" ")


# ---- card ------------------------------------------------------------------------------------


def test_card_writes_next_to_the_table_and_never_overwrites_unless_forced(
    table_path, tmp_path, monkeypatch, capsys
):
    table = tmp_path / "tables" / "t.h5"
    table.parent.mkdir()
    table.write_bytes(table_path.read_bytes())
    monkeypatch.chdir(tmp_path)
    assert main(["card", str(table)]) == 0
    md, png = table.parent / "t_card.md", table.parent / "t_accuracy.png"
    assert f"wrote {md} and {png}" in capsys.readouterr().out
    assert md.is_file() and png.read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "data").exists()  # never ./data of the working directory
    assert f"nasbench-lite card {table} --force" in md.read_text()  # this card's own command
    md.write_text("edited")
    assert main(["card", str(table)]) == 2
    err = capsys.readouterr().err
    assert f"{md} exists; pass --force to replace it" in err and err.count("\n") == 1
    assert md.read_text() == "edited"
    assert main(["card", str(table), "--force"]) == 0
    assert md.read_text().startswith("# Dataset card: `t.h5`")
    # --out still chooses the place.
    assert main(["card", str(table), "--out", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "README.md").is_file()


# ---- argument parsing ------------------------------------------------------------------------


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_abbreviations_are_off_everywhere(capsys):
    parser = build_parser()
    commands = subparsers(parser)
    assert set(commands) == set(cli.HANDLERS)
    assert parser.allow_abbrev is False
    assert all(p.allow_abbrev is False for p in commands.values())
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["compare", "--seed", "3"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --seed 3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["generate", "--out", "x.h5", "--frac", "0.5"])
    assert parser.parse_args(["compare", "--seeds", "3"]).seeds == 3


def test_a_repeated_list_option_adds_to_it_instead_of_replacing_it():
    parser = build_parser()
    argv = ["compare", "--objectives", "valid_acc:max", "--constraint", "params<=2",
            "--objectives", "params:min", "--constraint", "flops<=3", "--strategies", "a",
            "--strategies", "b", "c"]  # fmt: skip
    args = parser.parse_args(argv)
    assert args.objectives == ["valid_acc:max", "params:min"]
    assert args.constraint == ["params<=2", "flops<=3"] and args.strategies == ["a", "b", "c"]
    assert parser.parse_args(["compare"]).constraint == []  # the default is not shared
    assert parser.parse_args(["compare", "--tasks", "a", "--tasks", "b"]).tasks == ["a", "b"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["compare", "--seeds", "abc"],
            ["compare: error: argument --seeds: invalid int", "compare --help"],
        ),
        (
            ["compare", "--backend", "oracle"],
            ["--backend: invalid choice: 'oracle'", "compare --help"],
        ),
        (["generate", "--cells"], ["generate: error: argument --cells: expected one argument"]),
        (["info", "t.h5", "--verfy"], ["unrecognized arguments: --verfy", "nasbench-lite --help"]),
        ([], ["the following arguments are required: COMMAND"]),
    ],
)
def test_an_argument_mistake_is_one_line_not_the_usage_block(capsys, argv, words):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage:" not in err, err
    assert all(word in err for word in words), err


def test_version_help_defaults_examples_and_backends(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"nasbench-lite {nasbench_lite.__version__}"
    parser = build_parser()
    for name, sub in subparsers(parser).items():
        text = sub.format_help()
        assert f"example:\n  nasbench-lite {name}" in text, name
        assert "(default: None)" not in text and "(default: False)" not in text, name
    compare_help = subparsers(parser)["compare"].format_help()
    assert "(default: 25)" in compare_help and "(default: compare_out)" in compare_help
    assert "seed of the class sample (default: 0)" in subparsers(parser)["generate"].format_help()
    assert "{tabular,live,surrogate}" in compare_help
    backend = next(a for a in subparsers(parser)["compare"]._actions if a.dest == "backend")
    assert list(backend.choices) == list(BACKENDS)
    with pytest.raises(SystemExit):
        parser.parse_args(["compare", "--backend", "oracle"])


def test_plural():
    assert plural(1, "strategy") == "1 strategy"
    assert plural(2, "strategy") == "2 strategies"
    assert plural(1, "row") == "1 row" and plural(5044, "row") == "5,044 rows"
    assert plural(0, "seed") == "0 seeds" and plural(3, "epoch") == "3 epochs"
    assert plural(2, "class") == "2 classes" and plural(2, "day") == "2 days"


def test_compare_and_merge_print_plurals_right(table_path, tmp_path, capsys):
    args = ["compare", "--table", str(table_path), *SMALL, "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "c")]) == 0
    assert "; 1 strategy x 1 seed\n" in capsys.readouterr().out
    assert "`random_search`" in (tmp_path / "c" / "report.md").read_text()
    assert "1 simulated worker per run" in (tmp_path / "c" / "report.md").read_text()
    assert main(["merge", str(tmp_path / "m.h5"), str(table_path)]) == 0
    assert f"merged 1 table, {SPACE.num_unique:,} rows" in capsys.readouterr().out


# ---- defaults: the shipped table -------------------------------------------------------------


def test_query_info_and_card_default_to_the_shipped_table(shipped_table, tmp_path, capsys):
    assert main(["query", "77"]) == 0
    assert f"of {shipped_table})" in capsys.readouterr().out
    assert main(["info"]) == 0
    assert capsys.readouterr().out.startswith(f"table {shipped_table}\n")
    args = build_parser().parse_args(["card"])
    assert args.file is None and args.out is None
    args = build_parser().parse_args(["query", "a.h5", "77"])
    assert (args.file, args.cell) == ("a.h5", "77")
    capsys.readouterr()
    assert main(["query", "mine.h5"]) == 2  # the table given, the cell forgotten
    assert "mine.h5 looks like a table file, not a cell; give both" in capsys.readouterr().err


def test_missing_shipped_table_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(shipped.TABLE_ENV, raising=False)
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    assert main(["info"]) == 2
    err = capsys.readouterr().err
    assert "no shipped table found" in err and err.count("\n") == 1


# ---- query -----------------------------------------------------------------------------------


def test_query_prints_rounded_seed_mean_epoch_rank_and_percentile(table_path, capsys):
    table = Table.open(table_path)
    raw = 77
    assert main(["query", str(table_path), str(raw)]) == 0
    out = capsys.readouterr().out
    q = table.query(raw)
    assert f"mean over 3 seeds, epoch {table.num_epochs} of {table.num_epochs} (final):" in out
    assert re.search(rf"^  test_acc +{q['test_acc']:.4f}$", out, re.M)
    assert re.search(rf"^  params +{q['params']:,}$", out, re.M)
    assert not re.search(r"\d\.\d{5,}", out)  # rounded: no long float tails
    # Rank and percentile, checked against an independent count over the classes.
    finals = np.nanmean(table.metric("test_acc")[:, :, -1], axis=1)
    mine = finals[table.raw_to_row[raw]]
    rank = int((finals > mine).sum()) + 1
    better = 100 * (finals < mine).sum() / len(finals)
    line = (
        f"rank {rank:,} of {len(finals):,} trained classes by seed-mean final test accuracy "
        f"(better than {better:.1f}% of them)"
    )
    assert line in out
    assert main(["query", str(table_path), str(raw), "--rank-by", "valid_acc"]) == 0
    assert "by seed-mean final validation accuracy" in capsys.readouterr().out


def test_query_json(table_path, capsys):
    table = Table.open(table_path)
    assert main(["query", str(table_path), "77", "--epoch", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["raw"] == 77 and record["epoch"] == 1 and record["seed"] is None
    assert record["cell"] == SPACE.format(77)
    q = table.query(77, epoch=1)
    assert record["metrics"]["valid_acc"] == pytest.approx(q["valid_acc"])  # full precision
    assert record["rank"]["metric"] == "test_acc" and record["rank"]["classes"] == 5044
    assert record["rank"] == {**table.rank(77), "metric": "test_acc"}


def test_rank_edge_cases(table_path):
    table = Table.open(table_path)
    finals = np.nanmean(table.metric("valid_acc")[:, :, -1], axis=1)
    best = int(table.row_raw[np.argmax(finals)])
    worst = int(table.row_raw[np.argmin(finals)])
    top_ties = int((finals == finals.max()).sum())  # tied classes share the best rank
    assert table.rank(best, "valid_acc") == {
        "metric": "valid_acc", "classes": 5044, "rank": 1,
        "percentile": pytest.approx(100 * (5044 - top_ties) / 5044),
    }  # fmt: skip
    bottom_ties = int((finals == finals.min()).sum())
    assert table.rank(worst, "valid_acc") == {
        "metric": "valid_acc", "classes": 5044, "rank": 5044 - bottom_ties + 1, "percentile": 0.0,
    }  # fmt: skip
    with pytest.raises(InputError, match="rank by 'test_loss': choose 'test_acc' or"):
        table.rank(best, "test_loss")


# ---- info ------------------------------------------------------------------------------------


def test_info_says_plainly_whether_a_table_is_partial(table_path, partial_path, capsys):
    assert main(["info", str(table_path)]) == 0
    out = capsys.readouterr().out
    assert "complete: every one of the 5,044 classes of nb201 trained" in out
    assert "PARTIAL" not in out
    assert main(["info", str(partial_path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("  PARTIAL: 1,500 of 5,044 rows trained (29.7%)")


def test_info_names_a_sampled_table(tmp_path, capsys):
    from conftest import synthetic_table

    path = tmp_path / "sampled.h5"
    synthetic_table(classes=np.arange(0, 5044, 2)).write(path)
    assert main(["info", str(path)]) == 0
    line = capsys.readouterr().out.splitlines()[1]
    assert line.startswith("  sampled: rows for 2,522 of 5,044 classes of nb201")


# ---- generate --------------------------------------------------------------------------------


def test_generate_into_a_missing_directory_says_so(tmp_path, capsys):
    out = tmp_path / "missing_dir" / "x.h5"
    assert main(["generate", "--preset", "tiny", "--cells", "4", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"directory {out.parent} does not exist" in err and err.count("\n") == 1
    assert main(["generate", "--preset", "nope", "--out", str(tmp_path / "x.h5")]) == 2
    assert "unknown trainer preset 'nope'" in capsys.readouterr().err


def test_ctrl_c_in_generate_is_one_line_saying_the_command_resumes(
    table_path, tmp_path, monkeypatch, capsys
):
    import nasbench_lite.generate.run as gen

    out = tmp_path / "g.h5"

    def interrupted(path, config, progress=True):
        Path(path).write_bytes(table_path.read_bytes())  # what a finished chunk leaves
        raise KeyboardInterrupt

    monkeypatch.setattr(gen, "generate", interrupted)
    argv = ["generate", "--preset", "tiny", "--cells", "40", "--out", str(out)]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{out} keeps 5,044 of 5,044 rows trained" in err
    assert err.rstrip().endswith(f"The same command resumes: nasbench-lite {' '.join(argv)}")


# ---- Ctrl-C in compare -----------------------------------------------------------------------


def test_ctrl_c_in_compare_keeps_the_finished_runs_in_process(table_path, tmp_path, monkeypatch):
    cmp = compare_module()
    calls = []
    from nasbench_lite.compare.workers import Worker

    run = Worker.run

    def stop_after_three(self, task):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(task)
        return run(self, task)

    monkeypatch.setattr(Worker, "run", stop_after_three)
    config = cmp.CompareConfig(
        table=str(table_path), strategies=("random_search", "local_search"), seeds=4,
        budget="5evals", jobs=1, out=tmp_path,
    )  # fmt: skip
    (tmp_path / "report.md").write_text("an earlier report")
    (tmp_path / "results.csv").write_text(",".join(RESULT_COLUMNS) + "\n")
    with pytest.raises(Interrupted) as stop:
        cmp.compare(config)
    assert (stop.value.done, stop.value.total) == (3, 8)
    assert stop.value.saved == tmp_path / "results.csv"
    frame = pd.read_csv(stop.value.saved)
    runs = sorted(set(zip(frame.strategy, frame.seed, strict=True)))
    assert runs == [("random_search", seed) for seed in range(3)]
    assert not (tmp_path / "report.md").exists()  # it described another run


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
def test_sigint_stops_compare_workers_at_once_and_keeps_finished_runs(table_path, tmp_path):
    import psutil

    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "nasbench_lite", "compare", "--table", str(table_path),
        "--strategies", "random_search", "local_search", "--seeds", "600",
        "--budget", "100evals", "--jobs", "2", "--out", str(out),
    ]  # fmt: skip
    # Its own session, so that SIGINT goes to the process group, as a terminal's Ctrl-C does.
    # SIGINT at its default in the child: a shell that ran these tests in the background has
    # the process ignore it, and Python then installs no Ctrl-C handler at all.
    default = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=default)  # fmt: skip
    progress = []

    def read_progress():  # tqdm redraws with \r: read characters, not lines
        while (char := proc.stderr.read(1)) != "":
            progress.append(char)

    reader = threading.Thread(target=read_progress, daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while not re.search(r"\| ([1-9]\d*)/1200 ", "".join(progress)):
        assert proc.poll() is None, "".join(progress)
        assert time.monotonic() < deadline, "no run finished in 60 s"
        time.sleep(0.05)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert len(workers) >= 2
    os.killpg(proc.pid, signal.SIGINT)
    started = time.monotonic()
    assert proc.wait(timeout=30) == 130
    assert time.monotonic() - started < 10  # at once, not after the 1,200 runs
    reader.join(timeout=5)
    text = "".join(progress)
    assert "Traceback" not in text, text
    pattern = r"interrupted after ([\d,]+) of 1,200 runs; kept the finished ones in (\S+) \(no"
    match = re.search(pattern, text)
    assert match and match.group(2) == str(out), text
    assert text.rstrip().endswith(f"--jobs 2 --resume {out}")  # the command that continues
    kept = int(match.group(1).replace(",", ""))
    # The progress bar counted each finished run once: never more than were kept (its last
    # redraw may lag the count by a few runs on a loaded machine, never lead it).
    assert int(re.findall(r"\| (\d+)/1200 ", text)[-1]) <= kept, text
    frame = pd.read_csv(out / "results.csv")
    assert len(frame.groupby(["strategy", "seed"])) == kept and 0 < kept < 1200
    assert not (out / "report.md").exists()
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == []


# ---- strategies that fail to load; strategies from other packages ----------------------------


@pytest.fixture
def plugin_packages(tmp_path, monkeypatch):
    """A broken entry point and a working one, from a package other than nasbench-lite."""
    write_strategy_package(
        tmp_path,
        "nbl-cli-plugins",
        {
            "nbl_cli_plugins.py": """
            class Steady:
                name = "steady"

                def __init__(self, space):
                    self.space = space

                def init(self, rng):
                    return 0

                def ask(self, state, rng):
                    return state + 1, int(self.space.sample(rng, 1)[0])

                def tell(self, state, raw, valid_acc, cost):
                    return state
            """
        },
        "steady = nbl_cli_plugins:Steady\nbroken = nbl_cli_missing_module:Broken",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    yield
    sys.modules.pop("nbl_cli_plugins", None)


def test_broken_strategy_is_skipped_by_default_and_an_error_by_name(
    plugin_packages, table_path, tmp_path, caplog, capsys
):
    cmp = compare_module()
    config = cmp.CompareConfig(
        table=str(table_path), seeds=1, budget="3evals", jobs=1, out=tmp_path / "all"
    )
    with caplog.at_level(logging.WARNING, logger="nasbench_lite.compare.run"):
        result = cmp.compare(config)
    assert "broken" not in result.strategies and "steady" in result.strategies
    assert list(result.skipped) == ["broken"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("skipping strategy 'broken'") for m in warnings), warnings
    text = result.report.read_text()
    assert "| strategies from other packages | `steady` (nbl-cli-plugins 0.1) |" in text
    assert "| skipped (failed to load) | `broken`: " in text
    assert result.external == {"steady": "nbl-cli-plugins 0.1"}
    args = ["compare", "--table", str(table_path), "--seeds", "1", "--budget", "3evals"]
    args += ["--jobs", "1", "--no-progress", "--out", str(tmp_path / "named")]
    assert main([*args, "--strategies", "broken", "random_search"]) == 2
    err = capsys.readouterr().err
    assert "'broken' is registered as 'nbl_cli_missing_module:Broken' but failed to load" in err


def test_report_says_none_when_every_strategy_is_ours(table_path, tmp_path):
    cmp = compare_module()
    config = cmp.CompareConfig(
        table=str(table_path), strategies=("random_search",), seeds=1, budget="3evals",
        jobs=1, out=tmp_path,
    )  # fmt: skip
    assert "| strategies from other packages | none |" in cmp.compare(config).report.read_text()


# ---- the package says what it has -------------------------------------------------------------


def test_dir_lists_the_public_api():
    names = dir(nasbench_lite)
    assert names == sorted(nasbench_lite.__all__)
    for name in ("Table", "get_space", "run_search", "make_benchmark", "InputError"):
        assert name in names
    assert all(hasattr(nasbench_lite, name) for name in names)


def test_table_and_backends_have_readable_reprs(table_path, partial_path):
    table = Table.open(table_path)
    assert repr(table) == (
        f"Table({str(table_path)!r}, 5,044 of 5,044 rows, 3 seeds, 2 epochs, nb201/mnist1d)"
    )
    partial = Table.open(partial_path)
    assert "1,500 of 5,044 rows" in repr(partial)
    bench = TabularBenchmark(partial)
    assert repr(bench) == f"TabularBenchmark({partial!r}, 1,500 of 5,044 classes answered)"
    from conftest import synthetic_table

    assert repr(synthetic_table(num_seeds=1, epochs=1)).startswith(
        "Table(<in-memory table>, 5,044 of 5,044 rows, 1 seed, 1 epoch, "
    )


def test_live_backend_repr(table_path):
    from nasbench_lite.datasets import load_dataset

    live = LiveBenchmark("tiny", load_dataset("mnist1d"), reference=table_path)
    text = repr(live)
    assert text.startswith("LiveBenchmark(nb201/mnist1d, preset 'tiny', ")
    assert text.endswith(" epochs, with a reference table of another recipe, preset "
                         "'synthetic' of 2 epochs: regret by its means)")  # fmt: skip
    from nasbench_lite.train.config import get_preset

    tiny = {"config": get_preset("tiny").to_dict(), "preset": "tiny", "dataset": "mnist1d"}
    reference = synthetic_table(epochs=tiny["config"]["epochs"], attrs=tiny)
    same = LiveBenchmark("tiny", load_dataset("mnist1d"), reference=reference)
    assert repr(same).endswith(" epochs, with a reference table)")


def test_query_does_not_import_jax(table_path):
    code = (
        "import sys\nfrom nasbench_lite.cli import main\n"
        f"assert main(['query', {str(table_path)!r}, '77']) == 0\n"
        "print('jax' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.splitlines()[-1] == "False"


def test_a_closed_pipe_ends_quietly(table_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "nasbench_lite", "info", str(table_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader (`| head`) went away before the output
    assert proc.wait(timeout=120) == 141
    assert b"Traceback" not in proc.stderr.read()


def test_generate_help_names_the_cache_directory_it_uses(monkeypatch):
    from nasbench_lite.cli import build_parser
    from nasbench_lite.datasets import cache_dir

    monkeypatch.delenv("NASBENCH_LITE_CACHE", raising=False)
    text = " ".join(subparsers(build_parser())["generate"].format_help().split())
    default = cache_dir() / "jax"  # what generate uses without --cache-dir
    assert str(default).replace(str(Path.home()), "~") in text
    assert "$NASBENCH_LITE_CACHE/jax" in text and "(default: cache/jax)" not in text
