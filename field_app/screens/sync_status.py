"""Sync status: when the last sync was, what is waiting, "Sync now", every capture's
result as the server gave it (with its reason for conflicts and refusals, and "Read
again" where a new read makes sense), and the office's messages."""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label

from field_app.hints import format_milli
from field_app.i18n import markup
from field_app.local_store import Capture
from field_app.screens import FieldScreen, load_kv

load_kv(__file__)
INK = (0.05, 0.05, 0.08, 1)
RESULT_COLOURS = {
    "accepted": (0.0, 0.42, 0.15, 1),
    "duplicate": (0.0, 0.42, 0.15, 1),
    "conflict_resolved": (0.55, 0.35, 0.0, 1),
    "rejected": (0.65, 0.1, 0.0, 1),
}
RECAPTURE_RULES = {"lower_than_previous"}
"""Conflicts a new read at the meter can mend (the others are the office's to decide)."""


def can_recapture(capture: Capture) -> bool:
    if capture.kind != "read" or capture.register_id is None:
        return False
    return capture.result == "rejected" or (capture.rule or "") in RECAPTURE_RULES


class SyncScreen(FieldScreen):
    def show(self, **params: Any) -> None:
        app, store = self.app, self.app.store
        when = store.get("last_sync_at")
        self.ids.last_sync.text = app.t(
            "last_sync", when=when[:19].replace("T", " ") if when else ""
        ) + ("" if when else app.t("never"))
        self.ids.waiting.text = app.t("waiting", count=store.pending_count())
        self.ids.status.text = app.status_text()
        self.ids.sync_button.disabled = app.syncing
        results = self.ids.results
        results.clear_widgets()
        recaptured = {c.recapture_of for c in store.captures() if c.recapture_of}
        for capture in reversed(store.captures()):
            results.add_widget(self.result_row(capture, capture.uuid in recaptured))
        self.ids.messages.text = "\n".join(
            markup(f"{m['sent_at'][:10]}  {m['body']}") for m in store.messages()
        ) or app.t("none")

    def result_row(self, capture: Capture, recaptured: bool) -> BoxLayout:
        app = self.app
        outcome = capture.result or capture.state
        what = (
            f"{capture.skip_code}" if capture.kind == "skip"
            else format_milli(capture.value_milli or 0)
        )  # fmt: skip
        text = markup(f"{capture.kind} {what}  ") + app.t(f"result_{outcome}")
        if capture.rule:
            text += markup(f" ({capture.rule})")
        if capture.message:
            text += "\n" + markup(capture.message)
        row = BoxLayout(size_hint_y=None, height="96dp", spacing="6dp")
        label = Label(text=text, markup=True, color=RESULT_COLOURS.get(outcome, INK), bold=True,
                      font_size="17sp", halign="left", valign="middle")  # fmt: skip
        label.bind(size=lambda w, s: setattr(w, "text_size", (s[0], None)))
        row.add_widget(label)
        if can_recapture(capture) and not recaptured:
            button = Button(text=app.t("recapture"), markup=True, size_hint_x=0.32, bold=True,
                            background_normal="", background_color=(0.0, 0.22, 0.55, 1))  # fmt: skip
            button.bind(on_release=lambda _b: self.recapture(capture))
            row.add_widget(button)
            self.ids[f"recapture_{capture.uuid}"] = button
        return row

    def recapture(self, capture: Capture) -> None:
        register = self.app.store.register(capture.register_id)
        if register is None:
            return
        self.app.go(
            "capture", stop_id=register.stop_id, register_id=register.register_id,
            recapture_of=capture.uuid,
        )  # fmt: skip
