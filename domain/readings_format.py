"""The file formats head-end systems deliver readings in: NDJSON and CSV, one row each.

A row is either an *interval reading* (``kwh``: energy in the interval starting at
``timestamp``, ``minutes`` long) or a *register reading* (``reading``: what the register
showed at ``timestamp``, in its unit). Field names are the same in both formats:

=============  ========  =============================================================
field          required  meaning
=============  ========  =============================================================
``meter``      yes       the meter's serial number
``obis``       no        the register's OBIS code, ``1.8.0`` (import) unless given;
                         ``1-0:1.8.0*255`` is read as ``1.8.0``
``timestamp``  yes       ISO 8601 with a zone: ``2026-04-01T00:15:00+05:30`` or ``…Z``
``kwh``        one of    energy in the interval, kWh (up to 3 decimals: Wh)
``reading``    the two   the register's value, in its unit (kWh, kW…), up to 3 decimals
``minutes``    no        interval length, 15 unless given (kwh rows only)
``quality``    no        the head-end's verdict: ``valid`` (default), ``estimated``,
                         ``suspect``
``uuid``       no        the capture's UUID (reading rows only); derived when absent
=============  ========  =============================================================

Parsing is pure: text in, a :class:`ReadingRow` or a :class:`RowError` (with the reason
a person can act on) out. Checks that need the database (is the meter known?) and the
VEE rules come later.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

from domain import strict_json

FIELDS: Final = ("meter", "obis", "timestamp", "kwh", "reading", "minutes", "quality", "uuid")
DEFAULT_OBIS: Final = "1.8.0"
DEFAULT_MINUTES: Final = 15
MAX_SERIAL: Final = 40
MAX_MILLI: Final = 10**12 - 1
"""Values above 999,999,999.999 (kWh, or the register's unit) are refused: no meter's
register has more than 9 whole digits, no interval carries a terawatt-hour, and a bound
here keeps every later product (multiplier, demand) inside a 64-bit column."""
MAX_UNITS: Final = Decimal(MAX_MILLI) / 1000
THOUSANDTH: Final = Decimal("0.001")
MAX_NUMBER_TEXT: Final = 40
"""A number is at most this many characters: longer text is no reading (and converting
thousands of digits costs time)."""
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 9000
"""Timestamps outside these years are refused while parsing, before any date arithmetic
can overflow; the service then applies the real window (installation .. now + margin)."""
SHOWN: Final = 40
READINGS_NAMESPACE: Final = uuid.UUID("5d0f7a7e-2b1c-4c53-9a55-6f1e4f7d8a01")


class Kind(StrEnum):
    INTERVAL = "interval"
    REGISTER = "register"


class SourceQuality(StrEnum):
    """What the head-end says of a value; our own VEE still runs on every one."""

    VALID = "valid"
    ESTIMATED = "estimated"
    SUSPECT = "suspect"


class RowError(ValueError):
    """One row that cannot be used; the message is the reason reported for its row."""


class FormatError(ValueError):
    """A whole file that cannot be read (a CSV header without the columns it needs)."""


@dataclass(slots=True)
class ReadingRow:
    row: int  # line number in the file (a CSV header is line 1)
    serial: str
    obis: str
    at: datetime  # UTC: the interval's start, or the moment of the register reading
    kind: Kind
    value: int  # interval: Wh as the meter counted it; register: thousandths of its unit
    length_s: int  # interval length in seconds, 0 for register readings
    quality: SourceQuality
    client_uuid: uuid.UUID | None

    def derived_uuid(self) -> uuid.UUID:
        """The capture's UUID: given, or derived from meter, register and time, so that
        the same reading sent again without one is recognised as the same."""
        if self.client_uuid is not None:
            return self.client_uuid
        return uuid.uuid5(READINGS_NAMESPACE, f"{self.serial}|{self.obis}|{self.at.isoformat()}")


Value = str | int | Decimal | None


def build_row(
    row: int,
    serial: Value,
    obis: Value,
    timestamp: Value,
    kwh: Value,
    reading: Value,
    minutes: Value,
    quality: Value,
    client_uuid: Value,
) -> ReadingRow:
    """A typed row from the fields' values (None or "" when a field is absent)."""
    if type(serial) is not str or not serial or serial[0] == " " or serial[-1] == " ":
        serial = serial.strip() if isinstance(serial, str) else ""
        if not serial:
            raise RowError("meter (the serial number) is missing")
    if len(serial) > MAX_SERIAL:
        raise RowError(f"meter {serial[:MAX_SERIAL]!r}… is longer than {MAX_SERIAL} characters")
    if not serial.isprintable():
        raise RowError(f"meter {serial!r} holds a control character (NUL, tab, line break…)")
    at = parse_timestamp(timestamp)
    has_kwh = kwh is not None and kwh != ""
    has_reading = reading is not None and reading != ""
    if has_kwh == has_reading:
        raise RowError("give exactly one of kwh (interval energy) or reading (register value)")
    if has_kwh:
        value = _milli(kwh, "kwh")
        kind = Kind.INTERVAL
        length_s = _minutes(minutes) * 60
        if client_uuid is not None and client_uuid != "":
            raise RowError("uuid applies to register readings, not to kwh rows")
        if at.second or at.microsecond:
            raise RowError(f"interval start {at.isoformat()} is not on a whole minute")
        parsed_uuid = None
    else:
        value = _milli(reading, "reading")
        kind = Kind.REGISTER
        length_s = 0
        if minutes is not None and minutes != "":
            raise RowError("minutes applies to kwh rows, not to register readings")
        parsed_uuid = _uuid(client_uuid)
    return ReadingRow(
        row, serial, parse_obis(obis), at, kind, value, length_s, _quality(quality), parsed_uuid
    )


_OBIS: dict[str, str] = {}


def parse_obis(value: Value) -> str:
    if value is None or value == "":
        return DEFAULT_OBIS
    if not isinstance(value, str):
        raise RowError("obis must be text like 1.8.0")
    known = _OBIS.get(value)
    if known is not None:
        return known
    code = value.strip()
    if ":" in code:
        code = code.split(":", 1)[1]
    code = code.split("*", 1)[0]
    parts = code.split(".")
    if not 2 <= len(parts) <= 3 or not all(p.isascii() and p.isdigit() for p in parts):
        raise RowError(f"obis {shown(value)} is not an OBIS code like 1.8.0")
    if len(_OBIS) < 1000:
        _OBIS[value] = code
    return code


def parse_timestamp(value: Value) -> datetime:
    if not isinstance(value, str) or not value:
        raise RowError("timestamp is missing")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RowError(
                f"timestamp {shown(value)} is not ISO 8601 like 2026-04-01T00:15:00+05:30"
            ) from None
    if moment.tzinfo is None:
        raise RowError(f"timestamp {shown(value)} has no zone: add Z or an offset like +05:30")
    if not MIN_YEAR < moment.year < MAX_YEAR:  # converting 9999-12-31T23:45-14:00 overflows
        raise RowError(f"timestamp {shown(value)} is not a plausible time of a reading")
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def shown(value: object) -> str:
    """A value as a rejection reason quotes it: its repr, cut short (a line may be 1 MiB)."""
    if isinstance(value, int) and value.bit_length() > 256:
        return f"(a number of {value.bit_length()} bits)"  # str() refuses past 4,300 digits
    text = str(value) if isinstance(value, Decimal | int) else repr(value)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}…"


