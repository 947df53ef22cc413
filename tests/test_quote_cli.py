"""``gridbill quote``: the command's parser and handler in-process, and once as a process.

The figures are the hand-worked ones of tests/domain/test_tariff_orders.py and
test_tariff_urdb.py; here they check the I/O: files, CSV profiles, table and JSON.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cli.quote import QuoteError, add_parser
from gridbill.settings import Settings, load_settings
from tests.conftest import TEST_SECRET_KEY

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DERC = FIXTURES / "tariffs" / "derc_2019_20_domestic.json"
MSEDCL = FIXTURES / "tariffs" / "msedcl_2020_21_lt1b_residential.json"
FPL = FIXTURES / "urdb" / "urdb_example_tiered_fpl_rs1.json"
SDGE = FIXTURES / "urdb" / "urdb_example.json"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        {"GRIDBILL_VAR_DIR": str(tmp_path), "GRIDBILL_SECRET_KEY": TEST_SECRET_KEY}
    )


def run(settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    parser = argparse.ArgumentParser(prog="gridbill")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["quote", *argv])
    assert args.handler(settings, args) == 0
    return capsys.readouterr().out


def as_json(
    settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str
) -> dict[str, object]:
    result: dict[str, object] = json.loads(run(settings, capsys, *argv, "--format", "json"))
    return result


def test_table_has_aligned_lines_and_the_total(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # DERC, 450 kWh in July, 3 kW: 150 + 600 + 900 + 50 x 6.50 = 1975.00.
    out = run(settings, capsys, "--tariff", str(DERC), "--kwh", "450", "--days", "31",
              "--start", "2024-07-01", "--load-kw", "3")  # fmt: skip
    lines = out.splitlines()
    assert lines[0].startswith("DERC-DOM-1.1: Domestic")
    assert "2024-07-01 to 2024-07-31 (31 days), amounts in INR" in lines[1]
    body = [ln for ln in lines if ln.startswith(("FC ", "EC.", "      Total"))]
    assert [ln.split()[-1] for ln in body] == ["150.00", "600.00", "900.00", "325.00", "1975.00"]
    assert len({len(ln) for ln in body}) == 1  # amounts right-aligned in one column


def test_json_has_total_and_lines_as_strings(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # MSEDCL 221 kWh in 30 days: 2107.86 (see test_tariff_orders.py).
    quote = as_json(settings, capsys, "--tariff", str(MSEDCL), "--kwh", "221", "--days", "30",
                    "--start", "2020-06-01")  # fmt: skip
    assert quote["total"] == "2107.86" and quote["currency"] == "INR"
    lines = quote["lines"]
    assert isinstance(lines, list)
    duty = next(line for line in lines if line["code"] == "ED")
    assert duty == {"component": "levy", "code": "ED", "description": "Electricity duty",
                    "quantity": "1817.12", "unit": "%", "rate": "16", "amount": "290.74",
                    "tou_period": None}  # fmt: skip


def test_urdb_total_is_the_readme_figure(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    quote = as_json(
        settings,
        capsys,
        "--urdb",
        str(FPL),
        "--kwh",
        "2000",
        "--days",
        "30",
        "--start",
        "2015-06-01",
    )
    assert quote["total"] == "202.81" and quote["currency"] == "USD"


def write_profile(
    path: Path, start: datetime, step: timedelta, values: dict[int, str], count: int
) -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write("timestamp,kwh\n")
        for i in range(count):
            f.write(f"{(start + i * step).isoformat()},{values.get(i, '0')}\n")
    return path


def test_profile_drives_tou_and_demand(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # SDG&E, July 2024, 15-minute rows without a zone (local time): 2.5 kWh at 17:00 on
    # Tuesday 2 July = 10 kW. 766.91 + 0.57 + 306.30 + 456.10 = 1529.88 (README figures).
    start = datetime.fromisoformat("2024-07-01T00:00")  # naive: the tariff's local time
    step = timedelta(minutes=15)
    slot = 96 + 17 * 4  # Tuesday 2 July, 17:00
    csv_path = write_profile(tmp_path / "july.csv", start, step, {slot: "2.5"}, 31 * 96)
    quote = as_json(settings, capsys, "--urdb", str(SDGE), "--profile", str(csv_path),
                    "--time-zone", "America/Los_Angeles")  # fmt: skip
    assert quote["total"] == "1529.88"
    assert quote["start"] == "2024-07-01" and quote["end"] == "2024-08-01"
    amounts = {line["code"]: line["amount"] for line in quote["lines"]}  # type: ignore[union-attr]
    assert amounts == {"F": "766.91", "E.p0": "0.57", "DF0": "306.30", "DT1": "456.10"}


def test_profile_with_offsets_in_another_zone(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Hourly rows in UTC for the Delhi tariff (IST = UTC+5:30): 1 Jul 00:00 IST is
    # 30 Jun 18:30 UTC. 31 x 24 h x 0.5 kWh = 372 kWh: 600 + 172 x 4.50 = 774 + 3 kW x 50.
    start = datetime.fromisoformat("2024-06-30T18:30:00+00:00")
    csv_path = write_profile(
        tmp_path / "utc.csv", start, timedelta(hours=1), dict.fromkeys(range(744), "0.5"), 744
    )
    quote = as_json(
        settings, capsys, "--tariff", str(DERC), "--profile", str(csv_path), "--load-kw", "3"
    )
    assert (quote["start"], quote["end"], quote["total"]) == ("2024-07-01", "2024-08-01", "1524.00")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tariff", str(FPL), "--kwh", "1", "--days", "30"], "format: must be 'gridbill-tariff/1' (a URDB record? import it with --urdb)"),
        (["--tariff", "/nonexistent.json", "--kwh", "1", "--days", "30"], "cannot read /nonexistent.json"),
        (["--tariff", str(DERC), "--kwh", "ten", "--days", "30", "--load-kw", "1"], "--kwh 'ten' is not a number"),
        (["--tariff", str(DERC), "--kwh", "10"], "--kwh needs --days D"),
        (["--tariff", str(DERC), "--kwh", "10", "--days", "30"], "per kW of sanctioned load"),
        (["--urdb", str(SDGE), "--kwh", "1000", "--days", "31"], "time of use"),
        (["--tariff", str(DERC), "--days", "30"], "give the usage"),
    ],
)  # fmt: skip
def test_bad_input_is_one_clear_error(
    settings: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(QuoteError) as raised:
        run(settings, capsys, *argv)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("time,kwh\n", "the header must be 'timestamp,kwh'"),
        ("timestamp,kwh\n2024-07-01T00:00,1\n2024-07-01T01:00,x\n", "t.csv:3: 'x' is not a number"),
        ("timestamp,kwh\n2024-07-01T00:00,1\n2024-07-01T01:00,1\n2024-07-01T03:00,1\n", "t.csv:4: expected 2024-07-01 02:00"),
        ("timestamp,kwh\n2024-07-01T00:00,1\n", "at least two rows"),
        ("timestamp,kwh\n2024-07-01T00:00,1\n2024-07-01T00:25,1\n", "divide an hour"),
    ],
)  # fmt: skip
def test_bad_profiles_name_the_line(
    settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path, rows: str, message: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(rows, encoding="utf-8")
    with pytest.raises(QuoteError) as raised:
        run(settings, capsys, "--tariff", str(MSEDCL), "--profile", str(path))
    assert message in str(raised.value)


@pytest.mark.slow
def test_quote_as_an_operator_runs_it(tmp_path: Path) -> None:
    """Through ``python -m cli.main`` (needs the one-line hook in cli/main.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_URL"))}
    env |= {"GRIDBILL_VAR_DIR": str(tmp_path / "var"), "GRIDBILL_SECRET_KEY": TEST_SECRET_KEY}
    ok = subprocess.run(
        [sys.executable, "-m", "cli.main", "quote", "--urdb", str(FPL), "--kwh", "2000",
         "--days", "30", "--start", "2015-06-01", "--format", "json"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["total"] == "202.81"
    bad = subprocess.run(
        [sys.executable, "-m", "cli.main", "quote", "--tariff", str(FPL), "--kwh", "1", "--days", "1"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.startswith("gridbill: error: ") and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_a_urdb_api_response_given_as_our_format_is_explained(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(QuoteError, match=r"a URDB record\? import it with --urdb"):
        run(settings, capsys, "--tariff", str(SDGE), "--kwh", "1", "--days", "1")


def test_a_quote_prints_its_month_factor_and_says_when_it_chose_the_month(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    # 30 days from 1 July: factor 30/31, so 450 kWh spreads over slabs of 193.548 kWh.
    out = run(settings, capsys, "--tariff", str(DERC), "--kwh", "450", "--days", "30",
              "--start", "2024-07-01", "--load-kw", "3")  # fmt: skip
    assert "month factor 30/31 = 0.967742 (calendar_month proration)" in out
    assert "no --start" not in out
    assert "EC.1  Energy charge 0–193.548 kWh" in out
    # Without --start the month is this one; the quote says so and prints its factor.
    bare = as_json(settings, capsys, "--tariff", str(DERC), "--kwh", "450", "--days", "30",
                   "--load-kw", "3")  # fmt: skip
    today = datetime.now(ZoneInfo("Asia/Kolkata")).date()
    assert bare["start_assumed"] is True
    assert bare["start"] == today.replace(day=1).isoformat()
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    expected = "1" if days_in_month == 30 else f"30/{days_in_month} = "
    assert str(bare["month_factor"]).startswith(expected)
    table = run(
        settings, capsys, "--tariff", str(DERC), "--kwh", "450", "--days", "30", "--load-kw", "3"
    )
    assert "no --start given: dated from the 1st of the current month" in table
