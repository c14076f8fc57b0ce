"""Bad input gets one clear line naming it: raw indices of the wrong kind or range, negative
or absurd budgets, and seeds, workers or jobs past sane bounds; the surrogate backend
defaults to the shipped model as the command line does."""

from __future__ import annotations

import json

import pytest
from conftest import synthetic_table

from nasbench_lite.cli import main
from nasbench_lite.compare import CompareConfig, compare
from nasbench_lite.errors import InputError
from nasbench_lite.search import Budget


@pytest.fixture(scope="module")
def table():
    return synthetic_table(epochs=2)


@pytest.mark.parametrize(
    "raw, message",
    [(15625, r"raw index 15625 is outside 0\.\.15624"), (-1, r"raw index -1 is outside"),
     (3.0, r"raw index 3\.0 is not an int"), (True, r"raw index True is not an int"),
     ("7", r"raw index '7' is not an int")],
)  # fmt: skip
def test_lookup_names_a_bad_raw_index(table, raw, message):
    with pytest.raises(InputError, match=message):
        table.lookup(raw)
    assert table.lookup(7) == table.query(7)["valid_acc"]


@pytest.mark.parametrize(
    "text, message",
    [("-10evals", r"'-10evals' .*evals must be an int in 1\.\.10,000,000, got -10"),
     ("0epochs", r"epochs must be an int in 1\.\.1,000,000,000, got 0"),
     ("99999999999evals", r"got 99999999999"), ("-3", r"seconds must be > 0"),
     ("1e13", r"at most 1e\+12")],
)  # fmt: skip
def test_budgets_negative_or_absurd_are_refused(text, message):
    with pytest.raises(InputError, match=message):
        Budget.parse(text)


@pytest.mark.parametrize(
    "option, message",
    [({"seeds": 10**20}, r"seeds must be an int in 1\.\.100,000, got 100000000000000000000"),
     ({"workers": 5000}, r"workers must be an int in 1\.\.1,024"),
     ({"jobs": 1000}, r"jobs must be an int in 1\.\.256")],
)  # fmt: skip
def test_comparison_options_have_upper_bounds(table, option, message):
    with pytest.raises(InputError, match=message):
        compare(CompareConfig(table=table, out=None, **option))


def test_the_command_line_says_it_in_one_line(capsys, tmp_path):
    code = main(["compare", "--seeds", "99999999999999999999", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "seeds must be an int in" in err
    assert main(["compare", "--budget", "-10evals", "--out", str(tmp_path / "p")]) == 2
    assert "got -10" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "p").exists()


def test_the_surrogate_backend_defaults_to_the_shipped_model():
    pytest.importorskip("xgboost")
    from nasbench_lite.backends import make_benchmark
    from nasbench_lite.table import default_model_path

    bench = make_benchmark("surrogate")
    shipped = json.loads((default_model_path() / "surrogate.json").read_text())
    assert bench.model.meta["train_classes"] == shipped["train_classes"]
    assert bench.model.meta["table"] == shipped["table"]


def test_a_directory_where_a_table_file_belongs_is_named(tmp_path, capsys):
    from nasbench_lite.table import Table

    with pytest.raises(InputError, match="is a directory; name a .h5 table file"):
        Table.open(tmp_path)
    assert main(["info", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    pytest.importorskip("jax")
    code = main(["generate", "--preset", "tiny", "--cells", "1", "--out", str(tmp_path)])
    assert code == 2 and "is a directory; name the .h5 table file" in capsys.readouterr().err
