"""Which draft bills a person should look at before issuing: the review flags of a draft.

A draft is flagged when it is estimated, bills zero consumption, or its consumption is
far from the account's recent history (at least :data:`MIN_HISTORY` issued bills): above
:data:`HIGH_FACTOR` times their average, or below :data:`LOW_FACTOR` times it. Flags
never block issuing; they point the reviewer at the bills most likely to be wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

HIGH_FACTOR = Fraction(2)
LOW_FACTOR = Fraction(1, 2)
MIN_HISTORY = 3
ESTIMATED, ZERO, HIGH, LOW = "estimated", "zero", "high", "low"


def review_flags(
    consumption_wh: int, *, history_wh: Sequence[int], is_estimated: bool
) -> list[str]:
    """The reasons to look at this draft (empty when none), in a stable order."""
    flags = [ESTIMATED] if is_estimated else []
    if consumption_wh == 0:
        return [*flags, ZERO]
    if len(history_wh) < MIN_HISTORY:
        return flags
    average = Fraction(sum(history_wh), len(history_wh))
    if average > 0 and consumption_wh > average * HIGH_FACTOR:
        flags.append(HIGH)
    elif consumption_wh < average * LOW_FACTOR:
        flags.append(LOW)
    return flags
