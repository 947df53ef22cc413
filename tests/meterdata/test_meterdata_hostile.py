"""Hostile meter data (issue 11): bad rows are refused one by one, never poison the data.

Far-future and pre-installation timestamps, values past any register, lines nested
100,000 deep, NUL bytes and wrong types: each row is rejected with a reason, the good
rows of the same delivery are stored, the answer is never a 5xx, and a far-apart pair of
stored values (from before these checks) costs a later delivery no more than any other.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from meterdata_helpers import (
    INSTALLED,
    SECRET,
    START,
    STEP,
    basic,
    day_profile,
    interval_rows,
    kwh,
    ndjson,
    run_ingest,
)

from api.ingest_route import PATH
from domain.enums import ReadQuality
from domain.vee import Gap, Rule, series_break
from gridbill.settings import ConfigError
from services.meter_data.vee_config import load_config
from store.models import IntervalReading, RegisterRead, ValidationException
from tests.conftest import make_settings
from tests.factories import Site

MARGIN = "GRIDBILL_INGEST_FUTURE_MARGIN_HOURS"

NDJSON = {"Content-Type": "application/x-ndjson", **basic("hes-1", SECRET)}


def good(at: datetime, wh: int = 100, **extra: Any) -> bytes:
    row = {"meter": "SM0001", "timestamp": at.isoformat(), "kwh": kwh(wh), **extra}
    return (json.dumps(row) + "\n").encode()


async def stored_starts(site: Site) -> list[datetime]:
    rows = await IntervalReading.filter(register_id=site.register.id).order_by("interval_start")
    return [r.interval_start for r in rows]


async def test_far_future_rows_are_refused_and_the_rest_stored(http: httpx2.AsyncClient) -> None:
    data = (
        good(START)
        + b'{"meter":"SM0001","timestamp":"9999-12-31T23:45:00+14:00","kwh":"1"}\n'
        + b'{"meter":"SM0001","timestamp":"9999-12-31T23:45:00-14:00","kwh":"1"}\n'
        + b'{"meter":"SM0001","timestamp":"2999-01-01T00:00:00Z","reading":"1"}\n'
        + b'{"meter":"SM0001","timestamp":"0001-01-01T00:00:00+05:30","kwh":"1"}\n'
        + b'{"meter":"SM0001","timestamp":"2100-01-01T00:00:00+05:30","kwh":"1"}\n'
        + good(START + STEP)
    )
    response = await http.post(PATH, content=data, headers=NDJSON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected_count"]) == (2, 5)
    reasons = {r["row"]: r["reason"] for r in body["rejected"]}
    assert "not a plausible time" in reasons[2]  # year 9999: refused before any arithmetic
    assert "not a plausible time" in reasons[3]  # (in UTC past year 10000: no datetime at all)
    assert "is in the future" in reasons[4]  # a register reading
    assert "not a plausible time" in reasons[5]
    assert "is in the future" in reasons[6] and "GRIDBILL_INGEST_FUTURE_MARGIN_HOURS" in reasons[6]
    assert await IntervalReading.all().count() == 2
    assert await RegisterRead.all().count() == 0
    again = await http.post(PATH, content=data, headers=NDJSON)  # the meter is not poisoned
    assert again.status_code == 200 and again.json()["duplicate"] == 2


async def test_the_future_margin_comes_from_the_environment(site: Site, tmp_path: Path) -> None:
    tight = load_config(make_settings("sqlite://unused", tmp_path, **{MARGIN: "1"}))
    assert tight.future_margin == timedelta(hours=1)
    soon = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=3)
    refused = await run_ingest(good(soon), config=tight, series_checks=False)
    assert refused.rejected_count == 1 and "more than 1 h after now" in refused.rejected[0].reason
    stored = await run_ingest(good(soon), series_checks=False)  # within the default 24 h
    assert (stored.accepted, stored.suspect) == (1, 1)  # still suspect: future_read


@pytest.mark.parametrize(
    ("value", "message"),
    [("0", "must be 1 or more"), ("8761", "must be at most 8760"), ("1.5", "not a whole number")],
)
def test_a_bad_margin_is_a_configuration_error(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_settings("sqlite://unused", tmp_path, **{MARGIN: value})


async def test_rows_before_the_installation_are_refused(site: Site) -> None:
    before = INSTALLED - STEP  # the meter was installed at 2026-01-01T00:00Z
    result = await run_ingest(good(before) + good(before + STEP), series_checks=False)
    assert result.accepted == 1 and result.rejected_count == 1
    assert result.rejected[0].row == 1
    assert f"before meter {site.meter.serial} was installed" in result.rejected[0].reason


async def test_huge_values_lose_only_their_own_row(http: httpx2.AsyncClient) -> None:
    ts = START.isoformat()
    data = (
        good(START)
        + f'{{"meter":"SM0001","timestamp":"{ts}","kwh":1e308}}\n'.encode()
        + f'{{"meter":"SM0001","timestamp":"{ts}","kwh":12345678901234567890123}}\n'.encode()
        + f'{{"meter":"SM0001","timestamp":"{ts}","kwh":"12345678901234567890123"}}\n'.encode()
        + f'{{"meter":"SM0001","timestamp":"{ts}","kwh":1e999999999}}\n'.encode()
        + f'{{"meter":"SM0001","timestamp":"{ts}","reading":"1000000"}}\n'.encode()  # 6 digits
        + f'{{"meter":"SM0001","timestamp":"{ts}","kwh":"1","minutes":1e999999}}\n'.encode()
        + good(START + STEP, 999_999_999_999)  # the largest value a row may carry
    )
    response = await http.post(PATH, content=data, headers=NDJSON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["rejected_count"]) == (2, 6)
    reasons = {r["row"]: r["reason"] for r in body["rejected"]}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7]
    assert all("too large" in reasons[row] for row in (2, 3, 4, 5))
    assert "past the last digit of register 1.8.0 (6 digits)" in reasons[6]
    values = await IntervalReading.all().order_by("interval_start").values_list("value_wh")
    assert values == [(100,), (999_999_999_999,)]


async def test_a_multiplier_cannot_push_a_value_past_the_column(db: object) -> None:
    from meterdata_helpers import smart_meter

    await smart_meter("CT0009", ct=(10**9, 1))
    rows = ndjson(interval_rows("CT0009", START, [999_999_999_999, 1]))
    result = await run_ingest(rows, series_checks=False)
    assert result.accepted == 1 and result.rejected_count == 1
    assert "multiplier" in result.rejected[0].reason


async def test_deep_nesting_is_a_rejected_row_not_a_500(http: httpx2.AsyncClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_field = b'{"meter":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    data = good(START) + deep + b"\n" + deep_field + b"\n" + good(START + STEP)
    response = await http.post(PATH, content=data, headers=NDJSON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    assert body["rejected"] == [
        {"row": 2, "reason": "not a flat JSON object: nested too deeply"},
        {"row": 3, "reason": "not a flat JSON object: nested too deeply"},
    ]


async def test_nul_bytes_and_long_values_are_rejected_with_short_reasons(
    http: httpx2.AsyncClient,
) -> None:
    long_text = "9" * 500_000
    data = (
        b'{"meter":"SM\\u00000001","timestamp":"2026-03-01T00:00:00Z","kwh":"1"}\n'
        + f'{{"meter":"SM0001","timestamp":"{long_text}","kwh":"1"}}\n'.encode()
        + f'{{"meter":"SM0001","timestamp":"2026-03-01T00:00:00Z","kwh":"{long_text}"}}\n'.encode()
        + f'{{"{long_text}":1}}\n'.encode()
        + '{"meter":"Zähler-१","timestamp":"2026-03-01T00:00:00Z","kwh":"1"}\n'.encode()
        + good(START)
    )
    response = await http.post(PATH, content=data, headers=NDJSON)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1 and body["rejected_count"] == 5
    assert "control character" in body["rejected"][0]["reason"]
    assert body["rejected"][4]["reason"] == "unknown meter Zähler-१"
    assert max(len(r["reason"]) for r in body["rejected"]) < 200  # never the 500 kB value


async def test_csv_fields_past_the_csv_limit_are_rejected_rows(http: httpx2.AsyncClient) -> None:
    big = '"' + "x" * 200_000 + '"'
    data = (
        "meter,timestamp,kwh\n"
        f"SM0001,{START.isoformat()},0.1\n"
        f"SM0001,{big},0.1\n"
        f"SM0001,{(START + STEP).isoformat()},0.1\n"
    ).encode()
    headers = {**NDJSON, "Content-Type": "text/csv"}
    response = await http.post(PATH, content=data, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2 and body["rejected"][0]["row"] == 3
    assert body["rejected"][0]["reason"].startswith("not a CSV record")


def test_a_gap_is_its_bounds_and_count_whatever_its_length() -> None:
    t = datetime(2026, 3, 1, tzinfo=UTC)
    far = datetime(8999, 12, 31, 23, 45, tzinfo=UTC)
    started = time.monotonic()
    gap = series_break(t, 900, far, 900)
    assert time.monotonic() - started < 0.01
    assert isinstance(gap, Gap)
    assert len(gap) == (far - t) // STEP - 1
    assert gap.flag.detail["to"] == (far - STEP).isoformat()


@given(
    first=st.integers(min_value=0, max_value=30 * 365 * 86_400).map(
        lambda s: datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=s * 60)
    ),
    length_s=st.sampled_from([300, 900, 1800, 3600]),
    previous_s=st.sampled_from([300, 900, 1800, 3600]),
    distance=st.integers(min_value=0, max_value=3000),
)
def test_a_gaps_count_is_the_starts_it_stands_for(
    first: datetime, length_s: int, previous_s: int, distance: int
) -> None:
    """The count equals the enumeration it replaced: previous end, + step, … < start."""
    previous_end = first + timedelta(seconds=previous_s)
    start = previous_end + timedelta(seconds=distance * 61)
    found = series_break(first, previous_s, start, length_s)
    expected: list[datetime] = []
    moment = previous_end
    while moment < start:
        expected.append(moment)
        moment += timedelta(seconds=length_s)
    if not expected:
        assert found is None
        return
    assert isinstance(found, Gap)
    assert found.starts() == tuple(expected)
    assert (found.flag.detail["from"], found.flag.detail["to"]) == (
        expected[0].isoformat(),
        expected[-1].isoformat(),
    )


async def test_a_stored_far_apart_pair_does_not_slow_a_later_delivery(site: Site) -> None:
    """Values stored before the window existed (inserted directly, as an old server did)
    around a new delivery: the gap to them is one flagged gap, found in bounded time."""
    register = site.register.id
    for at in (datetime(1901, 1, 1, tzinfo=UTC), datetime(8999, 12, 31, 9, 45, tzinfo=UTC)):
        await IntervalReading.create(
            register_id=register, interval_start=at, length_s=900, value_wh=1,
            quality=ReadQuality.VALID, source="smart", revision=1, received_at=START,
        )  # fmt: skip
    started = time.monotonic()
    first = await run_ingest(ndjson(interval_rows("SM0001", START, day_profile())))
    second = await run_ingest(ndjson(interval_rows("SM0001", START + 96 * STEP, day_profile())))
    elapsed = time.monotonic() - started
    assert elapsed < 20, f"two one-day deliveries took {elapsed:.1f} s"
    assert (first.accepted, second.accepted) == (96, 96)
    gaps = await ValidationException.filter(rule=Rule.INTERVAL_GAP.value).values_list(
        "detail", flat=True
    )
    # The gap from 1901 is flagged once, unfilled; the far-future value is no neighbour.
    assert len(gaps) == 1
    assert gaps[0]["method"] == "none: longer than max_fill_days"  # type: ignore[index]
    assert gaps[0]["from"] == "1901-01-01T00:15:00+00:00"  # type: ignore[index]
    assert len(await stored_starts(site)) == 2 + 2 * 96


# --- random hostile rows ----------------------------------------------------------------

_TS = "2026-03-01T00:00:00Z"


def _line(**fields: Any) -> bytes:
    return json.dumps({"meter": "SM0001", "timestamp": _TS, "kwh": "1", **fields}).encode()


def _not_blank(line: bytes) -> bool:
    """Not a line the parser skips (blank once a trailing CR and a leading BOM are cut)."""
    line = line.removesuffix(b"\r").removeprefix(b"\xef\xbb\xbf")
    return bool(line) and not line.isspace()


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


HOSTILE: st.SearchStrategy[bytes] = st.one_of(
    st.integers(min_value=10**9, max_value=10**40).map(lambda n: _line(kwh=n)),
    st.integers(min_value=10**9, max_value=10**40).map(lambda n: _line(kwh=str(n))),
    st.sampled_from(["1e308", "-1", "NaN", "Infinity", "0.0001", "1e-999999", "", " "]).map(
        lambda v: _line(kwh=v)
    ),
    st.sampled_from([1e308, float("nan"), -5, True, None, [], {}, [1], {"a": 1}]).map(
        lambda v: _line(kwh=v)
    ),
    st.integers(min_value=2, max_value=100_000).map(_deep),
    st.integers(min_value=2, max_value=400).map(lambda d: _line(meter=json.loads(_deep(d)))),
    st.text(min_size=1, max_size=30).filter(str.strip).map(lambda t: _line(meter="SM0001" + t)),
    st.sampled_from(["\x00", "SM\x000001", "SM0001\n", "\u202eSM0001", "SM\ud800"]).map(
        lambda t: _line(meter=t)
    ),
    st.sampled_from(["obis", "quality", "uuid", "timestamp"]).map(
        lambda name: _line(**{name: "\ud800\x00" + "é" * 100})
    ),
    st.integers(min_value=2027, max_value=9999).map(
        lambda y: _line(timestamp=f"{y}-06-01T00:00:00+14:00")
    ),
    st.integers(min_value=1, max_value=2025).map(
        lambda y: _line(timestamp=f"{y:04d}-06-01T00:00:00-14:00")
    ),
    st.sampled_from([None, 20260301, True, [], "", "2026-03-01", "2026-03-01T00:00:00"]).map(
        lambda v: _line(timestamp=v)
    ),
    st.sampled_from([None, 0, "0", 7, "7", 1e3, 1440.5, -15, True, "x" * 50]).map(
        lambda v: _line(minutes=v) if v is not None else _line(minutes=[])
    ),
    st.binary(min_size=1, max_size=200).filter(lambda b: b"\n" not in b and _not_blank(b)),
    st.sampled_from([b"null", b"[]", b'"row"', b"1", b"true", b"{}", b"\xff\xfe"]),
)


async def test_random_hostile_rows_never_cost_a_good_row(http: httpx2.AsyncClient) -> None:
    """Deliveries mixing good rows with random hostile ones (huge, deep, non-ASCII, NUL,
    far-future, null, wrong types): never a 5xx, every good row stored with its value,
    every hostile one rejected with a reason, and nothing stored for them."""
    deliveries: list[list[bytes | None]] = []

    @settings(
        max_examples=25,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
    )
    @given(st.lists(st.one_of(st.none(), HOSTILE), min_size=1, max_size=8))
    def collect(lines: list[bytes | None]) -> None:
        deliveries.append(lines)

    collect()
    assert len(deliveries) >= 20
    expected: dict[datetime, int] = {}
    for n, lines in enumerate(deliveries):
        day = START + timedelta(days=n)
        good_rows: list[int] = []
        body = b""
        for i, line in enumerate(lines, start=1):
            if line is None:  # a good row, at a moment of its own
                at = day + i * STEP
                wh = 100 + n * 10 + i
                expected[at.astimezone(UTC)] = wh
                good_rows.append(i)
                body += good(at, wh)
            else:
                body += line + b"\n"
        response = await http.post(PATH, content=body, headers=NDJSON)
        assert response.status_code == 200, (lines, response.text)
        answer = response.json()
        rejected = [r["row"] for r in answer["rejected"]]
        assert answer["accepted"] == len(good_rows), (lines, answer)
        assert sorted(rejected) == [i for i in range(1, len(lines) + 1) if i not in good_rows], (
            lines,
            answer,
        )
        assert all(r["reason"] for r in answer["rejected"])
    stored = {r.interval_start: r.value_wh for r in await IntervalReading.filter(source="smart")}
    assert stored == expected
    assert await RegisterRead.all().count() == 0
