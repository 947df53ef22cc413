"""Turning energy into what a register shows: resolution, rollover and probe telegrams.

A register keeps counting the true energy, but shows only ``digits`` whole units and
``decimals`` fractions: a manual meter read by eye gives whole kWh, a probe readout two
decimals, a smart meter Wh. A 6-digit register passes 999999 kWh and starts again at 0,
which billing has to recognise, so the demo has a few meters about to do exactly that.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence

from .plan import DemoRegister


def new_uuid(rng: random.Random) -> uuid.UUID:
    """A version-4 UUID from the seeded RNG, so reruns with a seed produce the same reads."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def resolution_milli(decimals: int) -> int:
    """The step of the register's last shown digit, in thousandths of its unit."""
    return int(10 ** max(0, 3 - decimals))


def rollover_milli(digits: int) -> int:
    """Where the register passes back to zero, in thousandths of its unit."""
    return int(10**digits) * 1000


def displayed_milli(total_milli: int, digits: int, decimals: int) -> int:
    """What the register shows for ``total_milli`` thousandths of a unit since new."""
    resolution = resolution_milli(decimals)
    return total_milli // resolution * resolution % rollover_milli(digits)


def cumulative_values(
    start_milli: int, advances_milli: Sequence[int], digits: int, decimals: int
) -> list[int]:
    """The register's shown values at the opening read and after each advance."""
    total = start_milli
    values = [displayed_milli(total, digits, decimals)]
    for advance in advances_milli:
        total += advance
        values.append(displayed_milli(total, digits, decimals))
    return values


def format_value(value_milli: int, register: DemoRegister) -> str:
    """The value as the meter's display or readout prints it, e.g. ``004512.37``."""
    whole, fraction = divmod(value_milli, 1000)
    text = f"{whole:0{register.digits}d}"
    if register.decimals:
        text += "." + f"{fraction:03d}"[: register.decimals]
    return text


def probe_telegram(
    identification: str, address: str, values: Sequence[tuple[DemoRegister, int]]
) -> str:
    """An IEC 62056-21 mode C readout as the optical probe receives it (STX/ETX and the
    block check left out, so it stays readable in the database)."""
    lines = [f"/{identification}", f"0.0.0({address})"]
    lines += [
        f"{reg.obis_code}({format_value(value, reg)}*{reg.unit.value})" for reg, value in values
    ]
    lines.append("!")
    return "\r\n".join(lines) + "\r\n"
