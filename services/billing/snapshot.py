"""What an issued bill's document shows, frozen in its snapshot at issue.

Issuing (:mod:`services.billing.issue`) completes each bill's ``snapshot`` with a
``document`` part: the number and dates, the account, customer and premise, the reads
and lines priced, twelve months of billed energy, how the arrears came about, the late
payment surcharge, the prompt payment rebate and the UPI link; the customer's language, the
utility's letterhead (address, helpline, GSTIN) and the tariff's proration rule, so the
PDF can explain a prorated charge. The credits and debits posted since the previous bill
(a prompt-payment rebate earned, a cheque returned and its fee, a rebill's credit note and
adjustments) are listed one by one under "Other credits and debits"
(``arrears.other_items``). Parts added later are optional for the PDF: bills issued before
them still render. The bill PDF
(:mod:`services.billing.documents`) is drawn from it alone, so rendering a bill again,
years later, gives the same bill whatever changed since. The snapshot never changes
after issue.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from domain.billing import BillLineData, upi_link
from domain.enums import LedgerKind
from domain.tariff import PromptPayment, Proration
from services.accounts.ledger import bill_key
from store.sql import Sql, as_date, as_dt_or_none

HISTORY_MONTHS = 12


@dataclass(frozen=True)
class Sources:
    """A chunk's lines, reads and billed-energy history, loaded in three queries."""

    lines: dict[int, list[BillLineData]]  # by bill id, in position order
    reads: dict[int, list[dict[str, Any]]]  # by bill id
    history: dict[int, list[dict[str, Any]]]  # by account id


async def load(
    sql: Sql, bill_ids: Sequence[int], account_ids: Sequence[int], issue_date: date
) -> Sources:
    """Everything the documents of a chunk of bills need beyond the bill rows themselves."""
    return Sources(
        await _lines(sql, bill_ids),
        await _reads(sql, bill_ids),
        await _history(sql, account_ids, issue_date),
    )


@dataclass(frozen=True)
class Charges:
    """The amounts issuing decided for one bill (see :mod:`services.billing.issue`)."""

    arrears_paise: int
    late_fee_paise: int
    overdue_paise: int
    payable_paise: int
    rebate_paise: int
    prompt: PromptPayment | None


def document(
    b: dict[str, Any],
    sources: Sources,
    charges: Charges,
    *,
    number: str,
    issue_date: date,
    due_on: date,
    previous: dict[str, Any] | None,
    recent: list[Any],
    utility_name: str,
    payee_vpa: str,
    letterhead: Mapping[str, str] | None = None,
    proration: Proration | None = None,
) -> dict[str, Any]:
    """The ``document`` part of bill ``b``'s snapshot (``b`` is a row of the issue query)."""
    prompt = charges.prompt
    return {
        "utility": utility_name,
        "letterhead": dict(letterhead or {}),
        "language": b.get("language") or "en",
        "proration": {"basis": proration.basis, "days": proration.days} if proration else None,
        "number": number,
        "issue_date": issue_date.isoformat(),
        "due_date": due_on.isoformat(),
        "account": {
            "number": b["account_number"],
            "category": b["category"],
            "sanctioned_load_kw": _kw(b["sanctioned_load_w"]),
        },
        "customer": {"number": b["customer_number"], "name": b["customer_name"]},
        "premise": _address(b),
        "reads": sources.reads.get(b["id"], []),
        "lines": [_line_json(line) for line in sources.lines[b["id"]]],
        "history": sources.history.get(b["account_id"], []),
        "arrears": _arrears(previous, recent, charges.arrears_paise),
        "late_fee": {"paise": charges.late_fee_paise, "overdue_paise": charges.overdue_paise,
                     "bill": previous["number"] if previous else None},
        "prompt_rebate": {
            "paise": charges.rebate_paise,
            "by": (issue_date + timedelta(days=prompt.within_days)).isoformat() if prompt else None,
        },
        "upi": upi_link(
            payee_vpa=payee_vpa,
            payee_name=utility_name,
            amount_paise=charges.payable_paise,
            note=f"Electricity bill {number}",
        ),
    }  # fmt: skip


def _kw(watts: int) -> str:
    whole, rest = divmod(watts, 1000)
    return str(whole) if not rest else str(Decimal(watts).scaleb(-3).normalize())


def _address(b: dict[str, Any]) -> list[str]:
    first = ", ".join(x for x in (b["address_line1"], b["address_line2"]) if x)
    second = ", ".join(x for x in (b["locality"], b["city"]) if x)
    return [first, f"{second} {b['postal_code']}".strip(), b["state"]]


