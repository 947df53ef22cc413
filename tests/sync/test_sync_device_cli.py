"""``gridbill device enroll|revoke|list|batches`` (wired into cli/main.py by add_parser)."""

from __future__ import annotations

import argparse
import asyncio
import re

import pytest

from cli.device import add_parser
from domain.enums import Role
from gridbill.errors import UserError
from gridbill.settings import Settings
from store.db import open_database
from store.models import AuditLog, FieldDevice, User


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="gridbill")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    code: int = args.handler(settings, args)
    return code


def db(settings: Settings, work):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with open_database(settings.database_url):
            return await work()

    return asyncio.run(go())


def test_enroll_list_revoke(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    db(
        settings,
        lambda: User.create(email="reader@x.example", full_name="R", role=Role.METER_READER),
    )
    assert run(settings, "device", "enroll", "--reader", "Reader@X.example", "--name", "HT-07") == 0
    out = capsys.readouterr().out
    uid = re.search(r"device_uid: (\S+)", out).group(1)  # type: ignore[union-attr]
    credential = re.search(r"credential: (\S+)", out).group(1)  # type: ignore[union-attr]
    device = db(settings, lambda: FieldDevice.get(device_uid=uid))
    assert credential not in device.credential_hash and device.credential_hash.startswith(
        "$argon2id$"
    )

    run(settings, "device", "list")
    listing = capsys.readouterr().out
    assert uid in listing and "active" in listing and "HT-07" in listing

    assert run(settings, "device", "revoke", uid, "--reason", "handset lost") == 0
    assert f"revoked {uid}" in capsys.readouterr().out
    run(settings, "device", "revoke", uid)
    assert "already revoked" in capsys.readouterr().out
    run(settings, "device", "list", "--reader", "reader@x.example")
    assert "revoked" in capsys.readouterr().out
    actions = db(
        settings, lambda: AuditLog.filter(entity="field_device").values_list("action", flat=True)
    )
    assert sorted(actions) == ["device.enroll", "device.revoke"]

    run(settings, "device", "batches", uid)
    assert capsys.readouterr().out == f"device {uid} has pushed no batches yet\n"
    with pytest.raises(UserError, match="not found"):
        run(settings, "device", "batches", "dev_nope")


def test_enroll_refuses_non_readers(settings: Settings) -> None:
    db(settings, lambda: User.create(email="staff@x.example", full_name="S", role=Role.STAFF))
    with pytest.raises(UserError, match="not an active meter reader"):
        run(settings, "device", "enroll", "--reader", "staff@x.example", "--name", "x")
    with pytest.raises(UserError, match="not found"):
        run(settings, "device", "enroll", "--reader", "nobody@x.example", "--name", "x")
    with pytest.raises(UserError, match="not found"):
        run(settings, "device", "revoke", "dev_nope")
