"""Bad input to the nb201 space: each error names the input, and fuzzing raises only ValueError."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nasbench_lite.spaces import get_space

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


BAD_STRINGS = [
    ("|none~0|+|none~0|none~1|", "has 2 node groups separated by '+', expected 3"),
    ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "node 1 group 'none~0|' is not enclosed"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 has 1 input edges, expected 2"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|", "node 3 has 4 input edges"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv' on node 1"),
    ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "edge 'none0' of node 1 is not 'op~input'"),
    ("|none~a|+|none~0|none~1|+|none~0|none~1|none~2|", "input 'a' of node 1 is not a node index"),
    ("|none~²|+|none~0|none~1|+|none~0|none~1|none~2|", "input '²' of node 1 is not a node index"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "input node 1 of node 1 is not in 0..0"),
    ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "input node 2 of node 2 is not in 0..1"),
    ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "node 2 lists input node 0 twice"),
    ("", "has 1 node groups"),
]


@pytest.mark.parametrize(("text", "message"), BAD_STRINGS)
def test_malformed_strings_raise_naming_the_problem(space, text, message):
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        space.parse(text)
    assert "cell string" in str(err.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "raw index -1 is out of range 0..15624"),
        (15625, "raw index 15625 is out of range 0..15624"),
        (np.int64(2**40), "raw index 1099511627776 is out of range"),
        ("15625", "raw index 15625 is out of range"),
        ("-3", "raw index -3 is out of range"),
        ("1" * 40, "is out of range"),
        (3.0, "raw index 3.0 is a float, expected an integer"),
        (np.float32(2.5), "is a float32, expected an integer"),
        (True, "raw index True is a bool"),
        (np.bool_(False), "is a bool"),
        (None, "cell None has shape ()"),
        ([1, 2, 3], "cell [1, 2, 3] has shape (3,), expected (6,) or (n, 6)"),
        ([[0] * 6, [1] * 6], "has shape (2, 6), expected one cell (6,)"),
        ([0, 1, 2, 3, 4, 5], "has op id 5 at position (5,), expected 0..4"),
        ([0, -1, 0, 0, 0, 0], "has op id -1 at position (1,)"),
        ([0.0, 1.0, 2.0, 3.0, 4.0, 0.0], "has dtype float64, expected integer op ids"),
        ([True] * 6, "has dtype bool"),
        ([[0, 1], [2]], "is not a rectangular array"),
        ("|none~0|", "cell string '|none~0|' has 1 node groups"),
    ],
)
def test_bad_cells_and_indices_raise_naming_the_input(space, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        space.to_raw(value)


def test_vectorised_conversions_reject_bad_input(space):
    with pytest.raises(ValueError, match=re.escape("2 out of range 0..15624, first is -1")):
        space.cells([3, -1, 15625])
    with pytest.raises(ValueError, match="have dtype float64, expected an integer dtype"):
        space.cells(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="raw indices '12' is a string"):
        space.cells("12")
    with pytest.raises(ValueError, match=re.escape("has shape (4, 5), expected (6,) or (n, 6)")):
        space.indices(np.zeros((4, 5), dtype=int))
    with pytest.raises(ValueError, match="has op id 7 at position"):
        space.indices(np.full((3, 6), 7))
    with pytest.raises(ValueError, match="has shape"):
        space.index(np.zeros((2, 6), dtype=int))
    with pytest.raises(ValueError, match="cell string 12 is a int, expected a str"):
        space.parse(12)
    with pytest.raises(ValueError, match="class id 5044 is out of range 0..5043"):
        space.class_members(5044)
    with pytest.raises(ValueError, match="class id 1.5 is not an integer"):
        space.class_members(1.5)
    with pytest.raises(ValueError, match="class id True is not an integer"):
        space.class_members(True)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=60),
        # Strings built from the grammar's own tokens reach the deeper checks.
        st.lists(st.sampled_from([*"|+~0123 x", *OPS]), max_size=30).map("".join),
    )
)
def test_parse_only_raises_value_error(text):
    space = get_space("nb201")
    try:
        cell = space.parse(text)
    except ValueError:
        return
    assert cell.shape == (6,) and cell.min() >= 0 and cell.max() <= 4
    np.testing.assert_array_equal(space.parse(space.format(cell)), cell)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 15624), st.lists(st.tuples(st.integers(0, 200), st.characters()), max_size=3))
def test_parse_of_edited_valid_strings_only_raises_value_error(raw, edits):
    space = get_space("nb201")
    text = space.format(raw)
    for pos, char in edits:
        pos %= len(text) + 1
        text = text[:pos] + char + text[pos + 1 :]
    try:
        cell = space.parse(text)
    except ValueError:
        return

    def items(s: str) -> list[set[str]]:
        return [set(group[1:-1].split("|")) for group in s.strip().split("+")]

    assert items(space.format(cell)) == items(text)


SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7)
# Mostly near-valid cells (small op ids), plus arbitrary arrays of any dtype.
int_arrays = st.one_of(
    hnp.arrays(st.sampled_from([np.int8, np.int64, np.uint8]), SHAPES, elements=st.integers(0, 6)),
    hnp.arrays(st.sampled_from([np.int64, np.uint16, np.float64, np.bool_]), SHAPES),
)


@settings(max_examples=300, deadline=None)
@given(int_arrays)
def test_arrays_into_index_and_to_raw_only_raise_value_error(arr):
    space = get_space("nb201")
    for convert in (space.index, space.to_raw):
        try:
            raw = convert(arr)
        except ValueError:
            continue
        assert 0 <= raw < 15625
        if arr.shape == (6,):
            assert raw == sum(int(v) * 5 ** (5 - e) for e, v in enumerate(arr))
        else:  # a 0-d integer array is a raw index
            assert arr.shape == () and raw == int(arr)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=12), st.none()))
def test_scalars_into_to_raw_only_raise_value_error(value):
    space = get_space("nb201")
    try:
        raw = space.to_raw(value)
    except ValueError:
        assert not (isinstance(value, int) and 0 <= value < 15625)
        return
    assert 0 <= raw < 15625
