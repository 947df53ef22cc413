"""Meter detail: address, access notes, last read and its date, the expected range,
and the ways to record the visit (type the read, read with the probe, skip)."""

from __future__ import annotations

from typing import Any

from field_app.hints import expected_range, format_milli
from field_app.i18n import markup
from field_app.screens import FieldScreen, load_kv

load_kv(__file__)


class MeterScreen(FieldScreen):
    stop_id: int | None = None

    def show(self, **params: Any) -> None:
        if "stop_id" in params:
            self.stop_id = int(params["stop_id"])
        stop = self.app.store.stop(self.stop_id) if self.stop_id is not None else None
        if stop is None:  # removed by a tombstone while open
            self.app.go("route")
            return
        t = self.app.t
        lines = [
            t("meter") + markup(f": {stop.meter_serial}   ({stop.route_code} #{stop.sequence})"),
            t("account") + markup(f": {stop.account_number or '–'}"),
            t("address") + markup(f": {stop.address or '–'} {stop.postal_code or ''}"),
            t("access_notes") + markup(f": {stop.access_notes or '–'}"),
        ]
        for reg in self.app.store.registers(stop.stop_id):
            last = (
                markup(
                    f"{format_milli(reg.last_value_milli, reg.decimals)} {reg.unit}"
                    f" ({(reg.last_read_at or '')[:10]})"
                )
                if reg.last_value_milli is not None
                else t("none")
            )
            lines.append(markup(f"{reg.obis_code}: ") + t("last_read") + ": " + last)
            expected = expected_range(reg.spec())
            lines.append(
                t("expected") + ": " + (markup(f"{expected} {reg.unit}") if expected else t("none"))
            )
        self.ids.details.text = "\n".join(lines)
        self.ids.status.text = t(stop.status)

    def first_register(self) -> int | None:
        register = self.app.store.next_register(self.stop_id)
        return register.register_id if register else None

    def read_manual(self) -> None:
        self.app.go("capture", stop_id=self.stop_id, register_id=self.first_register())

    def read_probe(self) -> None:
        self.app.go("probe", stop_id=self.stop_id, register_id=self.first_register())

    def skip(self) -> None:
        self.app.go("capture", stop_id=self.stop_id, register_id=self.first_register(), skip=True)
