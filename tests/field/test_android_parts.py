"""The Android-only parts with stand-ins for the Java classes pyjnius would give: the
Bluetooth RFCOMM transport reads a whole meter through them, and the locator picks the
freshest fix. (On a phone the same code gets the real classes; that is not run here.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from meter_sim import fixture

from field_app.devices import AndroidLocator, FixedLocator, NoLocator, locator_for
from field_app.iec62056 import read_meter
from field_app.transport import SPP_UUID, AndroidBluetoothTransport, TransportError


class FakeMeterSocket:
    """An RFCOMM socket to a probe on a mode C meter: answers the sign-on with the
    identification, the acknowledgement with the data block (parity bits set)."""

    def __init__(self) -> None:
        ident, _, block = fixture("iskra_mt174.bin").partition(b"\r\n")
        self.replies = [ident + b"\r\n", block]
        self.pending = bytearray()
        self.sent = bytearray()
        self.connected = False
        outer = self

        class In:
            def available(self) -> int:
                return len(outer.pending)

            def read(self, buffer: bytearray, offset: int, count: int) -> int:
                chunk = outer.pending[:count]
                buffer[offset : offset + len(chunk)] = chunk
                del outer.pending[:count]
                return len(chunk)

            def skip(self, n: int) -> None:
                del outer.pending[:n]

        class Out:
            def write(self, data: bytearray) -> None:
                outer.sent += data
                if data.endswith(b"\r\n") and outer.replies:
                    outer.pending += bytes(b | 0x80 for b in outer.replies.pop(0))

            def flush(self) -> None:
                pass

        self.streams = (In(), Out())

    def connect(self) -> None:
        self.connected = True

    def getInputStream(self) -> Any:  # Java names
        return self.streams[0]

    def getOutputStream(self) -> Any:
        return self.streams[1]

    def close(self) -> None:
        self.connected = False


def fake_autoclass(socket: FakeMeterSocket, *, enabled: bool = True) -> Callable[[str], Any]:
    class Device:
        def createRfcommSocketToServiceRecord(self, uuid: str) -> FakeMeterSocket:
            assert uuid == SPP_UUID
            return socket

    class Adapter:
        def isEnabled(self) -> bool:
            return enabled

        def getRemoteDevice(self, mac: str) -> Device:
            assert mac == "00:11:22:33:44:55"
            return Device()

        def cancelDiscovery(self) -> None:
            pass

    classes: dict[str, Any] = {
        "android.bluetooth.BluetoothAdapter": type(
            "BA", (), {"getDefaultAdapter": staticmethod(Adapter)}
        ),
        "java.util.UUID": type("U", (), {"fromString": staticmethod(lambda s: s)}),
    }
    return classes.__getitem__


def test_bluetooth_transport_reads_a_meter() -> None:
    socket = FakeMeterSocket()
    transport = AndroidBluetoothTransport("00:11:22:33:44:55", autoclass=fake_autoclass(socket))
    readout = read_meter(transport, timeout=0.5)
    assert readout.registers["1.8.0"] == ("2714.841", "kWh")
    assert readout.raw == fixture("iskra_mt174.bin")
    assert bytes(socket.sent) == b"/?!\r\n\x06050\r\n"
    transport.close()
    assert not socket.connected


def test_bluetooth_off_is_a_clear_error() -> None:
    with pytest.raises(TransportError, match="Bluetooth is off"):
        AndroidBluetoothTransport(
            "00:11:22:33:44:55", autoclass=fake_autoclass(FakeMeterSocket(), enabled=False)
        )


def test_bluetooth_needs_android_on_a_desktop() -> None:
    with pytest.raises(TransportError, match="need Android"):
        AndroidBluetoothTransport("00:11:22:33:44:55")


class Fix:
    def __init__(self, time: int, lat: float, lon: float) -> None:
        self.t, self.lat, self.lon = time, lat, lon

    def getTime(self) -> int:
        return self.t

    def getLatitude(self) -> float:
        return self.lat

    def getLongitude(self) -> float:
        return self.lon


def test_android_locator_takes_the_freshest_fix() -> None:
    fixes = {"gps": Fix(100, 18.5, 73.8), "network": Fix(200, 18.6, 73.9)}

    class Manager:
        def getLastKnownLocation(self, provider: str) -> Fix | None:
            if provider == "network" and fixes.get("network") is None:
                raise RuntimeError("provider off")
            return fixes.get(provider)

    activity = type("A", (), {"getSystemService": lambda self, name: Manager()})()
    classes = {
        "org.kivy.android.PythonActivity": type("P", (), {"mActivity": activity}),
        "android.content.Context": type("C", (), {"LOCATION_SERVICE": "location"}),
    }
    locator = AndroidLocator(classes.__getitem__)
    assert locator.location() == (18.6, 73.9)
    fixes["network"] = None  # type: ignore[assignment]
    assert locator.location() == (18.5, 73.8)
    fixes["gps"] = None  # type: ignore[assignment]
    assert locator.location() is None


def test_locator_for_the_desktop() -> None:
    assert isinstance(locator_for({}), NoLocator)
    fixed = locator_for({"GRIDBILL_FIELD_FAKE_GPS": "18.5071,73.8072"})
    assert isinstance(fixed, FixedLocator) and fixed.location() == (18.5071, 73.8072)
