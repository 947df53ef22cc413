"""Probe capture: read the meter through the optical probe (IEC 62056-21), show what it
sent, and take the register the route asks for into the capture screen with the raw
telegram kept beside it."""

from __future__ import annotations

from typing import Any

from field_app.hints import BadValue, RegisterSpec, format_milli, value_from_probe
from field_app.i18n import markup
from field_app.iec62056 import ProbeError, Readout, read_meter
from field_app.local_store import LocalStore
from field_app.screens import FieldScreen, load_kv
from field_app.transport import open_transport

load_kv(__file__)


def read_with_probe(setting: str, address: str = "") -> Readout:
    transport = open_transport(setting)
    try:
        return read_meter(transport, address=address)
    finally:
        transport.close()


class ProbeScreen(FieldScreen):
    stop_id: int | None = None
    register_id: int | None = None
    readout: Readout | None = None
    value_milli = 0
    """The route's register as the probe read it, in thousandths."""

    def show(self, **params: Any) -> None:
        if params:
            self.stop_id = params.get("stop_id")
            self.register_id = params.get("register_id")
            self.readout = None
            self.ids.result.text = ""
            self.ids.use_button.disabled = True
            self.ids.use_button.opacity = 0
        setting = self.app.store.get("probe") or "–"
        self.ids.setting.text = self.app.t("probe_setting") + markup(f": {setting}")

    def read(self) -> None:
        setting = self.app.store.get("probe") or ""
        stop = self.app.store.stop(self.stop_id) if self.stop_id is not None else None
        address = stop.probe_address if stop else ""
        self.ids.result.text = self.app.t("probe_reading")
        self.ids.read_button.disabled = True

        def work(_store: LocalStore) -> Readout:
            return read_with_probe(setting, address)

        def done(readout: Readout | None, error: Exception | None) -> None:
            self.ids.read_button.disabled = False
            if isinstance(error, ProbeError):
                self.ids.result.text = markup(error.message)
            elif error is not None:  # TransportError, or a driver's own: said, never a crash
                self.ids.result.text = markup(str(error) or type(error).__name__)
            elif readout is not None:
                self.show_readout(readout)

        self.app.in_background(work, done)

    def show_readout(self, readout: Readout) -> None:
        self.readout = readout
        register = self.app.store.register(self.register_id) if self.register_id else None
        ident = readout.identification
        lines = [f"{ident.manufacturer} {ident.identification}"] if ident else []
        lines += [
            f"{code}: {value} {unit or ''}" for code, (value, unit) in readout.registers.items()
        ]
        self.ids.result.text = markup("\n".join(lines))
        if register is None:
            return
        found = readout.registers.get(register.obis_code)
        if found is None:
            self.ids.result.text += "\n" + self.app.t("probe_missing", obis=register.obis_code)
            return
        value, unit = found
        try:
            spec = RegisterSpec(register.digits, register.decimals)
            self.value_milli = value_from_probe(value, unit, spec)
        except BadValue as exc:
            self.ids.result.text += "\n" + markup(str(exc))
            return
        self.ids.use_button.text = self.app.t("probe_use", value=value, unit=unit or "")
        self.ids.use_button.disabled = False
        self.ids.use_button.opacity = 1

    def use(self) -> None:
        if self.readout is None:
            return
        self.app.go(
            "capture", stop_id=self.stop_id, register_id=self.register_id,
            value=format_milli(self.value_milli), source="probe",
            raw_telegram=self.readout.text,
        )  # fmt: skip
