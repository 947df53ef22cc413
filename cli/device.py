"""``gridbill device``: enrol meter readers' handsets for field sync, revoke and list them.

``enroll`` prints the device UID and its credential once: the credential is stored only
as an Argon2 hash, so a lost one means revoking the device and enrolling it again.
``batches`` shows what a device pushed and what happened to each record, for support.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from cli.commands import help_for
from gridbill.settings import Settings
from services.errors import Refused
from store.db import open_database


def add_parser(subparsers: Any) -> None:
    """Add ``device`` and its subcommands to the ``gridbill`` command."""
    p = subparsers.add_parser("device", help=help_for("device"))
    sub = p.add_subparsers(dest="device_command", required=True, metavar="ACTION")

    enroll = sub.add_parser(
        "enroll", help="enrol a handset to a meter reader, print its credential"
    )
    enroll.add_argument(
        "--reader", required=True, metavar="EMAIL", help="the meter reader's e-mail"
    )
    enroll.add_argument("--name", required=True, help="the handset's name or asset tag")
    enroll.set_defaults(handler=cmd_enroll)

    revoke = sub.add_parser("revoke", help="revoke a device's credential at once")
    revoke.add_argument("device_uid", metavar="DEVICE_UID")
    revoke.add_argument("--reason", default="")
    revoke.set_defaults(handler=cmd_revoke)

    lst = sub.add_parser("list", help="list devices")
    lst.add_argument("--reader", metavar="EMAIL", help="only this reader's devices")
    lst.set_defaults(handler=cmd_list)

    batches = sub.add_parser("batches", help="what a device pushed and what happened to it")
    batches.add_argument("device_uid", metavar="DEVICE_UID")
    batches.add_argument("--batch", metavar="BATCH_ID", help="show this batch's items")
    batches.add_argument("--limit", type=int, default=20)
    batches.set_defaults(handler=cmd_batches)


def _run(settings: Settings, work: Any) -> Any:
    async def run() -> Any:
        async with open_database(settings.database_url):
            try:
                return await work()
            except Refused as exc:
                raise DeviceError(exc.message) from None

    return asyncio.run(run())


class DeviceError(Refused):
    def __init__(self, message: str) -> None:
        super().__init__("DEVICE", message)


def cmd_enroll(settings: Settings, args: argparse.Namespace) -> int:
    from sync.devices import enroll

    done = _run(settings, lambda: enroll(reader_email=args.reader, name=args.name))
    print(f"enrolled device {done.device_uid} ({done.name}) for {done.reader_email}")
    print(f"device_uid: {done.device_uid}")
    print(f"credential: {done.credential}")
    print("the credential is shown only now: enter it on the handset")
    return 0


def cmd_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from sync.devices import revoke

    changed = _run(settings, lambda: revoke(device_uid=args.device_uid, reason=args.reason))
    print(f"revoked {args.device_uid}" if changed else f"{args.device_uid} was already revoked")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from sync.devices import list_devices

    rows = _run(settings, lambda: list_devices(reader_email=args.reader))
    if not rows:
        print("no devices")
        return 0
    print(f"{'device_uid':<22} {'reader':<32} {'last seen':<20} {'status':<8} name")
    for r in rows:
        seen = r.last_seen_at.strftime("%Y-%m-%d %H:%M") if r.last_seen_at else "never"
        state = "revoked" if r.revoked_at else "active"
        print(f"{r.device_uid:<22} {r.reader_email:<32} {seen:<20} {state:<8} {r.name}")
    return 0


def cmd_batches(settings: Settings, args: argparse.Namespace) -> int:
    from sync.support import batch_items, device_batches

    if args.batch:
        items = _run(
            settings, lambda: batch_items(device_uid=args.device_uid, batch_uuid=args.batch)
        )
        for item in items:
            print(json.dumps(item, sort_keys=True, default=str))
        return 0
    batches = _run(settings, lambda: device_batches(device_uid=args.device_uid, limit=args.limit))
    if not batches:
        print(f"device {args.device_uid} has pushed no batches yet")
    for b in batches:
        print(
            f"{b['batch_id']}  received {b['received_at']:%Y-%m-%d %H:%M:%S}  items {b['item_count']}"
            f"  replays {b['replay_count']}  clock offset {b['clock_offset_s']}s  "
            + ", ".join(f"{result} {count}" for result, count in sorted(b["results"].items()))
        )
    return 0
