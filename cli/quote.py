"""``gridbill quote``: price one bill from a tariff file and usage, print its lines and total.

The I/O around the pure tariff engine in ``domain/``: it reads the tariff (gridbill's
format or an OpenEI URDB record, JSON numbers read as Decimal), the usage (a kWh total,
kWh per time-of-use period, or a ``timestamp,kwh`` load profile, streamed), prices it
and prints a table or JSON. Bad input of any kind is a :class:`QuoteError`: one line.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cli.commands import help_for
from cli.dates import day_option
from domain import strict_json
from domain.metering import PricingError
from domain.money import round_half_up
from domain.pricing import Quote, price
from domain.tariff import Tariff, TariffError, parse_tariff
from domain.urdb import from_urdb
from domain.usage import IntervalUsage, TotalUsage, Usage, UsageByPeriod, UsageError
from gridbill.errors import UserError
from gridbill.settings import Settings


class QuoteError(UserError):
    """Bad tariff, usage or option given to ``gridbill quote``."""


def add_parser(subparsers: Any) -> None:
    """Add ``quote`` to the ``gridbill`` command's subparsers."""
    p = subparsers.add_parser(
        "quote",
        help=help_for("quote"),
        description="Price one bill and print its lines and total. Tariff format: docs/tariffs.md.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--tariff", type=Path, metavar="FILE", help="tariff in gridbill's format")
    source.add_argument("--urdb", type=Path, metavar="FILE", help="OpenEI URDB rate record (JSON)")
    p.add_argument("--time-zone", metavar="ZONE", help="a URDB tariff's time zone (default UTC)")
    p.add_argument("--kwh", metavar="N", help="total kWh used over --days")
    p.add_argument(
        "--period-kwh",
        action="append",
        metavar="PERIOD=N",
        help="kWh in a time-of-use period (from TOU registers; repeat per period), over --days",
    )
    p.add_argument("--days", type=int, metavar="D", help="days the usage covers")
    p.add_argument(
        "--start",
        metavar="DATE",
        help="first day (default: the 1st of the current month, said in the output)",
    )
    p.add_argument("--profile", type=Path, metavar="CSV", help="load profile: timestamp,kwh rows")
    p.add_argument("--demand-kw", metavar="KW", help="maximum-demand register reading (1.6.0)")
    p.add_argument("--export-kwh", metavar="N", help="kWh exported (2.8.0, rooftop solar)")
    p.add_argument("--kvah", metavar="N", help="kVAh over --days (kVAh billing, power factor)")
    p.add_argument("--banked-kwh", metavar="N", help="solar units banked from earlier bills")
    p.add_argument(
        "--past-demand-kw",
        action="append",
        metavar="KW",
        help="demand recorded on an earlier bill, latest first (repeat; demand ratchets)",
    )
    p.add_argument("--load-kw", metavar="K", help="sanctioned load in kW")
    p.add_argument("--contract-kva", metavar="K", help="contract demand in kVA")
    p.add_argument("--holiday", action="append", metavar="DATE", help="a public holiday (repeat)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(handler=cmd_quote)


def cmd_quote(settings: Settings, args: argparse.Namespace) -> int:
    tariff = _load_tariff(args)
    usage = _usage(args, tariff.zone, settings)
    try:
        quote = price(
            tariff,
            usage,
            sanctioned_load_kw=_decimal(args.load_kw, "--load-kw"),
            contract_demand_kva=_decimal(args.contract_kva, "--contract-kva"),
            holidays=frozenset(day_option(h, "--holiday", settings) for h in args.holiday or ()),
            banked_kwh=_decimal(args.banked_kwh, "--banked-kwh") or Decimal(0),
            past_demands_kw=[
                _decimal(kw, "--past-demand-kw") or Decimal(0) for kw in args.past_demand_kw or ()
            ],
        )
    except PricingError as exc:
        raise QuoteError(str(exc)) from None
    assumed = not args.profile and not args.start
    if args.format == "json":
        print(render_json(tariff, quote, start_assumed=assumed))
    else:
        print(render_table(tariff, quote, start_assumed=assumed))
    return 0


# --- input ----------------------------------------------------------------------------


def _decimal(text: str | None, option: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise QuoteError(f"{option} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise QuoteError(f"{option} {text!r} must be zero or more")
    return value


def _read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return strict_json.loads(f.read(), parse_float=Decimal)
    except OSError as exc:
        raise QuoteError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise QuoteError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None


def _load_tariff(args: argparse.Namespace) -> Tariff:
    path: Path = args.tariff or args.urdb
    document = _read_json(path)
    if not isinstance(document, dict):
        raise QuoteError(f"{path}: a tariff is a JSON object")
    try:
        if args.urdb:
            return from_urdb(document, time_zone=args.time_zone or "UTC")
        if args.time_zone:
            raise QuoteError("--time-zone is for URDB tariffs: ours name their zone")
        return parse_tariff(document)
    except TariffError as exc:
        raise QuoteError(f"{path}: {exc}") from None


def _usage(args: argparse.Namespace, zone: ZoneInfo, settings: Settings) -> Usage:
    given = [o for o, v in (("--kwh", args.kwh), ("--period-kwh", args.period_kwh)) if v]
    if args.profile:
        if given or args.days or args.start:
            raise QuoteError("--profile gives the usage and its dates: drop --kwh, --days, --start")
        return read_profile(args.profile, zone)
    if len(given) != 1:
        raise QuoteError(
            "give the usage: --kwh N --days D, --period-kwh P=N --days D, or --profile CSV"
        )
    if not args.days or args.days < 1:
        raise QuoteError(f"{given[0]} needs --days D (a whole number of days, 1 or more)")
    month_start = datetime.now(zone).date().replace(day=1)
    start = day_option(args.start, "--start", settings, default=month_start)
    end = start + timedelta(days=args.days)
    demand = _decimal(args.demand_kw, "--demand-kw")
    try:
        if args.kwh:
            return TotalUsage(
                _decimal(args.kwh, "--kwh") or Decimal(0),
                start,
                end,
                demand,
                export_kwh=_decimal(args.export_kwh, "--export-kwh"),
                kvah=_decimal(args.kvah, "--kvah"),
            )
        if args.export_kwh or args.kvah:
            raise QuoteError("--export-kwh and --kvah go with --kwh (a total), not --period-kwh")
        return UsageByPeriod(_period_kwh(args.period_kwh), start, end, demand)
    except UsageError as exc:
        raise QuoteError(str(exc)) from None


def _period_kwh(items: Sequence[str]) -> dict[str, Decimal]:
    by_period: dict[str, Decimal] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise QuoteError(f"--period-kwh {item!r} is not PERIOD=KWH")
        by_period[name] = _decimal(value, f"--period-kwh {name}") or Decimal(0)
    return by_period


def read_profile(path: Path, zone: ZoneInfo) -> IntervalUsage:
    """A ``timestamp,kwh`` CSV of evenly spaced intervals (hourly, 15-minute, …).

    Timestamps without an offset are wall-clock time in the tariff's zone.
    """
    try:
        with path.open(newline="", encoding="utf-8") as f:
            first, interval, values = _scan_profile(path, csv.reader(f), zone)
    except OSError as exc:
        raise QuoteError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return IntervalUsage(first, interval, tuple(values))
    except UsageError as exc:
        raise QuoteError(f"{path}: {exc}") from None


def _scan_profile(
    path: Path, rows: Iterator[list[str]], zone: ZoneInfo
) -> tuple[datetime, timedelta, list[Decimal]]:
    header = [cell.strip().lower() for cell in next(rows, [])]
    if header[:2] != ["timestamp", "kwh"]:
        raise QuoteError(f"{path}:1: the header must be 'timestamp,kwh'")
    values: list[Decimal] = []
    first = previous = None
    interval = timedelta(0)
    for number, row in enumerate(rows, start=2):
        if not row or not "".join(row).strip():
            continue
        when, kwh = _profile_row(path, number, row, zone)
        if previous is None:
            first = when
        elif interval == timedelta(0):
            interval = when - previous
            if interval <= timedelta(0):
                raise QuoteError(f"{path}:{number}: timestamps must increase")
        elif when - previous != interval:
            minutes = interval.total_seconds() / 60
            raise QuoteError(
                f"{path}:{number}: expected {previous + interval} ({minutes:g}-minute intervals)"
            )
        previous = when
        values.append(kwh)
    if first is None or interval == timedelta(0):
        raise QuoteError(f"{path}: a profile needs at least two rows to show its interval")
    return first, interval, values


def _profile_row(
    path: Path, number: int, row: list[str], zone: ZoneInfo
) -> tuple[datetime, Decimal]:
    if len(row) < 2:
        raise QuoteError(f"{path}:{number}: expected timestamp,kwh")
    try:
        when = datetime.fromisoformat(row[0].strip())
    except ValueError:
        raise QuoteError(f"{path}:{number}: {row[0]!r} is not an ISO 8601 timestamp") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    try:
        kwh = Decimal(row[1].strip())
    except InvalidOperation:
        raise QuoteError(f"{path}:{number}: {row[1]!r} is not a number of kWh") from None
    if not kwh.is_finite() or kwh < 0:
        raise QuoteError(f"{path}:{number}: kWh must be zero or more")
    return when, kwh


# --- output ---------------------------------------------------------------------------


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def month_factor(quote: Quote) -> str:
    """``"30/31 = 0.967742"``: how many months the period counted as, exactly and to 6 places."""
    months = quote.months
    approx = round_half_up(months, Decimal("0.000001"))
    if months.denominator == 1:
        return str(months.numerator)
    return f"{months.numerator}/{months.denominator} = {approx}"


def quote_dict(tariff: Tariff, quote: Quote, *, start_assumed: bool = False) -> dict[str, Any]:
    """The JSON shape: decimals as strings, ``end`` exclusive."""
    return {
        "tariff": tariff.code,
        "currency": quote.currency,
        "start": quote.start.isoformat(),
        "start_assumed": start_assumed,
        "end": quote.end.isoformat(),
        "days": (quote.end - quote.start).days,
        "month_factor": month_factor(quote),
        "total": str(quote.total),
        "power_factor": None if quote.power_factor is None else str(quote.power_factor),
        "solar": None if quote.netting is None else _netting(quote),
        "lines": [
            {
                "component": line.component,
                "code": line.code,
                "description": line.description,
                "quantity": None if line.quantity is None else str(line.quantity),
                "unit": line.unit,
                "rate": None if line.rate is None else str(line.rate),
                "amount": str(line.amount),
                "tou_period": line.tou_period,
            }
            for line in quote.lines
        ],
    }


def _netting(quote: Quote) -> dict[str, str]:
    n = quote.netting
    assert n is not None
    return {
        "imported_kwh": str(n.imported),
        "exported_kwh": str(n.exported),
        "net_kwh": str(n.net),
        "banked_in_kwh": str(n.banked_in),
        "billed_kwh": str(n.billed),
        "settled_kwh": str(n.settled),
        "lapsed_kwh": str(n.lapsed),
        "banked_out_kwh": str(n.banked_out),
    }


def render_json(tariff: Tariff, quote: Quote, *, start_assumed: bool = False) -> str:
    shape = quote_dict(tariff, quote, start_assumed=start_assumed)
    return json.dumps(shape, indent=2, ensure_ascii=False)


def render_table(tariff: Tariff, quote: Quote, *, start_assumed: bool = False) -> str:
    last_day = quote.end - timedelta(days=1)
    days = (quote.end - quote.start).days
    head = [
        f"{tariff.code}: {tariff.name}",
        f"{quote.start} to {last_day} ({days} days), amounts in {quote.currency}",
        f"month factor {month_factor(quote)} ({tariff.proration.basis} proration)",
    ]
    if start_assumed:
        head.append(
            f"no --start given: dated from the 1st of the current month ({quote.start});"
            " give --start to price another month"
        )
    head.append("")
    rows = [("Code", "Description", "Quantity", "Unit", "Rate", "Amount")]
    rows += [
        (ln.code, ln.description, _text(ln.quantity), ln.unit, _text(ln.rate), str(ln.amount))
        for ln in quote.lines
    ]
    rows.append(("", "Total", "", "", "", str(quote.total)))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    right = (False, False, True, False, True, True)
    body = [
        "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)
        ).rstrip()
        for row in rows
    ]
    rule = "-" * len(max(body, key=len))
    return "\n".join([*head, body[0], rule, *body[1:-1], rule, body[-1], *_notes(quote)])


def _notes(quote: Quote) -> list[str]:
    notes = []
    if quote.power_factor is not None:
        notes.append(f"power factor {quote.power_factor}")
    n = quote.netting
    if n is not None:
        notes.append(
            f"solar: imported {n.imported} kWh, exported {n.exported} kWh, net {n.net} kWh;"
            f" banked {n.banked_in} in, {n.banked_out} carried forward"
            + (f", {n.settled} settled" if n.settled else "")
            + (f", {n.lapsed} lapsed" if n.lapsed else "")
        )
    return ["", *notes] if notes else []
