"""The delivery formats: NDJSON and CSV rows to typed rows, or a reason for the row."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from domain.readings_format import (
    CsvLayout,
    FormatError,
    Kind,
    RowError,
    SourceQuality,
    parse_ndjson_line,
)


def test_ndjson_interval_row() -> None:
    row = parse_ndjson_line(
        '{"meter": "SM1", "timestamp": "2026-03-01T05:30:00+05:30", "kwh": 0.231}', 7
    )
    assert row.row == 7 and row.serial == "SM1" and row.obis == "1.8.0"
    assert row.at == datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert row.kind is Kind.INTERVAL and row.value == 231 and row.length_s == 900
    assert row.quality is SourceQuality.VALID


def test_ndjson_register_row_with_full_obis_and_quality() -> None:
    row = parse_ndjson_line(
        '{"meter": "SM1", "obis": "1-0:1.8.0*255", "timestamp": "2026-03-01T00:00:00Z", '
        '"reading": "4512.37", "quality": "Estimated"}',
        1,
    )
    assert row.kind is Kind.REGISTER and row.obis == "1.8.0" and row.value == 4_512_370
    assert row.quality is SourceQuality.ESTIMATED and row.length_s == 0


def test_a_reading_without_uuid_gets_the_same_one_every_time() -> None:
    line = '{"meter": "SM1", "timestamp": "2026-03-01T00:00:00Z", "reading": "1"}'
    first, again = parse_ndjson_line(line, 1), parse_ndjson_line(line, 99)
    assert first.derived_uuid() == again.derived_uuid()
    given = str(uuid.uuid4())
    row = parse_ndjson_line(line[:-1] + f', "uuid": "{given}"}}', 1)
    assert str(row.derived_uuid()) == given


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"meter": "SM1", "timestamp": "2026-03-01T00:00:00", "kwh": "1"}', "has no zone"),
        ('{"meter": "SM1", "timestamp": "yesterday", "kwh": "1"}', "is not ISO 8601"),
        ('{"meter": "SM1", "timestamp": "2026-03-01T00:00:00Z", "kwh": "-0.2"}', "is negative"),
        (
            '{"meter": "SM1", "timestamp": "2026-03-01T00:00:00Z", "kwh": "0.0001"}',
            "more than 3 decimals",
        ),
        ('{"meter": "SM1", "timestamp": "2026-03-01T00:00:00Z", "kwh": "lots"}', "is not a number"),
        ('{"meter": "SM1", "timestamp": "2026-03-01T00:00:00Z"}', "exactly one of kwh"),
        (
            '{"meter": "SM1", "timestamp": "2026-03-01T00:00:00Z", "kwh": 1, "reading": 2}',
            "exactly one of kwh",
        ),
        (
            '{"meter": "SM1", "timestamp": "2026-03-01T00:00:00Z", "kwh": 1, "quality": "great"}',
            "quality 'great'",
        ),
        (
            '{"meter": "SM1", "timestamp": "2026-03-01T00:00:00Z", "kwh": 1, "minutes": 7}',
            "does not divide a day",
        ),
        (
            '{"meter": "SM1", "timestamp": "2026-03-01T00:00:30Z", "kwh": 1}',
            "not on a whole minute",
        ),
        (
            '{"meter": "SM1", "obis": "import", "timestamp": "2026-03-01T00:00:00Z", "kwh": 1}',
            "not an OBIS code",
        ),
        ('{"timestamp": "2026-03-01T00:00:00Z", "kwh": 1}', "meter (the serial number) is missing"),
        ('{"meter": "SM1", "timestamp": "2026-03-01T00:00:00Z", "kWh": 1}', "unknown field 'kWh'"),
        ("[1, 2]", "not a JSON object"),
        ('{"meter": "SM1",', "not a JSON object"),
    ],
)
def test_bad_ndjson_rows_say_why(line: str, reason: str) -> None:
    with pytest.raises(RowError, match=re.escape(reason)):
        parse_ndjson_line(line, 3)


def test_csv_columns_in_any_order() -> None:
    layout = CsvLayout.from_header(["kwh", "timestamp", "meter", "minutes"])
    row = layout.parse(["1.5", "2026-03-01T00:00:00Z", "SM1", "30"], 2)
    assert (row.serial, row.value, row.length_s) == ("SM1", 1_500, 1_800)


def test_csv_row_with_the_wrong_number_of_columns() -> None:
    layout = CsvLayout.from_header(["meter", "timestamp", "kwh"])
    with pytest.raises(RowError, match="has 2 columns, the header has 3"):
        layout.parse(["SM1", "2026-03-01T00:00:00Z"], 5)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["meter", "timestamp", "energy"], "unknown column 'energy'"),
        (["meter", "kwh"], "no 'timestamp' column"),
        (["meter", "timestamp"], "needs a 'kwh' or a 'reading' column"),
        (["meter", "timestamp", "kwh", "kwh"], "names a column twice"),
    ],
)
def test_csv_header_problems_refuse_the_file(header: list[str], message: str) -> None:
    with pytest.raises(FormatError, match=message):
        CsvLayout.from_header(header)
