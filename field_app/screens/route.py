"""The route in walking order, with search and done / pending / skipped counts."""

from __future__ import annotations

from typing import Any

from kivy.properties import NumericProperty
from kivy.uix.button import Button

from field_app.i18n import markup
from field_app.screens import FieldScreen, load_kv

STATUS_COLOURS = {
    "done": (0.0, 0.42, 0.15, 1),
    "pending": (0.0, 0.22, 0.55, 1),
    "skipped": (0.55, 0.35, 0.0, 1),
}


class StopRow(Button):
    """One stop of the route list (a RecycleView row)."""

    stop_id = NumericProperty(0)


load_kv(__file__)


class RouteScreen(FieldScreen):
    def show(self, **params: Any) -> None:
        store = self.app.store
        self.ids.counts.text = self.app.t("counts", **store.counts())
        waiting = store.pending_count()
        self.ids.sync_button.text = self.app.t("sync") + (f" ({waiting})" if waiting else "")
        self.ids.stops.data = [
            {
                "stop_id": stop.stop_id,
                "text": markup(f"{stop.sequence}. {stop.meter_serial}  {stop.address or ''}\n")
                + markup(f"{stop.route_code} · ")
                + self.app.t(stop.status),
                "background_color": STATUS_COLOURS[stop.status],
            }
            for stop in store.stops(self.ids.search.text)
        ]

    def open_stop(self, stop_id: int) -> None:
        self.app.go("meter", stop_id=stop_id)
