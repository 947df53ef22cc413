"""Is a listening port free? Asked before a server starts, so a taken port is one clear line.

uvicorn would print "serving on …" and "ready" first and then a traceback-like line when
the address is in use; a bind test up front lets ``gridbill serve`` and ``gridbill
gateway`` (and ``make run``, before it migrates and loads anything) say which port is
taken and how to choose another.

    python -m gridbill.ports 127.0.0.1:8000 127.0.0.1:8100   # exit 1 with the error line
"""

from __future__ import annotations

import errno
import socket
import sys

from gridbill.errors import UserError

HINT = "choose another with --port N (make run: make run PORT=N SANDBOX_PORT=M)"


class PortTaken(UserError):
    """Something already listens on the address a server was asked to use."""


def ensure_free(host: str, port: int, *, what: str = "port") -> None:
    """Raise :class:`PortTaken` when ``host:port`` cannot be bound right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # uvicorn binds with SO_REUSEADDR too: a port in TIME_WAIT is not "taken"
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortTaken(
                    f"{what} {port} on {host} is taken (another program listens there); {HINT}"
                ) from None
            raise PortTaken(f"cannot listen on {host}:{port} ({exc.strerror})") from None


def main(argv: list[str]) -> int:
    """Check each ``HOST:PORT`` argument; print the first problem as one line."""
    try:
        for address in argv:
            host, _, port = address.rpartition(":")
            ensure_free(host or "127.0.0.1", int(port))
    except PortTaken as exc:
        print(f"gridbill: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
