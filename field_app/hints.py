"""What a reader typed, checked before it is kept: the value as exact thousandths of the
register's unit, whether it fits the register's digits, and whether it falls in the
range the server expects (advice: "check the digits", never a refusal).

Values are exact: text → ``Decimal`` → integer thousandths, never ``float``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation


class BadValue(ValueError):
    """The typed value cannot be a read of this register; the message says why."""


@dataclass(frozen=True)
class RegisterSpec:
    """What the pull says about a register (``stops[].registers[]``)."""

    digits: int
    decimals: int
    low_milli: int | None = None
    high_milli: int | None = None


def parse_value(text: str, spec: RegisterSpec) -> int:
    """``"10452.3"`` → ``10452300``: thousandths of the unit, within the register."""
    cleaned = text.strip().replace(",", "")
    if not cleaned:
        raise BadValue("type the reading shown on the meter")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise BadValue(f"{text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise BadValue("a reading is a number of 0 or more")
    milli = value * 1000
    if milli != milli.to_integral_value():
        raise BadValue("at most 3 decimals")
    whole_digits = len(str(int(value))) if value >= 1 else 1
    if whole_digits > spec.digits:
        raise BadValue(f"this meter shows at most {spec.digits} digits before the point")
    return int(milli)


def in_expected_range(value_milli: int, spec: RegisterSpec) -> bool | None:
    """``None`` when the server sent no range; a range with ``high < low`` crosses the
    rollover (``999990 .. 000120``)."""
    low, high = spec.low_milli, spec.high_milli
    if low is None or high is None:
        return None
    if low <= high:
        return low <= value_milli <= high
    return value_milli >= low or value_milli <= high


def format_milli(value_milli: int, decimals: int = 3) -> str:
    """``10452300`` → ``"10452.3"`` with ``decimals`` places (exact)."""
    text = f"{Decimal(value_milli) / 1000:.{decimals}f}"
    return text


def expected_range(spec: RegisterSpec) -> str | None:
    """``"10450.0 – 10900.0"`` in the register's decimals, or ``None`` without a range."""
    if spec.low_milli is None or spec.high_milli is None:
        return None
    low = format_milli(spec.low_milli, spec.decimals)
    return f"{low} – {format_milli(spec.high_milli, spec.decimals)}"


def value_from_probe(value: str, unit: str | None, spec: RegisterSpec) -> int:
    """A probe register value (``"2714.841"`` with unit ``kWh``) → thousandths. Digits
    beyond the third decimal are cut, as the meter's own display cuts them
    (``15882.6927`` → ``15882692``). A value in ``Wh`` on a kWh register is scaled (some
    meters send Wh)."""
    try:
        exact = Decimal(value.strip())
    except InvalidOperation:
        raise BadValue(f"the probe sent {value!r}, not a number") from None
    if not exact.is_finite() or exact < 0:
        raise BadValue(f"the probe sent {value!r}, not a reading")
    milli = int(exact * 1000)  # int() truncates towards zero, like the display
    if unit is not None and unit.lower() in ("wh", "varh", "vah"):
        milli //= 1000
    if len(str(milli // 1000)) > spec.digits:
        raise BadValue(f"the probe read {value}: more digits than this register has")
    return milli