def _milli(value: Value, name: str) -> int:
    if type(value) is str:
        if len(value) > MAX_NUMBER_TEXT:
            raise RowError(
                f"{name} {shown(value)} is not a number of at most {MAX_NUMBER_TEXT} characters"
            )
        whole, dot, fraction = value.partition(".")
        if (
            whole.isascii()
            and whole.isdigit()
            and (not dot or (len(fraction) <= 3 and fraction.isascii() and fraction.isdigit()))
        ):  # the usual "12.345": exact in integers, no Decimal needed
            milli = int(whole) * 1000 + (int(fraction.ljust(3, "0")) if fraction else 0)
            if milli > MAX_MILLI:
                raise RowError(_too_large(name, value))
            return milli
    if isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    elif isinstance(value, str | Decimal):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise RowError(f"{name} {shown(value)} is not a number") from None
    else:
        raise RowError(f"{name} must be a number")
    if not number.is_finite():
        raise RowError(f"{name} {shown(value)} is not a number")
    if number < 0:
        raise RowError(f"{name} {shown(value)} is negative")
    if number > MAX_UNITS:  # before any arithmetic: 1e999999999 is a billion digits
        raise RowError(_too_large(name, value))
    if number != number.quantize(THOUSANDTH):  # 1e-999999999 too: it is not 0.000
        raise RowError(f"{name} {shown(value)} has more than 3 decimals (finer than Wh)")
    return int(number * 1000)


def _too_large(name: str, value: Value) -> str:
    return f"{name} {shown(value)} is too large: at most {MAX_UNITS:,}"


def _minutes(value: Value) -> int:
    if value is None or value == "":
        return DEFAULT_MINUTES
    if isinstance(value, str) and len(value) > MAX_NUMBER_TEXT:
        raise RowError(f"minutes {shown(value)} is not a whole number")
    if isinstance(value, Decimal) and not (value.is_finite() and 0 < value <= 1440):
        raise RowError(f"minutes {shown(value)} does not divide a day (15, 30 and 60 do)")
    try:
        minutes = int(value)
    except ValueError:
        raise RowError(f"minutes {shown(value)} is not a whole number") from None
    if minutes != value and str(minutes) != str(value).strip():
        raise RowError(f"minutes {shown(value)} is not a whole number")
    if minutes <= 0 or 1440 % minutes:
        raise RowError(f"minutes {minutes} does not divide a day (15, 30 and 60 do)")
    return minutes


