"""Serial lines to an optical probe, behind one interface
(:class:`field_app.iec62056.Transport`).

- :class:`SerialTransport`: pyserial, for a USB probe on a desktop or a Bluetooth SPP
  probe the system shows as a serial port (``/dev/rfcomm0``, ``COM5``). IEC 62056-21
  lines run 7 data bits, even parity, 1 stop bit.
- :class:`AndroidBluetoothTransport`: the platform's RFCOMM socket through pyjnius, for
  a paired Bluetooth probe on a phone. A Bluetooth probe converts to the optical side
  itself; the speed change is sent to the probe only when it understands one (most fixed
  -speed heads do not, and then the meter must be read at the probe's speed).

Both are opened by :func:`open_transport` from the probe setting (``serial:/dev/ttyUSB0``
or ``bt:00:11:22:33:44:55``). Nothing here imports Kivy; pyserial and pyjnius are
imported only when such a transport is opened.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any


class TransportError(Exception):
    """The probe cannot be opened; the message says what to check."""


def even_parity(byte: int) -> int:
    """A 7-bit byte with its even-parity bit in bit 7: on the wire, 8N1 with this byte is
    exactly 7E1 with the 7-bit one."""
    return byte | (0x80 if bin(byte & 0x7F).count("1") % 2 else 0)


class SerialTransport:
    """A pyserial port at 7E1 (7 data bits, even parity, 1 stop bit).

    Some serial devices refuse 7-bit frames (pseudo-terminals, some Bluetooth serial
    bridges); then the port is opened 8N1 and the parity bit is added to each byte sent
    and removed from each byte received in software, which is the same signal on the
    line."""

    def __init__(self, port: str, *, serial_module: Any = None) -> None:
        if serial_module is None:
            import serial as serial_module  # type: ignore[no-redef]  # pyserial, `field` extra
        self.software_parity = False
        try:
            self._port = serial_module.Serial(
                port,
                baudrate=300,
                bytesize=serial_module.SEVENBITS,
                parity=serial_module.PARITY_EVEN,
                stopbits=serial_module.STOPBITS_ONE,
                timeout=0.05,
            )
        except Exception:  # SerialException, OSError or termios.error: try 8N1
            with contextlib.suppress(Exception):
                self._port.close()
            try:
                self._port = serial_module.Serial(port, baudrate=300, timeout=0.05)
            except Exception as exc:
                raise TransportError(f"cannot open the probe on {port}: {exc}") from None
            self.software_parity = True

    def write(self, data: bytes) -> None:
        if self.software_parity:
            data = bytes(even_parity(b) for b in data)
        self._port.write(data)
        self._port.flush()

    def read(self, size: int, timeout: float) -> bytes:
        # The port's own timeout stays fixed (changing it reconfigures the line, which some
        # drivers refuse): wait here in its short steps until data comes or time is up.
        deadline = time.monotonic() + timeout
        data = b""
        while not data and time.monotonic() < deadline:
            waiting = self._port.in_waiting
            data = self._port.read(min(size, waiting) if waiting else 1)
        # The protocol is 7-bit: drop bit 7, which is the parity bit when the driver
        # passes it through (8N1 fallback, pseudo-terminals, some USB bridges).
        return bytes(b & 0x7F for b in data)

    def set_baudrate(self, baud: int) -> None:
        # Only on a change: some drivers (pseudo-terminals among them) refuse to be set
        # to the settings they already have.
        if self._port.baudrate != baud:
            self._port.baudrate = baud

    def discard_input(self) -> None:
        self._port.reset_input_buffer()

    def close(self) -> None:
        self._port.close()


SPP_UUID = "00001101-0000-1000-8000-00805F9B34FB"
"""The Serial Port Profile's service UUID, which Bluetooth optical probes offer."""


class AndroidBluetoothTransport:
    """A paired Bluetooth probe through Android's ``BluetoothSocket`` (pyjnius).

    Only runs on Android; tests use the same class with a fake ``autoclass`` that returns
    stand-ins for the Java classes, so its byte handling is tested off the phone."""

    def __init__(self, mac: str, *, autoclass: Any = None) -> None:
        if autoclass is None:
            try:
                from jnius import autoclass  # type: ignore[no-redef]  # Android only
            except ImportError:
                raise TransportError(
                    "Bluetooth probes by address need Android: on a desktop pair the probe "
                    "and use its serial port (serial:/dev/rfcomm0)"
                ) from None
        adapter = autoclass("android.bluetooth.BluetoothAdapter").getDefaultAdapter()
        if adapter is None or not adapter.isEnabled():
            raise TransportError("Bluetooth is off: turn it on and pair the probe")
        uuid = autoclass("java.util.UUID").fromString(SPP_UUID)
        device = adapter.getRemoteDevice(mac)
        try:
            self._socket = device.createRfcommSocketToServiceRecord(uuid)
            adapter.cancelDiscovery()
            self._socket.connect()
        except Exception as exc:  # a JavaException: the probe is off or out of reach
            raise TransportError(f"cannot connect to the probe {mac}: {exc}") from None
        self._in = self._socket.getInputStream()
        self._out = self._socket.getOutputStream()

    def write(self, data: bytes) -> None:
        self._out.write(bytearray(data))
        self._out.flush()

    def read(self, size: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while self._in.available() == 0:
            if time.monotonic() >= deadline:
                return b""
            time.sleep(0.02)
        count = min(size, self._in.available())
        buffer = bytearray(count)
        got = self._in.read(buffer, 0, count)
        # The optical side is 7E1: a probe that passes the parity bit through sets bit 7.
        return bytes(b & 0x7F for b in buffer[: max(got, 0)])

    def set_baudrate(self, baud: int) -> None:
        """An RFCOMM link has no line speed; the probe keeps its own (see the class)."""

    def discard_input(self) -> None:
        available = self._in.available()
        if available:
            self._in.skip(available)

    def close(self) -> None:
        self._socket.close()


def open_transport(setting: str) -> SerialTransport | AndroidBluetoothTransport:
    """``serial:<port>`` or ``bt:<MAC>`` (the probe setting) → an open transport."""
    kind, _, target = setting.partition(":")
    if kind == "serial" and target:
        return SerialTransport(target)
    if kind == "bt" and target:
        return AndroidBluetoothTransport(target)
    raise TransportError(
        f"probe setting {setting!r} is not serial:<port> or bt:<address>: pair the probe "
        "in Settings"
    )
