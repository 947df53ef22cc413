"""Who acts when the ``gridbill`` command changes data: ``cli:<operating-system user>``.

Commands call the same use cases as GraphQL; the audit log records this label, so a row
written from the command line says so, and whose shell it was.
"""

from __future__ import annotations

import getpass

from services.viewer import Viewer, acting_as


def cli_actor() -> Viewer:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        user = "unknown"
    return acting_as(f"cli:{user}")
