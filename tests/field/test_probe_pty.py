"""A whole probe readout through pyserial against a simulated meter on a pseudo-terminal:
the mode C handshake with its baud switch, mode A and B meters, a slow switch, a bad
checksum, a meter that says nothing and one that stops half way."""

from __future__ import annotations

import time

import pytest
from meter_sim import MeterBehaviour, fixture, simulated_meter

from field_app.iec62056 import BadChecksum, Incomplete, ProbeTimeout, read_meter
from field_app.transport import SerialTransport, TransportError, open_transport


def read(behaviour: MeterBehaviour, **kwargs: float) -> tuple[object, object]:
    with simulated_meter(behaviour) as meter:
        transport = SerialTransport(meter.port)
        try:
            return read_meter(transport, **kwargs), meter  # type: ignore[arg-type]
        finally:
            transport.close()


def test_mode_c_readout_switches_speed_and_keeps_the_telegram() -> None:
    readout, meter = read(MeterBehaviour())
    assert readout.registers["1.8.0"] == ("2714.841", "kWh")  # type: ignore[attr-defined]
    assert readout.raw == fixture("iskra_mt174.bin")  # type: ignore[attr-defined]
    assert meter.received == b"/?!\r\n\x06050\r\n"  # type: ignore[attr-defined]
    assert meter.speeds_seen == [300, 9600]  # type: ignore[attr-defined]


def test_landis_mode_c_at_4800() -> None:
    readout, meter = read(MeterBehaviour(readout=fixture("landis_zmd.bin")))
    assert readout.registers["1.6.0"] == ("4.512", "kW")  # type: ignore[attr-defined]
    assert meter.received.endswith(b"\x06040\r\n")  # type: ignore[attr-defined]
    assert meter.speeds_seen[-1] == 4800  # type: ignore[attr-defined]


def test_slow_baud_switch_is_waited_for() -> None:
    started = time.monotonic()
    readout, _ = read(MeterBehaviour(switch_delay=1.2), timeout=2.0)
    assert readout.registers["1.8.0"] == ("2714.841", "kWh")  # type: ignore[attr-defined]
    assert time.monotonic() - started >= 1.2


def test_mode_b_meter_switches_without_acknowledgement() -> None:
    mode_b = fixture("iskra_mt174.bin").replace(b"/ISk5", b"/ISkE", 1)
    readout, meter = read(MeterBehaviour(readout=mode_b))
    assert readout.identification.mode == "B"  # type: ignore[attr-defined]
    assert meter.received == b"/?!\r\n"  # type: ignore[attr-defined]
    assert readout.registers["1.8.0"] == ("2714.841", "kWh")  # type: ignore[attr-defined]


def test_mode_a_meter_stays_at_300_baud() -> None:
    mode_a = fixture("iskra_mt174.bin").replace(b"/ISk5", b"/ISk:", 1)
    readout, meter = read(MeterBehaviour(readout=mode_a))
    assert readout.identification.mode == "A"  # type: ignore[attr-defined]
    assert meter.speeds_seen == [300, 300]  # type: ignore[attr-defined]
    assert readout.registers["1.8.1"] == ("1880.331", "kWh")  # type: ignore[attr-defined]


def test_corrupted_checksum() -> None:
    with pytest.raises(BadChecksum, match="read again"):
        read(MeterBehaviour(corrupt_bcc=True))


def test_meter_that_does_not_answer() -> None:
    started = time.monotonic()
    with pytest.raises(ProbeTimeout, match="optical port"):
        read(MeterBehaviour(silent=True), timeout=0.5)
    assert time.monotonic() - started < 3


def test_meter_that_stops_half_way() -> None:
    with pytest.raises(Incomplete, match="stopped sending"):
        read(MeterBehaviour(stop_after=40), timeout=0.5)


def test_no_such_port_is_one_clear_error() -> None:
    with pytest.raises(TransportError, match="cannot open the probe on /dev/nonexistent"):
        open_transport("serial:/dev/nonexistent")
    with pytest.raises(TransportError, match="pair the probe"):
        open_transport("usb")


def test_a_meter_on_a_shared_bus_is_addressed() -> None:
    with simulated_meter() as meter:
        transport = SerialTransport(meter.port)
        try:
            readout = read_meter(transport, address="00339188")
        finally:
            transport.close()
    assert meter.received.startswith(b"/?00339188!\r\n")
    assert readout.registers["0.0.0"] == ("00339188", None)
