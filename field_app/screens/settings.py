"""Settings: the server and this device, the probe (its serial port or Bluetooth
address), the language, and enrolling again."""

from __future__ import annotations

from typing import Any

from field_app.i18n import markup
from field_app.screens import FieldScreen, load_kv
from field_app.transport import TransportError, open_transport

load_kv(__file__)


class SettingsScreen(FieldScreen):
    def show(self, **params: Any) -> None:
        store = self.app.store
        self.ids.server.text = self.app.t("server_url") + markup(
            f": {store.get('server_url') or '–'}"
        )
        self.ids.device.text = self.app.t("device") + markup(f": {store.get('device_uid') or '–'}")
        if not self.ids.probe.text:
            self.ids.probe.text = store.get("probe") or ""

    def pair_probe(self) -> None:
        """Keep the probe setting once it opens (a paired probe that is switched on)."""
        setting = self.ids.probe.text.strip()
        try:
            open_transport(setting).close()
        except TransportError as exc:
            self.ids.probe_status.text = markup(str(exc))
            return
        self.app.store.put(probe=setting)
        self.ids.probe_status.text = self.app.t("probe_paired") + markup(f": {setting}")