def _quality(value: Value) -> SourceQuality:
    if value is None or value == "":
        return SourceQuality.VALID
    try:
        return SourceQuality(str(value).strip().lower())
    except ValueError:
        raise RowError(
            f"quality {shown(value)} is not one of {', '.join(q.value for q in SourceQuality)}"
        ) from None


def _uuid(value: Value) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise RowError(f"uuid {shown(value)} is not a UUID") from None


# --- NDJSON --------------------------------------------------------------------------


def parse_ndjson_line(line: str, row: int) -> ReadingRow:
    """One JSON object per line; numbers may be JSON numbers or strings."""
    try:
        item = strict_json.loads(line, parse_float=Decimal)
    except ValueError as exc:
        raise RowError(f"not a JSON object: {exc.args[0] if exc.args else exc}") from None
    except RecursionError:  # a row is a flat object: deep nesting is never one
        raise RowError("not a flat JSON object: nested too deeply") from None
    if not isinstance(item, dict):
        raise RowError("not a JSON object")
    unknown = [key for key in item if key not in FIELDS]
    if unknown:
        raise RowError(f"unknown field {shown(unknown[0])} (fields: {', '.join(FIELDS)})")
    values: list[Value] = []
    for name in FIELDS:
        value = item.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal | None):
            raise RowError(f"{name} must be text or a number")
        values.append(value)
    return build_row(row, *values)


# --- CSV -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvLayout:
    """Where each field is in the CSV's records, from its header line."""

    positions: tuple[int | None, ...]  # per FIELDS entry
    width: int

    @classmethod
    def from_header(cls, header: Sequence[str]) -> CsvLayout:
        names = [name.strip().lower() for name in header]
        unknown = [name for name in names if name not in FIELDS]
        if unknown:
            raise FormatError(
                f"CSV header has unknown column {shown(unknown[0])} (columns: {', '.join(FIELDS)})"
            )
        if len(set(names)) != len(names):
            raise FormatError("CSV header names a column twice")
        for required in ("meter", "timestamp"):
            if required not in names:
                raise FormatError(f"CSV header has no {required!r} column")
        if "kwh" not in names and "reading" not in names:
            raise FormatError("CSV header needs a 'kwh' or a 'reading' column")
        positions = tuple(names.index(name) if name in names else None for name in FIELDS)
        return cls(positions, len(names))

    def parse(self, record: Sequence[str], row: int) -> ReadingRow:
        if len(record) != self.width:
            raise RowError(f"has {len(record)} columns, the header has {self.width}")
        return build_row(row, *[None if p is None else record[p] for p in self.positions])


