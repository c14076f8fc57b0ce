"""The nb201 space: registry, raw index <-> cell <-> string conversions and the CLI."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import numpy as np
import pytest

import nasbench_lite
from nasbench_lite import cli
from nasbench_lite.commands.space import cmd_space
from nasbench_lite.spaces import Space, available_spaces, get_space, register_space

ALL = np.arange(15625)
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
VALID = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)


def digits(raw: int) -> list[int]:
    """Base-5 digits of `raw`, most significant first, computed the slow way."""
    out = []
    for _ in range(6):
        raw, d = divmod(raw, 5)
        out.append(d)
    return out[::-1]


# ---- registry and attributes -------------------------------------------------------------


def test_registry_and_protocol(space):
    assert available_spaces() == ["nb201"]
    assert get_space("nb201") is space is nasbench_lite.get_space("nb201")
    assert isinstance(space, Space)
    assert (space.name, space.num_edges, space.num_ops, space.num_cells) == ("nb201", 6, 5, 15625)
    assert list(space.ops) == OPS
    assert list(space.edges) == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]


def test_register_space_adds_a_space_without_touching_callers():
    class Tiny:
        name = "tiny"

    register_space("tiny-test", Tiny)
    try:
        assert "tiny-test" in available_spaces()
        assert get_space("tiny-test") is get_space("tiny-test")
        with pytest.raises(ValueError, match="'tiny-test' is already registered"):
            register_space("tiny-test", Tiny)
    finally:
        from nasbench_lite import spaces

        spaces._FACTORIES.pop("tiny-test")
        spaces._INSTANCES.pop("tiny-test")
    with pytest.raises(ValueError, match="space name '' is not"):
        register_space("", Tiny)


def test_unknown_space_is_named_with_the_available_ones():
    with pytest.raises(ValueError, match=r"unknown space 'nb999'; available spaces: nb201"):
        get_space("nb999")
    with pytest.raises(ValueError, match="unknown space 3"):
        get_space(3)


# ---- raw index <-> cell <-> string ----------------------------------------------------------


def test_raw_index_and_cells_brute_force(space):
    cells = space.cells(ALL)
    assert cells.shape == (15625, 6) and cells.dtype == np.int64
    np.testing.assert_array_equal(cells, [digits(r) for r in range(15625)])
    np.testing.assert_array_equal(space.indices(cells), ALL)
    assert space.cell(np.int32(7)).tolist() == [0, 0, 0, 0, 1, 2]
    assert space.index([0, 0, 0, 0, 1, 2]) == 7
    assert space.index(np.array([4, 4, 4, 4, 4, 4], dtype=np.uint8)) == 15624
    assert space.indices(cells.reshape(5, 3125, 6)).shape == (5, 3125)


def test_strings_round_trip_all_cells(space):
    for raw in range(15625):
        text = space.format(raw)
        cell = space.parse(text)
        assert space.index(cell) == raw
        assert space.to_raw(text) == raw
        assert space.format(cell) == text
    # Group j lists the j inputs of node j; edge e is digit e of the raw index.
    assert space.format(space.parse(VALID)) == VALID
    assert space.parse(VALID).tolist() == [3, 3, 4, 1, 3, 1]


def test_parse_accepts_inputs_in_any_order_and_whitespace(space):
    shuffled = (
        "|nor_conv_3x3~0|+|avg_pool_3x3~1|nor_conv_3x3~0|"
        "+|skip_connect~2|skip_connect~0|nor_conv_3x3~1|"
    )
    np.testing.assert_array_equal(space.parse(f"  {shuffled}\n"), space.parse(VALID))


def test_to_raw_accepts_every_form(space):
    raw = space.to_raw(VALID)
    cell = space.parse(VALID)
    for form in (
        raw,
        np.int64(raw),
        np.uint16(raw),
        np.array(raw),
        cell,
        cell.tolist(),
        tuple(cell),
        str(raw),
        f" {raw} ",
        VALID,
    ):
        assert space.to_raw(form) == raw
    assert space.canonical(VALID) == space.canonical(raw) == space.canonical(cell)


# ---- command line ---------------------------------------------------------------------------


def test_cli_space_prints_counts_and_examples(capsys):
    assert cli.main(["space", "nb201"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^\s+cells\s+15625$", out, re.M)
    assert re.search(r"^\s+classes\s+5044$", out, re.M)
    assert re.search(r"^\s+classes \(NB-201 convention\)\s+6466$", out, re.M)
    assert "4 avg_pool_3x3" in out and "5 2->3" in out
    space = get_space("nb201")
    rows = re.findall(r"^\s+(\d+)\s+(\d+)\s+(\|\S+\|)$", out, re.M)
    assert len(rows) == 5
    for raw, cid, text in rows:
        assert space.to_raw(text) == int(raw) and space.canonical(int(raw)) == int(cid)


def test_cli_space_examples_and_errors(capsys):
    assert cli.main(["space", "nb201", "--examples", "2"]) == 0
    assert len(re.findall(r"^\s+\d+\s+\d+\s+\|", capsys.readouterr().out, re.M)) == 2
    assert cli.main(["space", "nb999"]) == 2
    assert "unknown space 'nb999'; available spaces: nb201" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--examples -1 is not a non-negative integer"):
        cmd_space(argparse.Namespace(name="nb201", examples=-1))


def test_cli_space_through_python_m(capsys):
    result = subprocess.run(
        [sys.executable, "-m", "nasbench_lite", "space", "nb201"],
        capture_output=True,
        text=True,
        check=True,
    )
    cli.main(["space", "nb201"])
    assert result.stdout == capsys.readouterr().out  # fixed example seed: same cells
    assert "classes (NB-201 convention)  6466" in result.stdout


def test_import_spaces_does_not_import_jax():
    code = (
        "import sys\nimport nasbench_lite.spaces as s\n"
        "sp = s.get_space('nb201'); sp.representatives; sp.path_encoding([0])\n"
        "print('jax' in sys.modules, 'flax' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]
