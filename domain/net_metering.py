"""Net metering of rooftop solar: what a bill charges, banks and settles.

Indian net-metering regulations (for example DERC's Net Metering for Renewable Energy
Regulations, 2014, and the Electricity (Rights of Consumers) Rules, 2020, rule 11) have
the same shape: energy exported in a billing period nets the energy imported; a surplus
is carried forward as units to later bills; what is still banked at the end of the
settlement year (April to March unless the order says otherwise) is paid for at a rate
the commission sets, and the bank starts again from zero. Banked units are kWh, exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from domain.proration import days_in_month


@dataclass(frozen=True)
class Netting:
    """One bill's units: ``billed`` are priced on the tariff; ``banked_out`` carry forward."""

    imported: Decimal
    exported: Decimal
    banked_in: Decimal
    billed: Decimal
    surplus: Decimal  # this bill's export and bank beyond its import
    lapsed: Decimal  # above the banking cap: neither carried nor paid
    settled: Decimal  # paid at the settlement rate on this bill
    banked_out: Decimal

    @property
    def net(self) -> Decimal:
        """Import less export: negative when the roof gave more than the house took."""
        return self.imported - self.exported


def net(
    imported: Decimal,
    exported: Decimal,
    banked_in: Decimal,
    *,
    settles: bool,
    banking_cap: Decimal | None = None,
) -> Netting:
    """Net one bill. Units are conserved: import + 0 = billed + (export + bank − surplus),
    and surplus = lapsed + settled + banked_out."""
    for value, what in ((imported, "import"), (exported, "export"), (banked_in, "banked units")):
        if value < 0:
            raise ValueError(f"{what} cannot be negative: {value}")
    available = exported + banked_in
    billed = max(Decimal(0), imported - available)
    surplus = max(Decimal(0), available - imported)
    kept = surplus if banking_cap is None else min(surplus, banking_cap)
    settled = kept if settles else Decimal(0)
    return Netting(
        imported=imported,
        exported=exported,
        banked_in=banked_in,
        billed=billed,
        surplus=surplus,
        lapsed=surplus - kept,
        settled=settled,
        banked_out=kept - settled,
    )


def settlement_day(start: date, end: date, settlement_month: int) -> date | None:
    """The end of a settlement year inside ``[start, end)``, if there is one: the last
    day of ``settlement_month``. The bill holding that day settles the bank."""
    for year in range(start.year, end.year + 1):
        last = date(year, settlement_month, days_in_month(date(year, settlement_month, 1)))
        if start <= last <= end - timedelta(days=1):
            return last
    return None
