"""The sync client's pure parts: reading the enrolment text, and the backoff."""

from __future__ import annotations

import pytest

from field_app.sync_client import Backoff, EnrolmentError, parse_credential

UID = "dev_3f9c0a1b2c3d4e5f"
SECRET = "6Zk1aB-_cdEFghIJklMNopQRstUVwxYZ0123456789a"


def test_the_printed_enrolment_is_accepted_whole() -> None:
    printed = (
        f"enrolled device {UID} (HT-07) for reader@gridbill.example\n"
        f"device_uid: {UID}\ncredential: {SECRET}\n"
        "the credential is shown only now: enter it on the handset\n"
    )
    credential = parse_credential(printed)
    assert (credential.device_uid, credential.secret) == (UID, SECRET)
    assert credential.header() == f"Device {UID}:{SECRET}"


def test_uid_colon_credential_as_a_qr_code_holds_it() -> None:
    assert parse_credential(f"  {UID}:{SECRET}\n").secret == SECRET


@pytest.mark.parametrize("text", ["", "hello", f"{UID}:", f"{UID}:short", f"x{UID}:{SECRET}"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(EnrolmentError, match="gridbill device enroll"):
        parse_credential(text)


def test_backoff_doubles_to_its_cap_with_jitter() -> None:
    low = Backoff(base=15, cap=900, rng=lambda: 0.0)
    high = Backoff(base=15, cap=900, rng=lambda: 1.0)
    assert low.delay() == 0.0
    delays = [(low.failed(), high.failed()) for _ in range(8)]
    assert [d[0] for d in delays] == [12.0, 24.0, 48.0, 96.0, 192.0, 384.0, 720.0, 720.0]
    assert [round(d[1], 6) for d in delays] == [
        18.0,
        36.0,
        72.0,
        144.0,
        288.0,
        576.0,
        1080.0,
        1080.0,
    ]
    low.succeeded()
    assert low.delay() == 0.0
