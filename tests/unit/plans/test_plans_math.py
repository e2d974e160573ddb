"""plan_math: the plan's part of a holder's money and exact proportional splits."""

from __future__ import annotations

import pytest

from cunguan.custody.plan_math import part, split


def test_part():
    assert part(22001, 3, 4) == 16500
    assert part(100, 5, 4) == 100  # never more than the whole
    assert part(100, 0, 4) == 0 and part(100, 3, 0) == 0
    assert part(0, 1, 1) == 0


@pytest.mark.parametrize("total,weights,caps", [
    (100, [1, 1, 1], None), (1, [5, 5], None), (7, [0, 0], None), (10, [3, 7], [3, 7]), (9, [3, 7], [3, 7]),
    (1000, [1, 2, 3, 4], None), (5, [1, 0], [1, 4]), (0, [1, 2], None),
])
def test_split_adds_up_within_caps(total, weights, caps):
    out = split(total, weights, caps)
    assert sum(out) == total
    if caps is not None:
        assert all(0 <= o <= c for o, c in zip(out, caps, strict=True))


def test_split_proportional():
    assert split(100, [1, 3]) == [25, 75]
    assert split(10, [1, 1, 1]) == [4, 3, 3]
    assert split(10, [3, 7], [3, 7]) == [3, 7]


def test_split_refuses_caps_too_small():
    with pytest.raises(AssertionError):
        split(11, [3, 7], [3, 7])
