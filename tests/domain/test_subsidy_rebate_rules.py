"""Subsidies billed to the government, and the prompt-payment rebate, as pure rules.

GNCTD's scheme (Delhi Cabinet decision announced 1 August 2019; the Rs 800 cap confirmed by
the Power Department on 3 August 2019), on DERC's FY 2019-20 domestic schedule
(tests/fixtures/tariffs/derc_2019_20_domestic.json): a zero bill up to 200 units a month;
for 201 to 400 units, 50% of the bill, at most Rs 800 a month. The fixture holds fixed and
energy charges only (PPAC, surcharges and tax are outside the schedule), so the subsidy's
base here is FC and EC.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tariff_helpers import check, load_json, quote_total

from domain.billing import BillLineData, prompt_rebate
from domain.rebate import RebateTerms, earns, forfeits
from domain.subsidy import claims
from domain.tariff import PromptPayment, TariffError, parse_tariff

JULY = date(2024, 7, 1)  # calendar-month proration: 31 days is exactly one month
GNCTD = [
    {"code": "SUB200", "description": "GNCTD subsidy (zero bill up to 200 units)",
     "percent": "100", "base": ["FC", "EC"], "when_kwh": {"up_to": "200"},
     "billed_to": "government"},
    {"code": "SUB400", "description": "GNCTD subsidy (50% for 201-400 units, at most Rs 800)",
     "percent": "50", "base": ["FC", "EC"], "cap_per_month": "800",
     "when_kwh": {"above": "200", "up_to": "400"}, "billed_to": "government"},
]  # fmt: skip
DERC = load_json("tariffs/derc_2019_20_domestic.json")
SUBSIDISED = parse_tariff({**DERC, "credits": GNCTD})
PLAIN = parse_tariff(DERC)


@pytest.mark.parametrize(
    ("kwh", "load_kw", "expected", "total"),
    [
        # FC 1 kW x 20 = 20.00, EC 150 x 3 = 450.00: the whole 470.00 is the government's.
        ("150", "1", {"FC": "20.00", "EC.1": "450.00", "SUB200": "-470.00"}, "0.00"),
        # 200 kWh at 2 kW: 40 + 600 = 640.00, still a zero bill.
        ("200", "2", {"FC": "40.00", "EC.1": "600.00", "SUB200": "-640.00"}, "0.00"),
        # 300 kWh at 2 kW: 40 + 600 + 100 x 4.50 = 1090.00; half is 545.00 (under the cap).
        ("300", "2", {"FC": "40.00", "EC.1": "600.00", "EC.2": "450.00", "SUB400": "-545.00"},
         "545.00"),
        # 400 kWh at 5 kW: 250 + 600 + 900 = 1750.00; half 875.00 is capped at 800.00.
        ("400", "5", {"FC": "250.00", "EC.1": "600.00", "EC.2": "900.00", "SUB400": "-800.00"},
         "950.00"),
        # 401 kWh: no subsidy at all.
        ("401", "2", {"FC": "40.00", "EC.1": "600.00", "EC.2": "900.00", "EC.3": "6.50"},
         "1546.50"),
    ],
)  # fmt: skip
def test_gnctd_subsidy_on_derc_domestic(
    kwh: str, load_kw: str, expected: dict[str, str], total: str
) -> None:
    quote = quote_total(SUBSIDISED, kwh, JULY, 31, load_kw)
    check(quote, expected, total)
    assert {ln.code for ln in quote.lines if ln.component == "subsidy"} == {
        code for code in expected if code.startswith("SUB")
    }


@settings(max_examples=60, deadline=None)
@given(
    kwh=st.decimals(min_value=0, max_value=600, places=3, allow_nan=False),
    days=st.integers(min_value=20, max_value=45),
    load=st.sampled_from(["1", "2", "3.5", "8"]),
)
def test_the_government_and_the_customer_share_the_bill_before_subsidy(
    kwh: Decimal, days: int, load: str
) -> None:
    with_subsidy = quote_total(SUBSIDISED, str(kwh), JULY, days, load)
    without = quote_total(PLAIN, str(kwh), JULY, days, load)
    lines = [
        (ln.component, ln.code, ln.description, int(ln.amount * 100)) for ln in with_subsidy.lines
    ]
    government = sum(c.amount_paise for c in claims(lines))
    assert government >= 0
    assert int(with_subsidy.total * 100) + government == int(without.total * 100)
    assert with_subsidy.total >= 0


def test_billed_to_is_a_credit_field_and_names_who_pays() -> None:
    with pytest.raises(TariffError, match=r"credits\[0\]\.billed_to"):
        parse_tariff({**DERC, "credits": [{**GNCTD[0], "billed_to": "state"}]})
    with pytest.raises(TariffError, match="billed_to"):
        parse_tariff({**DERC, "levies": [{**GNCTD[0], "billed_to": "government"}]})
    own = parse_tariff({**DERC, "credits": [{**GNCTD[0], "billed_to": "customer"}]})
    quote = quote_total(own, "150", JULY, 31, "1")
    assert [ln.component for ln in quote.lines if ln.code == "SUB200"] == ["credit"]


def test_claims_add_up_per_scheme_and_ignore_other_lines() -> None:
    lines = [
        ("energy", "EC", "Energy", 60_000),
        ("subsidy", "SUB", "Scheme", -30_000),
        ("credit", "FREE", "Free units", -1_000),
        ("subsidy", "SUB", "Scheme", -500),
        ("subsidy", "ZERO", "Nothing", 0),
    ]
    assert [(c.code, c.amount_paise) for c in claims(lines)] == [("SUB", 30_500)]


amounts = st.lists(st.integers(min_value=-(10**8), max_value=10**8), max_size=6)


@settings(max_examples=100, deadline=None)
@given(
    amounts=amounts,
    percent=st.decimals(min_value=0, max_value=100, places=2, allow_nan=False),
)
def test_the_rebate_is_never_more_than_its_base_nor_negative(
    amounts: list[int], percent: Decimal
) -> None:
    lines = [BillLineData("energy", f"EC.{i}", "", "", "", "", a) for i, a in enumerate(amounts)]
    lines.append(BillLineData("levy", "ED", "", "", "", "", 10**6))  # not in the base
    rebate = prompt_rebate(PromptPayment(percent, 7, ("EC",)), lines)
    assert 0 <= rebate <= max(0, sum(amounts))


def test_msedcl_prompt_payment_discount_to_the_paisa() -> None:
    """MERC's prompt payment discount on MSEDCL LT-I(B), 221 kWh in a 30-day June (see
    test_tariff_orders.test_msedcl_221_units): 1% of 1817.12 (duty excluded) = 18.17."""
    doc = load_json("tariffs/msedcl_2020_21_lt1b_residential.json")
    rule = {"percent": "1", "within_days": 7, "base": ["FC", "EC", "WC", "FAC"]}
    t = parse_tariff({**doc, "prompt_payment": rule})
    quote = quote_total(t, "221", date(2024, 6, 1), 30)
    lines = [
        BillLineData(ln.component, ln.code, "", "", "", "", int(ln.amount * 100))
        for ln in quote.lines
    ]
    assert t.prompt_payment is not None
    assert prompt_rebate(t.prompt_payment, lines) == 1_817
    with pytest.raises(TariffError, match=r"prompt_payment\.percent.*at most 100"):
        parse_tariff({**doc, "prompt_payment": {**rule, "percent": "100.5"}})


def test_a_bill_earns_its_rebate_once_when_settled_in_time_and_forfeits_it_when_unsettled() -> None:
    terms = RebateTerms(1, "BL/2026-27/000001", 1_817, date(2026, 5, 18))
    assert earns(terms, owed_paise=0, settled_on=date(2026, 5, 18), live_paise=0)
    assert earns(terms, owed_paise=-500, settled_on=date(2026, 5, 12), live_paise=0)
    assert not earns(terms, owed_paise=1, settled_on=date(2026, 5, 12), live_paise=0)
    assert not earns(terms, owed_paise=0, settled_on=date(2026, 5, 19), live_paise=0)
    assert not earns(terms, owed_paise=0, settled_on=date(2026, 5, 12), live_paise=-1_817)
    assert not earns(
        RebateTerms(1, "", 0, date(2026, 5, 18)),
        owed_paise=0,
        settled_on=date(2026, 5, 12),
        live_paise=0,
    )
    assert forfeits(owed_paise=1, live_paise=-1_817)
    assert not forfeits(owed_paise=0, live_paise=-1_817)
    assert not forfeits(owed_paise=1, live_paise=0)
