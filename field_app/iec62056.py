"""IEC 62056-21 (formerly IEC 61107) data readout over an optical probe: mode C, and the
older modes A and B that some meters still answer in.

Written here rather than taken from a library: the Python package for it
(``iec62056-21`` on PyPI) is at version 0.0.2 of June 2019 and adds ``attrs``, and a
readout is small (sign-on, identification, acknowledgement, one data block). The
parsing half is pure (bytes in, values out) so ``gridbill-field readout`` and the tests
use it without a port; :func:`read_meter` drives a :class:`~field_app.transport.Transport`.

A readout, as a mode C meter sends it after the sign-on request ``/?!`` CR LF::

    /ISk5MT174-0001 CR LF                 identification: manufacturer, baud char, ident
    STX 1.8.0(0002714.841*kWh) CR LF ... ! CR LF ETX BCC

The BCC is the XOR of every byte after STX up to and including ETX.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Protocol

SOH, STX, ETX, ACK, NAK = 0x01, 0x02, 0x03, 0x06, 0x15
CRLF = b"\r\n"
SIGN_ON = b"/?!\r\n"
INITIAL_BAUD = 300

MODE_C_BAUDS = {str(n): b for n, b in enumerate((300, 600, 1200, 2400, 4800, 9600, 19200))}
"""Mode C baud-rate characters ``0``-``6`` (``7``-``9`` are reserved)."""
MODE_B_BAUDS = {c: b for c, b in zip("ABCDEF", (600, 1200, 2400, 4800, 9600, 19200), strict=True)}
"""Mode B baud-rate characters: the meter switches at once, without an acknowledgement."""


class ProbeError(Exception):
    """A readout that cannot be trusted; ``code`` is stable, the message says what to do."""

    code = "probe"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadChecksum(ProbeError):
    code = "bcc"


class Incomplete(ProbeError):
    code = "incomplete"


class ProbeTimeout(ProbeError):
    code = "timeout"


class BadIdentification(ProbeError):
    code = "identification"


@dataclass(frozen=True)
class Identification:
    """The meter's answer to the sign-on request: ``/XXXZ[\\W]ident``."""

    manufacturer: str
    baud_char: str
    identification: str
    enhanced: str = ""
    """The ``\\W`` enhanced-identification character when the meter sends one (``\\2``)."""

    @property
    def mode(self) -> str:
        """``C`` for a digit baud character, ``B`` for ``A``-``F``, else ``A``."""
        if self.baud_char in MODE_C_BAUDS:
            return "C"
        if self.baud_char in MODE_B_BAUDS:
            return "B"
        return "A"

    @property
    def baud(self) -> int:
        """The speed the data block comes at."""
        return MODE_C_BAUDS.get(self.baud_char) or MODE_B_BAUDS.get(self.baud_char) or INITIAL_BAUD


@dataclass(frozen=True)
class DataLine:
    """One data set: ``address(value*unit)``, with the address shortened to ``C.D.E``."""

    address: str
    value: str
    unit: str | None


@dataclass
class Readout:
    identification: Identification | None
    lines: list[DataLine] = field(default_factory=list)
    raw: bytes = b""

    @property
    def registers(self) -> dict[str, tuple[str, str | None]]:
        """Register code → (value, unit); the first occurrence of a code counts."""
        out: dict[str, tuple[str, str | None]] = {}
        for line in self.lines:
            out.setdefault(line.address, (line.value, line.unit))
        return out

    def as_json(self) -> dict[str, object]:
        """The shape of ``tests/fixtures/iec62056-21/*.json`` (and of the shared fixtures)."""
        ident = self.identification
        return {
            "manufacturer": ident.manufacturer if ident else None,
            "baud_char": ident.baud_char if ident else None,
            "identification": ident.identification if ident else None,
            "registers": {code: [v, u] for code, (v, u) in self.registers.items()},
        }

    @property
    def text(self) -> str:
        """The readout as received, for keeping with a read (``raw_telegram``)."""
        return self.raw.decode("ascii", errors="replace")


def bcc(data: bytes) -> int:
    """XOR of ``data`` (pass the bytes after STX/SOH up to and including ETX)."""
    value = 0
    for byte in data:
        value ^= byte
    return value


_IDENT = re.compile(rb"^/([A-Za-z]{2}[A-Za-z])(.)(\\.)?([\x20-\x7e]{1,16})$")


def parse_identification(line: bytes) -> Identification:
    """``/ISk5MT174-0001`` (without CR LF) → its parts."""
    match = _IDENT.match(line.rstrip(b"\r\n"))
    if not match:
        shown = line[:40].decode("ascii", errors="replace")
        raise BadIdentification(f"not a meter identification: {shown!r}")
    manufacturer, baud_char, enhanced, ident = (
        g.decode("ascii") if g else "" for g in match.groups()
    )
    return Identification(manufacturer, baud_char, ident, enhanced)


_ADDRESS = re.compile(r"^(?:(\d+)-(\d+):)?([0-9A-Za-z]+(?:\.[0-9A-Za-z]+){0,2})(?:\*(\d+))?$")
_DATA_SET = re.compile(r"([^()\r\n]*)\(([^()]*)\)")


def short_code(address: str) -> str:
    """``1-0:1.8.0*255`` → ``1.8.0``; a billing-period suffix other than 255 is kept
    (``1.8.0*01`` is the value at the end of period 1, not the current one)."""
    match = _ADDRESS.match(address.strip())
    if not match:
        return address.strip()
    code, storage = match.group(3), match.group(4)
    return code if storage in (None, "255") else f"{code}*{storage}"


