"""Every fixed text of the bill PDF, in English and Hindi, chosen by the customer's language.

A bill is printed in the language its snapshot froze at issue (the customer's ``language``,
``en`` or ``hi``; anything else, or an old snapshot without one, prints in English), so
rendering it again gives the same words. The tariff's own line descriptions come from the
tariff document in English; :func:`describe` writes the usual ones (energy charge, fixed
charge, electricity duty…) and time-of-day period names in Hindi, and leaves any other
text as the tariff gives it.

Hindi texts keep Latin unit symbols (kWh, kW) apart from Devanagari words with a space: a
word is shaped in one face (see :mod:`services.billing.bill_fonts`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("en", "hi")

TEXTS: dict[str, tuple[str, str]] = {
    # key: (English, Hindi)
    "title": ("Electricity bill", "बिजली बिल"),
    "helpline": ("Helpline", "हेल्पलाइन"),
    "gstin": ("GSTIN", "जीएसटीआईएन"),
    "bill_number": ("Bill number", "बिल संख्या"),
    "bill_date": ("Bill date", "बिल तिथि"),
    "account": ("Account", "खाता संख्या"),
    "due_date": ("Due date", "देय तिथि"),
    "customer": ("Customer", "उपभोक्ता"),
    "category": ("Category", "श्रेणी"),
    "premise": ("Premise", "परिसर"),
    "sanctioned_load": ("Sanctioned load", "स्वीकृत भार"),
    "period": ("Period", "बिल अवधि"),
    "period_range": ("{start} to {end}", "{start} से {end}"),
    "estimated_bill": (
        " (ESTIMATED: no actual read this period)",
        " (अनुमानित: इस अवधि की वास्तविक रीडिंग नहीं)",
    ),
    "final_bill": (" (FINAL BILL: move-out)", " (अंतिम बिल: परिसर छोड़ने पर)"),
    "reads": ("Meter reads used", "प्रयुक्त मीटर रीडिंग"),
    "meter": ("Meter", "मीटर"),
    "register": ("Register", "रजिस्टर"),
    "previous": ("Previous", "पिछली"),
    "present": ("Present", "वर्तमान"),
    "multiplier": ("Multiplier", "गुणक"),
    "units": ("Units", "यूनिट"),
    "read": ("Read", "रीडिंग"),
    "actual": ("actual", "वास्तविक"),
    "estimated": ("estimated", "अनुमानित"),
    "consumption": (
        "Consumption: {kwh} kWh over {days} days",
        "खपत: {days} दिनों में {kwh} kWh",
    ),
    "max_demand": (", maximum demand {kw} {unit}", ", अधिकतम मांग {kw} {unit}"),
    "estimate_basis": (" (estimated: {basis})", " (अनुमान: {basis})"),
    "charges": ("Charges", "शुल्क विवरण"),
    "description": ("Description", "विवरण"),
    "quantity": ("Quantity", "मात्रा"),
    "rate": ("Rate", "दर"),
    "amount": ("Amount", "राशि"),
    "current_charges": ("Current charges", "वर्तमान शुल्क"),
    "previous_bill": ("Previous bill", "पिछला बिल"),
    "payments_since": ("Payments received since", "तब से प्राप्त भुगतान"),
    "other": ("Other credits and debits", "अन्य जमा और नामे"),
    "arrears": ("Arrears", "बकाया"),
    "late_fee": ("Late payment surcharge", "विलंब भुगतान अधिभार"),
    "late_fee_on": (" on {bill}", " (बिल {bill} पर)"),
    "total_payable": ("Total payable", "कुल देय राशि"),
    "pay_by": ("Pay by", "भुगतान की अंतिम तिथि"),
    "scan": ("Scan to pay {amount} by UPI", "UPI से {amount} भुगतान हेतु स्कैन करें"),
    "nothing_to_pay": (
        "Nothing to pay: the credit of {amount} is carried to your next bill.",
        "कुछ भी देय नहीं: {amount} का क्रेडिट आपके अगले बिल में जोड़ा जाएगा।",
    ),
    "rebate": (
        "Prompt payment rebate of {amount} if paid by {day}.",
        "{day} तक भुगतान करने पर {amount} की शीघ्र भुगतान छूट।",
    ),
    "chart": ("Your use over the last 12 months (kWh)", "पिछले 12 महीनों की खपत (kWh)"),
    "chart_key": (
        "* estimated month. – no bill for that month.",
        "* अनुमानित माह। – उस माह का कोई बिल नहीं।",
    ),
    "no_history": ("No earlier bills.", "पहले का कोई बिल नहीं।"),
    "tariff": ("Tariff: {tariffs}.", "टैरिफ: {tariffs}।"),
    "credit": ("Cr", "Cr"),
    "on_amount": ("on {amount}", "{amount} पर"),
    "per": ("/{unit}", " प्रति {unit}"),
    "month": ("month", "माह"),
    "months": ("months", "माह"),
    "day": ("day", "दिन"),
    "days": ("days", "दिन"),
    "year": ("year", "वर्ष"),
}

# The tariff descriptions demo and common orders use, and time-of-day period names.
DESCRIPTIONS: dict[str, str] = {
    "Energy charge": "ऊर्जा शुल्क",
    "Fixed charge": "स्थायी शुल्क",
    "Demand charge": "मांग शुल्क",
    "Wheeling charge": "व्हीलिंग शुल्क",
    "Electricity duty": "विद्युत शुल्क",
    "Tax on sale of electricity": "विद्युत विक्रय कर",
    "Time-of-day charge": "समय आधारित (ToD) शुल्क",
    "Rounding adjustment": "पूर्णांकन समायोजन",
    "Minimum charge": "न्यूनतम शुल्क",
    "Fuel adjustment charge": "ईंधन समायोजन शुल्क",
}
PERIODS: dict[str, tuple[str, str]] = {
    "peak": ("peak", "पीक"),
    "off_peak": ("off-peak", "ऑफ-पीक"),
    "normal": ("normal", "सामान्य"),
    "night": ("night", "रात्रि"),
    "solar": ("solar hours", "सौर घंटे"),
}
CATEGORIES: dict[str, tuple[str, str]] = {
    "domestic": ("Domestic", "घरेलू"),
    "commercial": ("Commercial", "वाणिज्यिक"),
    "industrial": ("Industrial", "औद्योगिक"),
    "agricultural": ("Agricultural", "कृषि"),
    "public_lighting": ("Public lighting", "सार्वजनिक प्रकाश"),
    "institutional": ("Institutional", "संस्थागत"),
}
MONTHS_HI = (
    "जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून",
    "जुलाई", "अगस्त", "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर",
)  # fmt: skip

_PERIOD = re.compile(r"\((" + "|".join(PERIODS) + r")\)")
_ABOVE = re.compile(r"\babove ([\d.,]+) (\w+)")


def language_of(code: str | None) -> str:
    """The bill's language: ``hi`` for Hindi, English otherwise (old snapshots have none)."""
    return code if code in LANGUAGES else "en"