class IntervalMemo:
    """The CSV interval rows of one delivery, built from remembered field conversions.

    A delivery repeats its field texts: the same few hundred serials, each timestamp once
    per meter, a few thousand distinct ``kwh`` values. :func:`build_row` checks and
    converts every field of every row (most of the parsing time); this memo
    keeps the result of each conversion that succeeded, keyed by the exact text, and
    builds a row from them when every field of a record was seen before. The conversions
    are pure, so the row is the one :func:`build_row` gives; a record with any field not
    yet seen (or a register reading, a uuid…) goes through :func:`build_row`, whose row
    then teaches the memo. Failures are never remembered: a bad row is always refused by
    :func:`build_row`, with its reason.
    """

    LIMIT: Final = 50_000  # entries per table before it starts again (memory stays flat)

    def __init__(self, layout: CsvLayout) -> None:
        self.layout = layout
        meter, obis, timestamp, kwh, reading, minutes, quality, client_uuid = layout.positions
        assert meter is not None and timestamp is not None  # CsvLayout.from_header checks
        self.meter = meter
        self.timestamp = timestamp
        self.kwh = kwh
        self.optional = [(p, table) for p, table in ((obis, "obis"), (minutes, "minutes"),
                         (quality, "quality")) if p is not None]  # fmt: skip
        self.empty = [p for p in (reading, client_uuid) if p is not None]
        self.serials: set[str] = set()
        self.starts: dict[str, datetime] = {}
        self.values: dict[str, int] = {}
        self.obis: dict[str, str] = {"": DEFAULT_OBIS}
        self.minutes: dict[str, int] = {"": DEFAULT_MINUTES * 60}
        self.quality: dict[str, SourceQuality] = {"": SourceQuality.VALID}

    def row(self, record: Sequence[str], number: int) -> ReadingRow:
        """The row of ``record``, as :meth:`CsvLayout.parse` gives it (or its RowError)."""
        kwh = self.kwh
        if len(record) == self.layout.width and kwh is not None:
            serial = record[self.meter]
            at = self.starts.get(record[self.timestamp])
            value = self.values.get(record[kwh])
            if serial in self.serials and at is not None and value is not None:
                found = self._known(record, number, serial, at, value)
                if found is not None:
                    return found
        row = self.layout.parse(record, number)
        self._learn(record, row)
        return row

    def _known(
        self, record: Sequence[str], number: int, serial: str, at: datetime, value: int
    ) -> ReadingRow | None:
        for p in self.empty:
            if record[p]:
                return None
        obis = DEFAULT_OBIS
        length_s = DEFAULT_MINUTES * 60
        quality = SourceQuality.VALID
        for p, table in self.optional:
            text = record[p]
            if table == "obis":
                known_obis = self.obis.get(text)
                if known_obis is None:
                    return None
                obis = known_obis
            elif table == "minutes":
                known_length = self.minutes.get(text)
                if known_length is None:
                    return None
                length_s = known_length
            else:
                known_quality = self.quality.get(text)
                if known_quality is None:
                    return None
                quality = known_quality
        return ReadingRow(number, serial, obis, at, Kind.INTERVAL, value, length_s, quality, None)

    def _learn(self, record: Sequence[str], row: ReadingRow) -> None:
        """Remember the conversions of a row :func:`build_row` accepted as an interval."""
        if row.kind is not Kind.INTERVAL or self.kwh is None:
            return
        if len(self.starts) >= self.LIMIT:
            self.starts.clear()
        if len(self.values) >= self.LIMIT:
            self.values.clear()
        if len(self.serials) >= self.LIMIT:
            self.serials.clear()
        raw_serial = record[self.meter]
        if raw_serial == row.serial:  # a serial that needed stripping is not remembered
            self.serials.add(raw_serial)
        self.starts[record[self.timestamp]] = row.at  # on a whole minute: build_row checked
        self.values[record[self.kwh]] = row.value
        for p, table in self.optional:
            text = record[p]
            if table == "obis" and len(self.obis) < 1000:
                self.obis[text] = row.obis
            elif table == "minutes" and len(self.minutes) < 1000:
                self.minutes[text] = row.length_s
            elif table == "quality" and len(self.quality) < 1000:
                self.quality[text] = row.quality


# --- lines of a delivery -------------------------------------------------------------

BOM: Final = b"\xef\xbb\xbf"


class LineReader:
    """The lines of one delivery, chunk after chunk, into rows (the CSV header first).

    Blank lines are skipped, a UTF-8 byte order mark on line 1 and a ``\\r`` before
    ``\\n`` are dropped. A line that is no row is handed to ``reject`` with its number
    and reason, and the rest carry on; a CSV header that cannot be read makes the whole
    delivery unreadable (:class:`FormatError`).
    """

    def __init__(self, *, csv_format: bool) -> None:
        self.csv_format = csv_format
        self.layout: CsvLayout | None = None
        self.memo: IntervalMemo | None = None

    def read(
        self, first: int, lines: Sequence[bytes], reject: Callable[[int, str], None]
    ) -> tuple[list[ReadingRow], int]:
        """Rows of ``lines`` (``first`` is the number of the first) and how many data
        lines there were (rows + rejected: the header and blank lines are not counted)."""
        rows: list[ReadingRow] = []
        append = rows.append
        csv_format = self.csv_format
        counted = 0
        for offset, raw in enumerate(lines):
            number = first + offset
            if raw[-1:] == b"\r":
                raw = raw[:-1]
            if number == 1 and raw.startswith(BOM):
                raw = raw[3:]
            if not raw or raw.isspace():
                continue
            try:
                text = raw.decode()
            except UnicodeDecodeError:
                if csv_format and self.layout is None:
                    raise FormatError("the CSV header is not UTF-8 text") from None
                counted += 1
                reject(number, "not UTF-8 text")
                continue
            if csv_format and self.layout is None:
                try:
                    self.layout = CsvLayout.from_header(next(csv.reader([text])))
                    self.memo = IntervalMemo(self.layout)
                except csv.Error as exc:
                    raise FormatError(f"the CSV header cannot be read: {exc}") from None
                continue
            counted += 1
            try:
                if csv_format:
                    assert self.memo is not None
                    record = text.split(",") if '"' not in text else next(csv.reader([text]))
                    append(self.memo.row(record, number))
                else:
                    append(parse_ndjson_line(text, number))
            except RowError as exc:
                reject(number, str(exc))
            except csv.Error as exc:  # a field over csv's limit, a NUL byte…
                reject(number, f"not a CSV record: {exc}")
        return rows, counted