def _clean_value(value: str, unit: str | None) -> str:
    """A value with a unit is a number: drop the integer part's leading zeros
    (``0002714.841`` → ``2714.841``); one without a unit is kept as sent."""
    if unit is None:
        return value
    try:
        Decimal(value)
    except InvalidOperation:
        return value
    whole, dot, frac = value.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("+-").lstrip("0") or "0"
    return f"{sign}{whole}{dot}{frac}"


def parse_data_lines(text: str) -> list[DataLine]:
    """The data sets of a block's text (everything between STX and ``!``). A line may hold
    several data sets; a set without an address (``1.6.0(04.512*kW)(2611141530)``'s
    second one, a time stamp) belongs to the previous one and is not kept."""
    lines: list[DataLine] = []
    for raw in text.replace("\r", "").split("\n"):
        for address, content in _DATA_SET.findall(raw):
            if not address.strip():
                continue
            value, star, unit = content.partition("*")
            unit_or_none = unit if star else None
            lines.append(
                DataLine(short_code(address), _clean_value(value, unit_or_none), unit_or_none)
            )
    return lines


def parse_block(frame: bytes) -> list[DataLine]:
    """``STX data ! CR LF ETX BCC`` → its data lines, the BCC checked."""
    start = frame.find(bytes([STX]))
    if start < 0:
        raise Incomplete("no data block (STX) in the readout: read the meter again")
    end = frame.find(bytes([ETX]), start + 1)
    if end < 0 or end + 1 >= len(frame):
        raise Incomplete("the data block is cut short (no ETX and checksum): read the meter again")
    expected = frame[end + 1]
    actual = bcc(frame[start + 1 : end + 1])
    if actual != expected:
        raise BadChecksum(
            f"checksum mismatch (BCC 0x{expected:02X} sent, 0x{actual:02X} computed): "
            "hold the probe still and read again"
        )
    body = frame[start + 1 : end].decode("ascii", errors="replace")
    if "!" not in body:
        raise Incomplete("the data block has no end line (!): read the meter again")
    return parse_data_lines(body[: body.rindex("!")])


def parse_readout(data: bytes) -> Readout:
    """A saved readout (identification line, if any, then the data block) → a
    :class:`Readout`. Raises :class:`BadChecksum` or :class:`Incomplete`."""
    ident: Identification | None = None
    block = data
    if data.startswith(b"/"):
        line_end = data.find(CRLF)
        if line_end < 0:
            raise Incomplete("the identification line is cut short: read the meter again")
        ident = parse_identification(data[:line_end])
        block = data[line_end + 2 :]
    return Readout(ident, parse_block(block), raw=data)


class Transport(Protocol):
    """What :func:`read_meter` needs from a serial line (see ``field_app/transport.py``)."""

    def write(self, data: bytes) -> None: ...

    def read(self, size: int, timeout: float) -> bytes:
        """Up to ``size`` bytes, or fewer (maybe none) when ``timeout`` seconds pass."""
        ...

    def set_baudrate(self, baud: int) -> None: ...

    def discard_input(self) -> None: ...


def _read_until(
    transport: Transport,
    done: Callable[[bytearray], bool],
    timeout: float,
    what: str,
    initial: bytes = b"",
) -> bytes:
    """Read until ``done(buffer)`` is true; :class:`ProbeTimeout` when the line goes
    quiet for ``timeout`` seconds (a meter answering slowly keeps the read alive)."""
    buffer = bytearray(initial)
    while not done(buffer):
        chunk = transport.read(256, timeout)
        if not chunk:
            if buffer:
                raise Incomplete(f"the meter stopped sending in the middle of {what}: read again")
            raise ProbeTimeout(
                f"no answer from the meter ({what}): check the probe sits on the optical port"
            )
        buffer += chunk
        if len(buffer) > 64_000:
            raise Incomplete(f"{what} is longer than any readout: check the probe")
    return bytes(buffer)


def _block_done(buffer: bytearray) -> bool:
    etx = buffer.find(ETX)
    return etx >= 0 and len(buffer) > etx + 1


def read_meter(
    transport: Transport,
    *,
    address: str = "",
    timeout: float = 2.0,
    switch_delay: float = 0.05,
) -> Readout:
    """Sign on at 300 baud, read the identification, select data readout at the meter's
    speed (mode C: ACK ``0 Z 0``; mode B: switch without it; mode A: stay at 300), and
    read and check the data block. ``address`` selects one meter on a shared bus.

    ``switch_delay`` is the pause between sending the acknowledgement (the transport
    drains it onto the line first) and changing speed. The meter waits at least 200 ms
    before it answers at the new speed, so the probe must change well within that; a
    meter that takes longer (up to 1.5 s) is simply waited for (``timeout``)."""
    transport.set_baudrate(INITIAL_BAUD)
    transport.discard_input()
    transport.write(b"/?" + address.encode("ascii") + b"!\r\n")
    ident_line = _read_until(transport, lambda b: CRLF in b, timeout, "the identification")
    line, _, rest = ident_line.partition(CRLF)
    ident = parse_identification(line)
    if ident.mode == "C":
        transport.write(bytes([ACK]) + b"0" + ident.baud_char.encode("ascii") + b"0" + CRLF)
        time.sleep(switch_delay)
        transport.set_baudrate(ident.baud)
        rest = b""
    elif ident.mode == "B":
        transport.set_baudrate(ident.baud)
        rest = b""
    block = _read_until(transport, _block_done, timeout, "the data block", initial=rest)
    return Readout(ident, parse_block(block), raw=line + CRLF + block)