def text(key: str, language: str, **values: str) -> str:
    """The fixed text ``key`` in ``language``, with ``values`` filled in."""
    english, hindi = TEXTS[key]
    return (hindi if language == "hi" else english).format(**values)


def day(iso: str | None, language: str, zone: str = "Asia/Kolkata") -> str:
    """``08 Mar 2026`` (Hindi: ``08 मार्च 2026``), from an ISO date, or a timestamp read in
    ``zone`` (a smart meter's midnight read, 18:30 UTC, is the next day's in India)."""
    if not iso:
        return ""
    if len(iso) > 10:
        d = datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).date()
    else:
        d = date.fromisoformat(iso)
    if language == "hi":
        return f"{d.day:02d} {MONTHS_HI[d.month - 1]} {d.year}"
    return f"{d:%d %b %Y}"


def category(code: str, language: str) -> str:
    """An account category as a customer reads it (``Public lighting``, not ``public_lighting``)."""
    names = CATEGORIES.get(code)
    return names[1 if language == "hi" else 0] if names else code


def describe(description: str, language: str) -> str:
    """A line's description as a customer reads it: period names written out (``off-peak``,
    not ``off_peak``), and in Hindi the usual charge names translated."""
    index = 1 if language == "hi" else 0
    out = _PERIOD.sub(lambda m: f"({PERIODS[m.group(1)][index]})", description)
    if language != "hi":
        return out
    for english, hindi in DESCRIPTIONS.items():
        if out.startswith(english):
            out = hindi + out[len(english) :]
            break
    return _ABOVE.sub(lambda m: f"{m.group(1)} {m.group(2)} से ऊपर", out)
