"""The IEC 62056-21 readout parser against every saved readout, byte for byte, and the
checksum vectors of the iec62056-21 library; data lines and identifications on their own;
and a property: any block we frame parses back to what was framed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from field_app.iec62056 import (
    ETX,
    STX,
    BadChecksum,
    BadIdentification,
    Incomplete,
    ProbeError,
    bcc,
    parse_block,
    parse_data_lines,
    parse_identification,
    parse_readout,
    short_code,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "iec62056-21"
READOUTS = sorted(FIXTURES.glob("*.bin"))


def test_every_fixture_is_tested() -> None:
    assert {p.stem for p in READOUTS} == {"corrupt_bcc", "iskra_mt174", "landis_zmd", "truncated"}


@pytest.mark.parametrize("path", READOUTS, ids=lambda p: p.stem)
def test_readout_matches_its_json(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text())
    try:
        got = parse_readout(path.read_bytes()).as_json()
    except ProbeError as exc:
        got = {"error": exc.code}
    assert got == expected


def test_real_iskra_readout_with_full_obis_codes() -> None:
    readout = parse_readout((FIXTURES / "real" / "iskra_mt174_readout.bin").read_bytes())
    assert readout.identification is not None
    assert readout.identification.identification == "MT174-0002"
    assert readout.identification.mode == "C" and readout.identification.baud == 9600
    assert readout.registers == {
        "0.9.2": ("0220127", None),
        "0.9.1": ("105644", None),
        "1.8.0": ("502.853", "kWh"),
        "2.8.0": ("98697.318", "kWh"),
    }


@pytest.mark.parametrize(
    ("name", "meter_id_code", "meter_id", "import_kwh", "lines"),
    [
        ("landis_gyr_data_message", "0.0.0", "001LGZ0056859504", "94.5", 173),
        ("logarex_data_message", "96.1.0", "001LOG0065282495", "15882.6927", 24),
    ],
)
def test_real_data_messages(
    name: str, meter_id_code: str, meter_id: str, import_kwh: str, lines: int
) -> None:
    data = (FIXTURES / "real" / f"{name}.bin").read_bytes()
    readout = parse_readout(data)
    assert readout.identification is None
    assert len(readout.lines) == lines
    assert readout.registers[meter_id_code] == (meter_id, None)
    assert readout.registers["1.8.0"] == (import_kwh, "kWh")
    expected = json.loads((FIXTURES / "real" / f"{name}.json").read_text())
    assert data[-1] == int(expected["bcc"]["value_hex"], 16)


def test_landis_history_values_keep_their_period() -> None:
    readout = parse_readout((FIXTURES / "real" / "landis_gyr_data_message.bin").read_bytes())
    assert readout.registers["1.8.0*01"] == ("0000010.2", None)  # no unit: kept as sent


def _vector_frames() -> list[tuple[bytes, int]]:
    vectors = json.loads((FIXTURES / "real" / "iec62056_21_bcc_vectors.json").read_text())
    out = []
    for v in vectors["vectors"]:
        if "frame_hex" in v:
            frame = bytes.fromhex(v["frame_hex"])
        else:
            frame = eval(v["frame_python"]).encode("latin-1")  # noqa: S307  # our own fixture
        out.append((frame, int(v["bcc"].split()[0], 16)))
    return out


@pytest.mark.parametrize(("frame", "value"), _vector_frames())
def test_bcc_vectors(frame: bytes, value: int) -> None:
    start = next(i for i, b in enumerate(frame) if b in (0x01, 0x02))
    end = frame.rindex(bytes([ETX]))
    assert bcc(frame[start + 1 : end + 1]) == value == frame[end + 1]


def test_bad_bcc_vector_is_refused() -> None:
    with pytest.raises(BadChecksum, match=r"0x11 sent, 0x12 computed"):
        parse_block(b"\x023:171.0(0)\x03\x11")


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        (b"/ISk5MT174-0001", ("ISk", "5", "MT174-0001", "", "C", 9600)),
        (b"/LGZ4ZMD120AP.R21\r\n", ("LGZ", "4", "ZMD120AP.R21", "", "C", 4800)),
        (b"/LGZ5\\2ZMD3104107.B40", ("LGZ", "5", "ZMD3104107.B40", "\\2", "C", 9600)),
        (b"/Els6\\2EK280", ("Els", "6", "EK280", "\\2", "C", 19200)),
        (b"/ABCEmeterB", ("ABC", "E", "meterB", "", "B", 9600)),
        (b"/ABCzmeterA", ("ABC", "z", "meterA", "", "A", 300)),
    ],
)
def test_identification(line: bytes, parts: tuple[object, ...]) -> None:
    ident = parse_identification(line)
    assert (
        ident.manufacturer, ident.baud_char, ident.identification, ident.enhanced,
        ident.mode, ident.baud,
    ) == parts  # fmt: skip


@pytest.mark.parametrize("line", [b"", b"ISk5MT174", b"/IS", b"/ISk5", b"/\x00\x01k5abc"])
def test_not_an_identification(line: bytes) -> None:
    with pytest.raises(BadIdentification):
        parse_identification(line)


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("1-0:1.8.0*255", "1.8.0"),
        ("1.8.0", "1.8.0"),
        ("1-1:F.F", "F.F"),
        ("1-1:1.8.0*01", "1.8.0*01"),
        ("C.1", "C.1"),
        ("0-0:96.1.0*255", "96.1.0"),
    ],
)
def test_short_code(address: str, code: str) -> None:
    assert short_code(address) == code


def test_data_lines_units_and_extra_values() -> None:
    lines = parse_data_lines(
        "1.6.0(04.512*kW)(2611141530)\r\n1-0:1.8.0*255(00024234.1010820*kWh)\r\nC.1(53965555)\r\n"
        "1.8.1(-0001.5*kWh)\r\n"
    )
    assert [(x.address, x.value, x.unit) for x in lines] == [
        ("1.6.0", "4.512", "kW"),
        ("1.8.0", "24234.1010820", "kWh"),
        ("C.1", "53965555", None),
        ("1.8.1", "-1.5", "kWh"),
    ]


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"", Incomplete),
        (b"1.8.0(1*kWh)", Incomplete),
        (b"\x021.8.0(1*kWh)\r\n!\r\n", Incomplete),  # no ETX
        (b"\x021.8.0(1*kWh)\r\n!\r\n\x03", Incomplete),  # no BCC
        (b"/ISk5MT174", Incomplete),  # identification cut
    ],
)
def test_partial_blocks(frame: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_readout(frame)


def frame(lines: list[tuple[str, str, str | None]]) -> bytes:
    body = "".join(f"{a}({v}{'*' + u if u else ''})\r\n" for a, v, u in lines) + "!\r\n"
    payload = body.encode("ascii") + bytes([ETX])
    return bytes([STX]) + payload + bytes([bcc(payload)])


codes = st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 255)).map(
    lambda t: f"{t[0]}.{t[1]}.{t[2]}"
)
numbers = st.tuples(st.integers(1, 999_999), st.integers(0, 999)).map(
    lambda t: f"{t[0]}.{t[1]:03d}"
)


@given(st.dictionaries(codes, st.tuples(numbers, st.sampled_from(["kWh", "kW", "V", None]))))
def test_framed_block_parses_back(registers: dict[str, tuple[str, str | None]]) -> None:
    lines = [(code, value, unit) for code, (value, unit) in registers.items()]
    parsed = parse_block(frame(lines))
    assert [(x.address, x.value, x.unit) for x in parsed] == lines


@given(st.integers(1, 255))
def test_any_flipped_checksum_is_refused(flip: int) -> None:
    good = frame([("1.8.0", "1.000", "kWh")])
    bad = good[:-1] + bytes([good[-1] ^ flip])
    with pytest.raises(BadChecksum):
        parse_block(bad)
