"""A structural check of a UBJSON stream (draft 12, as XGBoost writes its models), run before
the bytes reach XGBoost: its reader trusts the counts and lengths it reads, so a truncated
model can make it allocate gigabytes before it fails.

Checked: objects `{` (keys: a length, then the bytes), arrays `[` (typed `$<type>#<count>` or
counted `#<count>`: no closing marker then), strings `S`, integers `i U I l L`, floats `d D`,
`T F Z` and the no-op `N`. Every count and length must fit in the bytes left, every container
must close, and nothing may follow the value.
"""

from __future__ import annotations

SIZES = {"i": 1, "U": 1, "I": 2, "l": 4, "L": 8, "d": 4, "D": 8}  # marker -> payload bytes
INTEGERS = "iUIlL"


def check_ubjson(data: bytes) -> None:
    """Raise ValueError, saying what and at which offset, unless `data` holds exactly one
    complete UBJSON value whose every count and length fits in `data`."""
    pos = 0

    def take(n: int, what: str) -> int:
        nonlocal pos
        if not 0 <= n <= len(data) - pos:
            raise ValueError(f"{what} ({n} bytes) at offset {pos} does not fit in the "
                             f"{len(data) - pos} bytes left")  # fmt: skip
        pos += n
        return pos - n

    def marker(what: str) -> str:
        return chr(data[take(1, what)])

    def integer(what: str) -> int:
        kind = marker(what)
        if kind not in INTEGERS:
            raise ValueError(f"{what} at offset {pos - 1} is {kind!r}, not an integer marker")
        start = take(SIZES[kind], what)
        return int.from_bytes(data[start:pos], "big", signed=kind != "U")

    # Open containers: [is an object, items left (None: until its closing marker)]; the
    # stream itself is read as a counted array of one value.
    stack: list[list] = [[False, 1]]
    while stack:
        while data[pos : pos + 1] == b"N":  # no-op
            pos += 1
        is_object, left = stack[-1]
        if left == 0 or (left is None and data[pos : pos + 1] == (b"}" if is_object else b"]")):
            pos += left is None  # the closing marker
            stack.pop()
            continue
        if left is not None:
            stack[-1][1] -= 1
        if is_object:
            take(integer("a key length"), "a key")
        kind = marker("a value marker")
        if kind in SIZES:
            take(SIZES[kind], f"a {kind!r} number")
        elif kind == "S":
            take(integer("a string length"), "a string")
        elif kind in "[{":
            typed = count = None
            if data[pos : pos + 1] == b"$":
                pos += 1
                typed = marker("a container type")
                if kind == "{" or typed not in SIZES or data[pos : pos + 1] != b"#":
                    raise ValueError(f"unsupported typed container at offset {pos - 2}")
            if data[pos : pos + 1] == b"#":
                pos += 1
                count = integer("a count")
            if typed:
                take(count * SIZES[typed], f"an array of {count} {typed!r}")
            elif count is None or 0 <= count <= len(data) - pos:  # every item takes a byte
                stack.append([kind == "{", count])
            else:
                raise ValueError(f"a count of {count} at offset {pos} exceeds the bytes left")
        elif kind not in "TFZ":
            raise ValueError(f"unknown marker {kind!r} at offset {pos - 1}")
    if pos != len(data):
        raise ValueError(f"{len(data) - pos} bytes follow the value at offset {pos}")
