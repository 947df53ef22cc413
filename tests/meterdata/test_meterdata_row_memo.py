"""CSV rows built from remembered field conversions equal the rows parsed field by field.

``domain.readings_format.IntervalMemo`` is the parsing fast path of ingestion; the
reference is ``CsvLayout.parse`` on every line (``build_row``: every check, every time).
Over random deliveries whose field texts repeat (as a head-end's do), good and bad,
both give the same rows and the same rejections with the same reasons.
"""

from __future__ import annotations

import csv
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.readings_format import CsvLayout, LineReader, ReadingRow, RowError

TEXTS = {
    "meter": ["SM1", "SM2", " SM1", "SM2 ", "", "S\x01M", "X" * 41],
    "timestamp": [
        "2026-04-01T00:15:00+05:30", "2026-04-01T00:00:00Z", " 2026-04-01T00:30:00Z",
        "2026-04-01T00:15:30Z", "2026-04-01T00:15:00", "yesterday", "",
    ],
    "kwh": ["0.123", "1", "0.5", "1.2345", "-1", "", "abc", "1e3", "999999999.999", "1e12"],
    "reading": ["", "", "", "5"],
    "minutes": ["", "15", "30", "7", "x", " 15"],
    "quality": ["", "valid", "Estimated", " suspect", "bad"],
    "obis": ["", "1.8.0", "2.8.0", "1-0:2.8.0*255", "x"],
    "uuid": ["", "", "", "not-a-uuid"],
}  # fmt: skip
OPTIONAL = ("obis", "reading", "minutes", "quality", "uuid")


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    extra = draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=2))
    columns = draw(st.permutations(["meter", "timestamp", "kwh", *extra]))
    # Each column draws from two or three texts of its own: fields repeat across rows.
    choices = [draw(st.lists(st.sampled_from(TEXTS[c]), min_size=2, max_size=3)) for c in columns]
    record = st.tuples(*[st.sampled_from(texts) for texts in choices]).map(list)
    ragged = st.lists(st.sampled_from(TEXTS["kwh"]), max_size=len(columns) + 1)
    records = draw(st.lists(st.one_of(record, record, record, ragged), min_size=4, max_size=40))
    return columns, records


def _reference(columns: list[str], records: list[list[str]]) -> list[ReadingRow | str]:
    layout = CsvLayout.from_header(columns)
    out: list[ReadingRow | str] = []
    for number, record in enumerate(records, start=2):
        if record == [""] * len(record) and len(record) <= 1:
            continue  # a blank line is skipped before parsing
        try:
            out.append(layout.parse(next(csv.reader([",".join(record)])), number))
        except RowError as exc:
            out.append(f"{number}: {exc}")
    return out


@settings(max_examples=150)
@given(deliveries(), st.integers(min_value=1, max_value=7))
def test_memo_rows_equal_the_field_by_field_rows(
    delivery: tuple[list[str], list[list[str]]], chunk: int
) -> None:
    columns, records = delivery
    expected = _reference(columns, records)
    assert _ingested(columns, records, chunk) == sorted(expected, key=_line)


def _ingested(columns: list[str], records: list[list[str]], chunk: int) -> list[ReadingRow | str]:
    """Rows and rejections of the delivery read in chunks of ``chunk`` lines, in line order."""
    lines = [",".join(columns).encode()] + [",".join(r).encode() for r in records]
    reader = LineReader(csv_format=True)
    got: list[ReadingRow | str] = []
    rejected: list[tuple[int, str]] = []
    for start in range(0, len(lines), chunk):
        rows, _ = reader.read(start + 1, lines[start : start + chunk], _collect(rejected))
        got.extend(rows)
    return sorted([*got, *(f"{n}: {why}" for n, why in rejected)], key=_line)


def test_every_optional_text_twice_over() -> None:
    """Each optional column's every text, after rows that taught the memo the rest."""
    base = {"meter": "SM1", "timestamp": "2026-04-01T00:00:00Z", "kwh": "0.5"}
    for column in OPTIONAL:
        columns = ["meter", "timestamp", "kwh", column]
        records = [[base.get(c, text) for c in columns] for text in TEXTS[column] for _ in range(2)]
        assert _ingested(columns, records, 3) == sorted(_reference(columns, records), key=_line)


def test_a_repeated_row_is_built_from_the_memo() -> None:
    lines = [b"meter,timestamp,kwh"] + [b"SM1,2026-04-01T00:15:00Z,0.123"] * 3
    reader = LineReader(csv_format=True)
    rows, counted = reader.read(1, lines, _collect([]))
    assert counted == 3 and [r.row for r in rows] == [2, 3, 4]
    assert {(r.serial, r.at, r.value, r.length_s) for r in rows} == {
        (rows[0].serial, rows[0].at, 123, 900)
    }
    assert reader.memo is not None and reader.memo.values == {"0.123": 123}


def _collect(into: list[tuple[int, str]]) -> Callable[[int, str], None]:
    return lambda number, reason: into.append((number, reason))


def _line(item: ReadingRow | str) -> int:
    return item.row if isinstance(item, ReadingRow) else int(item.split(":", 1)[0])
