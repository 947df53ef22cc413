"""What ingestion needs to know about a register, loaded once per run and per meter.

For each row the pipeline asks: which register is this (by meter serial and OBIS code),
was the meter installed then, with what CT/PT multiplier, on which account's service
point, is that account active, and when was the meter last billed. A run of millions of
rows touches a few thousand registers, so the answers are loaded per batch of new
serials (a handful of queries) and kept in memory for the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from domain.enums import AccountStatus, MeterKind, RegisterUnit
from domain.usage_aggregates import direction_of
from domain.vee import Installation, multiplier
from store.sql import Sql, as_date, as_date_or_none, as_dt, as_dt_or_none

MAX_TIME = datetime.max.replace(tzinfo=UTC)
CUMULATIVE_UNITS = frozenset(
    {RegisterUnit.KWH.value, RegisterUnit.KVARH.value, RegisterUnit.KVAH.value}
)


@dataclass(frozen=True, slots=True)
class AccountSpan:
    account_id: int
    connected_on: date
    closed_on: date | None
    active: bool


@dataclass(slots=True)
class InstallationInfo:
    installed_at: datetime
    removed_at: datetime | None
    service_point_id: int
    multipliers: list[tuple[datetime, Fraction]] = field(default_factory=list)
    accounts: list[AccountSpan] = field(default_factory=list)

    def factor_at(self, moment: datetime) -> Fraction:
        factor = Fraction(1)
        for effective_from, value in self.multipliers:  # oldest first
            if effective_from <= moment:
                factor = value
        return factor

    def account_at(self, day: date) -> AccountSpan | None:
        """The account on this service point on ``day`` (the latest connected, if several)."""
        found = None
        for span in self.accounts:  # oldest first
            if span.connected_on <= day and (span.closed_on is None or day <= span.closed_on):
                found = span
        return found


@dataclass(slots=True)
class RegisterInfo:
    id: int
    meter_id: int
    serial: str
    obis: str
    digits: int
    cumulative: bool  # an energy register (kWh, kvarh, kVAh), not a demand register
    meter_kind: MeterKind
    installations: list[InstallationInfo]
    last_billed_at: datetime | None
    direction: str  # domain.usage_aggregates: IMPORT, EXPORT or NOT_AGGREGATED
    # The span in which no timing rule can fire and the constants hold (the fast path).
    plain_from: datetime = MAX_TIME
    plain_until: datetime = MAX_TIME
    plain_factor: Fraction = Fraction(1)
    plain_account: AccountSpan | None = None
    plain_since_day: date = date.max
    plain_until_day: date = date.max
    first_installed_at: datetime | None = None
    """When the meter was first installed (None: never): no reading of it is older."""

    @property
    def windows(self) -> list[Installation]:
        return [Installation(i.installed_at, i.removed_at) for i in self.installations]

    def installation_at(self, moment: datetime) -> InstallationInfo | None:
        for inst in self.installations:
            if inst.installed_at <= moment and (
                inst.removed_at is None or moment < inst.removed_at
            ):
                return inst
        return None

    def prepare(self) -> None:
        """Work out the fast path: one installation, one multiplier, one account in a span."""
        if self.installations:  # loaded oldest first
            self.first_installed_at = self.installations[0].installed_at
        if len(self.installations) != 1:
            return
        inst = self.installations[0]
        if len(inst.multipliers) > 1 or len(inst.accounts) > 1:
            return
        start = inst.installed_at
        if self.last_billed_at is not None and self.last_billed_at >= start:
            start = self.last_billed_at + timedelta(microseconds=1)
        self.plain_from = start
        self.plain_until = inst.removed_at or MAX_TIME
        self.plain_factor = inst.multipliers[0][1] if inst.multipliers else Fraction(1)
        if inst.multipliers and inst.multipliers[0][0] > inst.installed_at:
            self.plain_from = max(self.plain_from, inst.multipliers[0][0])
        if inst.accounts:
            span = inst.accounts[0]
            self.plain_account = span
            self.plain_since_day = span.connected_on
            self.plain_until_day = span.closed_on or date.max

    def factor_at(self, moment: datetime) -> Fraction:
        inst = self.installation_at(moment)
        return inst.factor_at(moment) if inst is not None else Fraction(1)

    def account_at(self, moment: datetime, zone: ZoneInfo) -> AccountSpan | None:
        inst = self.installation_at(moment)
        if inst is None:
            return None
        return inst.account_at(moment.astimezone(zone).date())


class RegisterCatalog:
    """Registers by (serial, OBIS code), loaded on demand and kept for the run."""

    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        self.by_key: dict[tuple[str, str], RegisterInfo] = {}
        self.by_id: dict[int, RegisterInfo] = {}
        self.known_serials: set[str] = set()
        self.unknown_serials: set[str] = set()

    def get(self, serial: str, obis: str) -> RegisterInfo | None:
        return self.by_key.get((serial, obis))

    def has_meter(self, serial: str) -> bool:
        return serial in self.known_serials

    async def load(self, serials: Iterable[str], sql: Sql | None = None) -> None:
        """Load the registers of these serials not known yet.

        ``sql`` is the connection to read on (by default the catalog's own): a caller
        inside a transaction passes its own, so that it needs no second connection.
        """
        wanted = sorted(
            {s for s in serials if s not in self.known_serials and s not in self.unknown_serials}
        )
        for start in range(0, len(wanted), 2000):
            await self._load(wanted[start : start + 2000], sql or self.sql)

    async def load_ids(self, register_ids: Iterable[int]) -> None:
        missing = sorted({i for i in register_ids if i not in self.by_id})
        if not missing:
            return
        rows = await self.sql.rows(
            "SELECT DISTINCT m.serial FROM registers r JOIN meters m ON m.id = r.meter_id "  # noqa: S608
            f"WHERE r.id IN ({Sql.marks(len(missing))})",
            missing,
        )
        await self.load(str(r["serial"]) for r in rows)

    async def _load(self, serials: list[str], sql: Sql) -> None:
        meters = await sql.rows(
            f"SELECT id, serial, kind FROM meters WHERE serial IN ({Sql.marks(len(serials))})",  # noqa: S608
            serials,
        )
        found = {str(m["serial"]) for m in meters}
        self.unknown_serials |= set(serials) - found
        self.known_serials |= found
        if not meters:
            return
        meter_ids = [int(m["id"]) for m in meters]
        marks = Sql.marks(len(meter_ids))
        registers = await sql.rows(
            f"SELECT id, meter_id, obis_code, digits, unit FROM registers WHERE meter_id IN ({marks})",  # noqa: S608
            meter_ids,
        )
        installs = await sql.rows(
            "SELECT id, meter_id, service_point_id, installed_at, removed_at "  # noqa: S608
            f"FROM meter_installations WHERE meter_id IN ({marks}) ORDER BY installed_at",
            meter_ids,
        )
        billed = await sql.rows(
            "SELECT r.meter_id, MAX(rr.read_at) AS at FROM register_reads rr "  # noqa: S608
            f"JOIN registers r ON r.id = rr.register_id WHERE r.meter_id IN ({marks}) "
            "AND rr.billed = ? GROUP BY r.meter_id",
            [*meter_ids, sql.flag(True)],
        )
        by_install = await self._installations(installs, sql)
        installs_by_meter: dict[int, list[InstallationInfo]] = defaultdict(list)
        for row in installs:
            installs_by_meter[int(row["meter_id"])].append(by_install[int(row["id"])])
        billed_at = {int(r["meter_id"]): as_dt(r["at"]) for r in billed if r["at"] is not None}
        meter_by_id = {int(m["id"]): m for m in meters}
        for r in registers:
            meter = meter_by_id[int(r["meter_id"])]
            info = RegisterInfo(
                id=int(r["id"]),
                meter_id=int(r["meter_id"]),
                serial=str(meter["serial"]),
                obis=str(r["obis_code"]),
                digits=int(r["digits"]),
                cumulative=r["unit"] in CUMULATIVE_UNITS,
                meter_kind=MeterKind(meter["kind"]),
                installations=installs_by_meter.get(int(r["meter_id"]), []),
                last_billed_at=billed_at.get(int(r["meter_id"])),
                direction=direction_of(str(r["obis_code"])),
            )
            info.prepare()
            self.by_key[info.serial, info.obis] = info
            self.by_id[info.id] = info

    async def _installations(
        self, installs: list[dict[str, Any]], sql: Sql
    ) -> dict[int, InstallationInfo]:
        out: dict[int, InstallationInfo] = {}
        if not installs:
            return out
        for row in installs:
            out[int(row["id"])] = InstallationInfo(
                installed_at=as_dt(row["installed_at"]),
                removed_at=as_dt_or_none(row["removed_at"]),
                service_point_id=int(row["service_point_id"]),
            )
        ids = list(out)
        for m in await sql.rows(
            "SELECT installation_id, effective_from, ct_primary_a, ct_secondary_a, "  # noqa: S608
            "pt_primary_v, pt_secondary_v FROM multiplier_changes "
            f"WHERE installation_id IN ({Sql.marks(len(ids))}) ORDER BY effective_from",
            ids,
        ):
            factor = multiplier(
                int(m["ct_primary_a"]),
                int(m["ct_secondary_a"]),
                int(m["pt_primary_v"]),
                int(m["pt_secondary_v"]),
            )
            out[int(m["installation_id"])].multipliers.append((as_dt(m["effective_from"]), factor))
        points = sorted({i.service_point_id for i in out.values()})
        accounts: dict[int, list[AccountSpan]] = defaultdict(list)
        for a in await sql.rows(
            "SELECT id, service_point_id, status, connected_on, closed_on FROM accounts "  # noqa: S608
            f"WHERE service_point_id IN ({Sql.marks(len(points))}) ORDER BY connected_on, id",
            points,
        ):
            accounts[int(a["service_point_id"])].append(
                AccountSpan(
                    int(a["id"]),
                    as_date(a["connected_on"]),
                    as_date_or_none(a["closed_on"]),
                    a["status"] == AccountStatus.ACTIVE.value,
                )
            )
        for inst in out.values():
            inst.accounts = accounts.get(inst.service_point_id, [])
        return out
