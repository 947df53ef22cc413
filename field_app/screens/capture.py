"""Read capture: a large numeric keypad, the expected range with a warning and a second
confirmation outside it, skip codes, a note, a photo and the position.

Saving writes one transaction to the store (``LocalStore.capture_read`` or
``capture_skip``); from then on the read survives anything short of losing the phone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kivy.uix.button import Button

from field_app.devices import PhotoError, keep_photo
from field_app.hints import BadValue, RegisterSpec, expected_range, in_expected_range, parse_value
from field_app.i18n import markup
from field_app.local_store import SKIP_CODES, Register, StoreError
from field_app.screens import FieldScreen, choose_picture, load_kv

load_kv(__file__)
KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", ".", "0", "del"]


class CaptureScreen(FieldScreen):
    stop_id: int | None = None
    register_id: int | None = None
    source = "manual"
    raw_telegram = ""
    recapture_of: str | None = None
    photo: tuple[str, str, int, str, str] | None = None
    confirmed: int | None = None
    """The out-of-range value the reader has been warned about once."""

    def on_kv_post(self, base_widget: Any) -> None:
        for key in KEYS:
            button = Button(text=key, font_size="34sp", bold=True, background_normal="",
                            background_color=(0.88, 0.9, 0.94, 1), color=(0.05, 0.05, 0.08, 1))  # fmt: skip
            button.bind(on_release=lambda b, k=key: self.press(k))
            self.ids.keypad.add_widget(button)
            self.ids[f"key_{'dot' if key == '.' else key}"] = button
        for code in SKIP_CODES:
            button = Button(markup=True, font_size="20sp", bold=True, background_normal="",
                            background_color=(0.55, 0.35, 0.0, 1))  # fmt: skip
            button.bind(on_release=lambda b, c=code: self.save_skip(c))
            self.ids.skip_codes.add_widget(button)
            self.ids[f"skip_{code}"] = button

    def show(self, **params: Any) -> None:
        if params:
            self.stop_id = params.get("stop_id")
            self.register_id = params.get("register_id")
            self.source = params.get("source", "manual")
            self.raw_telegram = params.get("raw_telegram", "")
            self.recapture_of = params.get("recapture_of")
            self.photo, self.confirmed = None, None
            self.ids.value.text = params.get("value", "")
            self.ids.note.text = ""
            self.ids.warning.text = ""
            self.set_skip_mode(bool(params.get("skip")))
        t = self.app.t
        register = self.app.store.register(self.register_id) if self.register_id else None
        stop = self.app.store.stop(self.stop_id) if self.stop_id is not None else None
        serial = stop.meter_serial if stop else ""
        if register is not None:
            self.ids.title.text = t(
                "capture_title", obis=register.obis_code, unit=register.unit
            ) + markup(f"  {serial}")
            expected = expected_range(register.spec())
            self.ids.expected.text = (
                t("expected") + ": " + (markup(expected) if expected else t("none"))
            )
        else:
            self.ids.title.text = markup(serial)
            self.ids.expected.text = ""
        for code in SKIP_CODES:
            self.ids[f"skip_{code}"].text = t(f"skip_{code}")
        for key in KEYS:
            self.ids[f"key_{'dot' if key == '.' else key}"].text = key
        position = self.app.locator.location()
        self.ids.location.text = (
            t("location")
            + ": "
            + (markup(f"{position[0]:.5f}, {position[1]:.5f}") if position else t("no_location"))
        )
        self.ids.photo_button.text = t("photo_added") if self.photo else t("photo")

    def spec(self) -> RegisterSpec:
        register: Register | None = self.app.store.register(self.register_id)
        if register is None:
            raise StoreError("this register is no longer on your route: pull to update")
        return register.spec()

    def set_skip_mode(self, on: bool) -> None:
        self.ids.keypad.opacity, self.ids.keypad.disabled = (0, True) if on else (1, False)
        self.ids.skip_codes.opacity, self.ids.skip_codes.disabled = (1, False) if on else (0, True)
        self.ids.keypad.size_hint_y = None if on else 1
        self.ids.keypad.height = 0
        self.ids.skip_codes.size_hint_y = 1 if on else None
        self.ids.skip_codes.height = 0
        self.ids.save_button.disabled = on

    def press(self, key: str) -> None:
        text = self.ids.value.text
        if key == "del":
            text = text[:-1]
        elif key == "." and "." in text:
            return
        elif len(text) < 12:
            text += key
        self.ids.value.text = text
        self.ids.warning.text = ""
        # A probe value changed by hand is a manual read: the telegram no longer matches.
        self.source, self.raw_telegram = "manual", ""

    def choose_photo(self) -> None:
        """The camera on Android; a file chooser on a desktop."""
        self.photo_popup = choose_picture(self.app, "choose_photo", self.take_photo)

    def take_photo(self, picture: Path) -> None:
        try:
            self.photo = keep_photo(picture, self.app.data_path / "photos")
        except (PhotoError, OSError) as exc:
            self.ids.warning.text = markup(str(exc))
            return
        self.ids.photo_button.text = self.app.t("photo_added")

    def save(self) -> None:
        try:
            spec = self.spec()
            value = parse_value(self.ids.value.text, spec)
        except (BadValue, StoreError) as exc:
            self.ids.warning.text = markup(str(exc))
            return
        if in_expected_range(value, spec) is False and self.confirmed != value:
            self.confirmed = value
            self.ids.warning.text = self.app.t(
                "out_of_range", value=self.ids.value.text,
                range=expected_range(spec),
            )  # fmt: skip
            return
        position = self.app.locator.location() or (None, None)
        try:
            self.app.store.capture_read(
                register_id=self.register_id, value_milli=value, captured_at=datetime.now(UTC),
                source=self.source, raw_telegram=self.raw_telegram, notes=self.ids.note.text,
                latitude=position[0], longitude=position[1], photo=self.photo,
                recapture_of=self.recapture_of,
            )  # fmt: skip
        except StoreError as exc:
            self.ids.warning.text = markup(str(exc))
            return
        unread = self.app.store.unread_registers(self.stop_id)
        if unread:  # a meter with more registers (TOU): the next one at once
            self.app.go("capture", stop_id=self.stop_id, register_id=unread[0].register_id)
            return
        self.done()

    def save_skip(self, code: str) -> None:
        stop = self.app.store.stop(self.stop_id) if self.stop_id is not None else None
        if stop is None:
            return
        position = self.app.locator.location() or (None, None)
        self.app.store.capture_skip(
            meter_id=stop.meter_id, skip_code=code, visited_at=datetime.now(UTC),
            notes=self.ids.note.text, latitude=position[0], longitude=position[1],
            photo=self.photo,
        )  # fmt: skip
        self.done()

    def done(self) -> None:
        self.app.status = ("saved", {})
        self.app.go("route")
