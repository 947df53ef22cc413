"""A simulated meter behind a pseudo-terminal: it answers the sign-on request like a
real IEC 62056-21 meter, from a saved readout in tests/fixtures/iec62056-21/.

The app opens the pty's slave side with pyserial (``serial:/dev/pts/N``) exactly as it
opens a USB probe. The meter reads the line speed the app set on the pty (the two ends
share one termios), and garbles what it sends when the speeds differ, as a real line
would, so a client that forgets the baud switch fails here too.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import threading
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "iec62056-21"
SPEEDS = {getattr(termios, f"B{b}"): b for b in (300, 600, 1200, 2400, 4800, 9600, 19200)}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class MeterBehaviour:
    readout: bytes = field(default_factory=lambda: fixture("iskra_mt174.bin"))
    """Identification line + data block, as the meter sends them."""
    switch_delay: float = 0.25
    """Seconds the meter takes to change speed after the acknowledgement: at least 0.2
    in the standard, up to 1.5 for a slow meter."""
    silent: bool = False
    """A meter that never answers (probe not on the port)."""
    stop_after: int | None = None
    """Stop sending after this many bytes of the data block (a meter that goes quiet)."""
    corrupt_bcc: bool = False


@dataclass
class SimulatedMeter:
    port: str
    behaviour: MeterBehaviour
    received: bytearray = field(default_factory=bytearray)
    speeds_seen: list[int] = field(default_factory=list)


def _speed(fd: int) -> int:
    return SPEEDS.get(termios.tcgetattr(fd)[4], 0)


def _send(fd: int, data: bytes) -> None:
    """Send as a 7E1 line does: the even-parity bit in bit 7 of each byte."""
    os.write(fd, bytes(b | (0x80 if bin(b).count("1") % 2 else 0) for b in data))


def _read_line(fd: int, stop: threading.Event, deadline: float) -> bytes:
    """A line from the app, parity bits dropped."""
    buf = bytearray()
    while not stop.is_set() and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                buf += bytes(b & 0x7F for b in os.read(fd, 256))
            except OSError:
                return bytes(buf)
            if buf.endswith(b"\r\n"):
                return bytes(buf)
    return bytes(buf)


def _answer(fd: int, meter: SimulatedMeter, stop: threading.Event) -> None:
    b = meter.behaviour
    ident, _, block = b.readout.partition(b"\r\n")
    ident += b"\r\n"
    if b.corrupt_bcc:
        block = block[:-1] + bytes([block[-1] ^ 0x55])
    while not stop.is_set():
        request = _read_line(fd, stop, time.monotonic() + 3600)
        if not request:
            continue
        meter.received += request
        meter.speeds_seen.append(_speed(fd))
        if not request.startswith(b"/?") or b.silent:
            continue
        _send(fd, ident)
        baud_char = chr(ident[4])
        if baud_char.isdigit():  # mode C: wait for ACK 0 Z 0
            ack = _read_line(fd, stop, time.monotonic() + 5)
            meter.received += ack
            if not ack.startswith(b"\x06"):
                continue
        time.sleep(b.switch_delay)
        expected = {"0": 300, "1": 600, "2": 1200, "3": 2400, "4": 4800, "5": 9600, "6": 19200}
        modes_b = {"A": 600, "B": 1200, "C": 2400, "D": 4800, "E": 9600, "F": 19200}
        want = expected.get(baud_char) or modes_b.get(baud_char, 300)
        got = _speed(fd)
        meter.speeds_seen.append(got)
        payload = block if b.stop_after is None else block[: b.stop_after]
        if got != want:
            payload = bytes((x * 7 + 3) & 0x7F for x in payload)  # a line at the wrong speed
        _send(fd, payload)


@contextlib.contextmanager
def simulated_meter(behaviour: MeterBehaviour | None = None) -> Iterator[SimulatedMeter]:
    """A meter on a fresh pty for the duration of the block; yields its port path."""
    master, slave = os.openpty()
    tty.setraw(master)
    port = os.ttyname(slave)
    meter = SimulatedMeter(port, behaviour or MeterBehaviour())
    stop = threading.Event()
    thread = threading.Thread(target=_answer, args=(master, meter, stop), daemon=True)
    thread.start()
    try:
        yield meter
    finally:
        stop.set()
        thread.join(5)
        os.close(master)
        os.close(slave)
