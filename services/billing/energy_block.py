"""The bill PDF's lines on rooftop solar, kVAh and demand history, from the snapshot.

Kept apart from :mod:`services.billing.documents` (which only places them) so that the
layout of the whole bill and these few figures change independently. A bill without
solar, kVAh or a ratchet gets no lines, and its PDF is as before.
"""

from __future__ import annotations

from typing import Any

from domain.indian_format import kwh


def energy_lines(snapshot: dict[str, Any]) -> list[str]:
    """The sentences the bill prints: solar units (import, export, net, banked, settled),
    kVAh and power factor, and the earlier demands a ratchet weighed."""
    lines: list[str] = []
    solar = snapshot.get("solar")
    if solar:
        scheme = "net metering" if solar["scheme"] == "net" else "gross metering"
        text = (
            f"Rooftop solar ({scheme}): imported {kwh(solar['import_wh'])} kWh, "
            f"exported {kwh(solar['export_wh'])} kWh, net {_signed(solar['net_wh'])} kWh"
        )
        if solar["scheme"] == "net":
            text += (
                f"; banked from the last bill {kwh(solar['banked_in_wh'])} kWh, "
                f"billed {kwh(solar['billed_wh'])} kWh, "
                f"settled {kwh(solar['settled_wh'])} kWh, "
                f"lapsed {kwh(solar['lapsed_wh'])} kWh, "
                f"banked to the next bill {kwh(solar['banked_out_wh'])} kWh"
            )
        lines.append(text + ".")
    usage = snapshot.get("usage", {})
    if "kvah_vah" in usage:
        text = f"Apparent energy: {kwh(usage['kvah_vah'])} kVAh"
        if "power_factor" in usage:
            text += f", average power factor {usage['power_factor']} (kWh ÷ kVAh)"
        lines.append(text + ".")
    if usage.get("past_demands_w"):
        shown = ", ".join(kwh(w) for w in usage["past_demands_w"])  # W → kW, as Wh → kWh
        unit = usage.get("demand_unit", "kW")
        lines.append(f"Maximum demand on earlier bills, latest first: {shown} {unit}.")
    return lines


def _signed(wh: int) -> str:
    return f"-{kwh(-wh)}" if wh < 0 else kwh(wh)
