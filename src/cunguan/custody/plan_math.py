"""Pure arithmetic of plans (no I/O): how much of a holder's money belongs to the plan, and how an
amount is split over a plan order's matches. Integer fen only; every split adds up exactly."""

from __future__ import annotations

from collections.abc import Sequence


def part(amount_fen: int, numerator: int, denominator: int) -> int:
    """floor(amount × numerator / denominator), the plan's part of a holder's money; 0 when there is no
    whole to take a part of. The numerator is capped at the denominator (a part is never above all)."""
    assert amount_fen >= 0 and numerator >= 0
    if denominator <= 0 or numerator <= 0:
        return 0
    return amount_fen * min(numerator, denominator) // denominator


def split(total_fen: int, weights: Sequence[int], caps: Sequence[int] | None = None) -> list[int]:
    """Split `total_fen` over the weights in proportion (floors first, then the leftover fen one at a
    time to the heaviest items still under their cap). With caps, Σ caps must cover the total."""
    assert total_fen >= 0 and all(w >= 0 for w in weights)
    caps = list(caps) if caps is not None else [total_fen] * len(weights)
    assert len(caps) == len(weights) and sum(caps) >= total_fen, (total_fen, caps)
    whole = sum(weights)
    if total_fen == 0 or not weights:
        return [0] * len(weights)
    if whole == 0:
        weights, whole = [1] * len(weights), len(weights)
    out = [min(total_fen * w // whole, c) for w, c in zip(weights, caps, strict=True)]
    left = total_fen - sum(out)
    order = sorted(range(len(weights)), key=lambda i: (-weights[i], i))
    while left > 0:
        progressed = False
        for i in order:
            if left == 0:
                break
            room = caps[i] - out[i]
            if room > 0:
                take = min(room, left) if weights[i] == 0 or left > len(weights) else 1
                out[i] += take
                left -= take
                progressed = True
        assert progressed, "caps cannot hold the total"
    assert sum(out) == total_fen and all(0 <= o <= c for o, c in zip(out, caps, strict=True))
    return out