def _line_json(line: BillLineData) -> dict[str, Any]:
    return {
        "code": line.code,
        "description": line.description,
        "quantity": line.quantity,
        "unit": line.unit,
        "rate": line.rate,
        "amount_paise": line.amount_paise,
        "component": line.component,
    }


def _arrears(prev: dict[str, Any] | None, recent: list[Any], arrears: int) -> dict[str, Any]:
    if prev is None:
        return {"previous_bill": None, "previous_payable_paise": 0, "payments_paise": 0,
                "other_paise": arrears, "other_items": [], "arrears_paise": arrears}  # fmt: skip
    issued_on = as_date(prev["issue_date"])
    own = {bill_key(prev["id"])}
    since = [e for e in recent if e.effective_on >= issued_on and e.source_key not in own]
    since = [
        e for e in since if not e.source_key.startswith("late_fee:") or e.effective_on > issued_on
    ]
    payments = sum(e.amount_paise for e in since if e.kind == LedgerKind.PAYMENT.value)
    previous = prev["payable_paise"]
    return {
        "previous_bill": prev["number"],
        "previous_payable_paise": previous,
        "payments_paise": payments,
        "other_paise": arrears - previous - payments,
        "other_items": [
            {"description": e.description, "paise": e.amount_paise}
            for e in since
            if e.kind != LedgerKind.PAYMENT.value  # a rebill's replacement bill is listed
        ],
        "arrears_paise": arrears,
    }


async def _lines(sql: Sql, ids: Sequence[int]) -> dict[int, list[BillLineData]]:
    found: dict[int, list[BillLineData]] = defaultdict(list)
    for r in await sql.rows(
        "SELECT bill_id, component, code, description, quantity, unit, rate, amount_paise, "  # noqa: S608
        f"tou_period FROM bill_lines WHERE bill_id IN ({sql.marks(len(ids))}) ORDER BY bill_id, position",
        list(ids),
    ):
        found[r["bill_id"]].append(
            BillLineData(
                r["component"], r["code"], r["description"], r["quantity"], r["unit"], r["rate"],
                r["amount_paise"], r["tou_period"],
            )
        )  # fmt: skip
    return found


async def _reads(sql: Sql, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in await sql.rows(
        "SELECT br.bill_id, g.obis_code, g.unit, g.decimals, m.serial, br.opening_milli, br.closing_milli, "  # noqa: S608
        "br.multiplier, br.consumption_wh, br.is_estimated, o.read_at AS opening_at, "
        "c.read_at AS closing_at FROM bill_reads br "
        "JOIN registers g ON g.id = br.register_id JOIN meters m ON m.id = g.meter_id "
        "LEFT JOIN register_reads o ON o.id = br.opening_read_id "
        "LEFT JOIN register_reads c ON c.id = br.closing_read_id "
        f"WHERE br.bill_id IN ({sql.marks(len(ids))}) ORDER BY br.bill_id, br.id",
        list(ids),
    ):
        opening_at, closing_at = as_dt_or_none(r["opening_at"]), as_dt_or_none(r["closing_at"])
        found[r["bill_id"]].append(
            {
                "meter": r["serial"],
                "register": r["obis_code"],
                "unit": r["unit"],
                "decimals": r["decimals"],
                "opening": r["opening_milli"],
                "closing": r["closing_milli"],
                "opening_at": opening_at.isoformat() if opening_at else None,
                "closing_at": closing_at.isoformat() if closing_at else None,
                "multiplier": r["multiplier"],
                "wh": r["consumption_wh"],
                "estimated": bool(r["is_estimated"]),
            }
        )
    return found


async def _history(
    sql: Sql, account_ids: Sequence[int], issue_date: date
) -> dict[int, list[dict[str, Any]]]:
    """Energy billed in each of the last 12 months (by the month a bill's period ends)."""
    since = issue_date - timedelta(days=HISTORY_MONTHS * 31 + 31)
    months: dict[int, dict[str, list[Any]]] = defaultdict(dict)
    for r in await sql.rows(
        "SELECT account_id, period_end, consumption_wh, is_estimated FROM bills "  # noqa: S608
        f"WHERE account_id IN ({sql.marks(len(account_ids))}) AND active_period IS NOT NULL "
        "AND period_end >= ? ORDER BY account_id, period_start",
        [*account_ids, sql.day(since)],
    ):
        key = f"{as_date(r['period_end']):%Y-%m}"
        slot = months[r["account_id"]].setdefault(key, [0, False])
        slot[0] += r["consumption_wh"]
        slot[1] = slot[1] or bool(r["is_estimated"])
    return {
        account: [
            {"month": k, "wh": v[0], "estimated": v[1]}
            for k, v in sorted(found.items())[-HISTORY_MONTHS:]
        ]
        for account, found in months.items()
    }
