"""The root of failures a person can fix, as opposed to bugs.

The CLI prints these as one line and the API maps them to typed errors with a code;
anything else is a bug and is logged in full but never shown to a client.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the operator or caller can correct; the message says how."""
