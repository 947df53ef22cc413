"""Drives the real app's widgets in its own process, for tests/field/test_screens.py.

``python screen_driver.py PHASE ARTIFACTS`` starts :class:`field_app.app.FieldApp`, runs
the phase's steps on the Kivy clock (tap a button, type into a box, wait for the screen
to show something, take a screenshot) and prints one line per event for the test:
``SHOT name path``, ``CAPTURED uuid``, ``OK`` at the end, ``FAIL reason`` otherwise.
The phase's inputs come from the environment (``FIELD_TEST_*``).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")

from kivy.clock import Clock
from kivy.core.window import Window

from field_app.app import FieldApp  # first: it sizes the window

Step = Callable[[], bool] | float | None
TIMEOUT = 45.0


def say(*words: object) -> None:
    print(*words, flush=True)


class Driver:
    def __init__(self, app: FieldApp, artifacts: Path) -> None:
        self.app = app
        self.artifacts = artifacts

    def screen(self, name: str) -> Any:
        return self.app.manager.get_screen(name)

    def ids(self, name: str) -> Any:
        return self.screen(name).ids

    def tap(self, widget: Any) -> None:
        assert not widget.disabled, f"{widget} is disabled"
        widget.trigger_action(duration=0)

    def type(self, widget: Any, text: str) -> None:
        widget.text = ""
        widget.insert_text(text)

    def keypad(self, digits: str) -> None:
        ids = self.ids("capture")
        for _ in range(len(ids.value.text)):
            self.tap(ids.key_del)
        for ch in digits:
            self.tap(ids["key_dot" if ch == "." else f"key_{ch}"])

    def shot(self, name: str) -> None:
        path = self.artifacts / f"{name}.png"
        made = Window.screenshot(name=str(self.artifacts / f"{name}-.png"))
        Path(made).replace(path)
        say("SHOT", name, path)

    def on(self, name: str) -> Callable[[], bool]:
        return lambda: self.app.manager.current == name

    def tap_stop(self, serial: str) -> None:
        rv = self.ids("route").stops
        rows = [w for w in rv.children[0].children if serial in w.text]
        assert rows, f"no stop {serial} in the list"
        self.tap(rows[0])


def phase_online(d: Driver) -> Iterator[Step]:
    """Enrol, pull, a manual read with a photo, a probe read, a skip, sync."""
    env = os.environ
    yield 0.5
    enrol = d.ids("enrol")
    d.type(enrol.server_url, env["FIELD_TEST_SERVER_URL"])
    uid = env["FIELD_TEST_CREDENTIAL"].split("device_uid: ")[1].split()[0]
    d.type(enrol.credential, f"{uid}:{'x' * 43}")  # typed, with a typo
    d.tap(enrol.enrol_button)
    yield lambda: "bad_credentials" in enrol.status.text
    d.shot("01-enrol")
    d.tap(enrol.scan_button)  # the QR code staff made from the enrolment
    yield 0.5
    chooser = d.screen("enrol").scan_popup.content
    chooser.path = str(Path(env["FIELD_TEST_QR"]).parent)
    yield 0.3
    chooser.selection = [env["FIELD_TEST_QR"]]
    chooser.dispatch("on_submit", chooser.selection, None)
    yield lambda: enrol.credential.text.startswith(uid + ":")
    d.tap(enrol.enrol_button)
    yield d.on("route")
    yield lambda: len(d.app.store.stops()) == 5 and not d.app.syncing
    d.app.refresh()
    yield 0.3
    d.shot("02-route")

    d.tap_stop("M00000")
    yield d.on("meter")
    yield 0.3
    d.shot("03-meter")
    d.tap(d.ids("meter").read_button)
    yield d.on("capture")
    d.keypad("1")
    d.tap(d.ids("capture").save_button)  # out of range: warned, not saved
    assert d.app.store.captures() == [], "saved without confirmation"
    yield 0.3
    d.shot("04-capture-warning")
    d.keypad("10700")
    d.tap(d.ids("capture").photo_button)
    yield 0.5
    popup = d.screen("capture").photo_popup
    chooser = popup.content
    chooser.path = str(Path(env["FIELD_TEST_PHOTO"]).parent)
    yield 0.5
    d.shot("05-photo-chooser")
    chooser.selection = [env["FIELD_TEST_PHOTO"]]
    chooser.dispatch("on_submit", chooser.selection, None)
    yield 0.2
    d.ids("capture").note.insert_text("seal intact")
    d.tap(d.ids("capture").save_button)
    yield d.on("route")
    say("CAPTURED", d.app.store.captures()[-1].uuid)

    d.tap(d.ids("route").settings_button)
    yield d.on("settings")
    d.type(d.ids("settings").probe, f"serial:{env['FIELD_TEST_PROBE_PORT']}")
    d.tap(d.ids("settings").pair_button)
    yield 0.3
    d.shot("06-settings")
    d.tap(d.ids("settings").back_button)
    yield d.on("route")

    d.tap_stop("M00001")
    yield d.on("meter")
    d.tap(d.ids("meter").probe_button)
    yield d.on("probe")
    d.tap(d.ids("probe").read_button)
    yield lambda: not d.ids("probe").use_button.disabled
    yield 0.2
    d.shot("07-probe")
    d.tap(d.ids("probe").use_button)
    yield d.on("capture")
    d.tap(d.ids("capture").save_button)  # far below the expected range: warned
    yield 0.2
    d.tap(d.ids("capture").save_button)  # confirmed
    yield d.on("route")
    probe_read = d.app.store.captures()[-1]
    assert probe_read.source == "probe" and probe_read.value_milli == 2_714_841, probe_read
    say("CAPTURED", probe_read.uuid)

    d.tap_stop("M00002")
    yield d.on("meter")
    d.tap(d.ids("meter").skip_button)
    yield d.on("capture")
    yield 0.3
    d.shot("08-skip-codes")
    d.tap(d.ids("capture").skip_dog)
    yield d.on("route")
    say("CAPTURED", d.app.store.captures()[-1].uuid)
    d.tap(d.ids("route").sync_button)
    yield d.on("sync")
    yield lambda: not d.app.syncing  # an automatic sync may be running
    d.app.refresh()
    d.tap(d.ids("sync").sync_button)
    yield lambda: not d.app.syncing and d.app.store.pending_count() == 0
    d.app.refresh()
    yield 0.3
    d.shot("09-sync-online")


def phase_offline(d: Driver) -> Iterator[Step]:
    """No server: two reads (one recaptured after a typo), then the test kills us."""
    yield d.on("route")
    yield 0.3
    for serial, value in (("M00003", "10703"), ("M00004", "10704.5")):
        d.tap_stop(serial)
        yield d.on("meter")
        d.tap(d.ids("meter").read_button)
        yield d.on("capture")
        d.keypad(value)
        d.tap(d.ids("capture").save_button)
        yield d.on("route")
        say("CAPTURED", d.app.store.captures()[-1].uuid)
    d.tap(d.ids("route").sync_button)
    yield d.on("sync")
    yield lambda: not d.app.syncing  # an automatic sync may be running
    d.app.refresh()
    d.tap(d.ids("sync").sync_button)
    yield lambda: not d.app.syncing
    d.app.refresh()
    yield 0.3
    d.shot("10-sync-offline")
    say("WAITING")
    yield lambda: False  # the test kills this process here


def phase_restart(d: Driver) -> Iterator[Step]:
    """Back online after the kill: sync, see every result (a conflict among them), in
    English and in Hindi."""
    yield d.on("route")
    yield 0.3
    d.tap(d.ids("route").sync_button)
    yield d.on("sync")
    yield lambda: not d.app.syncing  # an automatic sync may be running
    d.app.refresh()
    d.tap(d.ids("sync").sync_button)
    yield lambda: not d.app.syncing and d.app.store.pending_count() == 0
    d.app.refresh()
    yield 0.3
    d.shot("11-sync-results")
    conflict = [c for c in d.app.store.captures() if c.result == "conflict_resolved"]
    assert conflict and conflict[0].message, "no conflict with the server's reason"
    button = d.ids("sync")[f"recapture_{conflict[0].uuid}"]
    d.tap(button)
    yield d.on("capture")
    yield 0.3
    d.shot("12-recapture")
    d.app.set_language("hi")
    d.app.go("route")
    yield 0.5
    assert_devanagari_is_drawn()
    d.shot("13-route-hindi")
    d.app.go("sync")
    yield 0.5
    d.shot("14-sync-hindi")
    d.app.set_language("en")


def pixels(text: str, markup: bool) -> bytes:
    from kivy.core.text.markup import MarkupLabel

    label = MarkupLabel(text=text, font_size=40, markup=markup)
    label.refresh()
    return bytes(label.texture.pixels)


def assert_devanagari_is_drawn() -> None:
    """The app's markup draws Devanagari glyphs: two letters come out different, where
    Kivy's default font draws the same box for both."""
    from field_app.i18n import markup

    assert pixels("क", False) == pixels("ग", False)  # the default font: a box for each
    assert pixels(markup("क"), True) != pixels(markup("ग"), True)


PHASES = {"online": phase_online, "offline": phase_offline, "restart": phase_restart}


def main() -> None:
    phase, artifacts = sys.argv[1], Path(sys.argv[2])
    artifacts.mkdir(parents=True, exist_ok=True)
    app = FieldApp()
    state: dict[str, Any] = {"steps": None, "wait": None, "since": time.monotonic(), "code": 0}

    def finish(code: int, message: str) -> None:
        say(message)
        state["code"] = code
        app.stop()

    def tick(_dt: float) -> None:
        if state["steps"] is None:
            state["steps"] = PHASES[phase](Driver(app, artifacts))
        wait = state["wait"]
        now = time.monotonic()
        if isinstance(wait, float) and now - state["since"] < wait:
            return
        if callable(wait) and not wait():
            if now - state["since"] > TIMEOUT:
                finish(1, f"FAIL timed out waiting in phase {phase}")
            return
        try:
            state["wait"] = next(state["steps"])
            state["since"] = time.monotonic()
        except StopIteration:
            finish(0, "OK")
        except Exception:
            finish(1, "FAIL " + traceback.format_exc().replace("\n", " | "))

    Clock.schedule_interval(tick, 0.05)
    app.run()
    sys.exit(state["code"])


if __name__ == "__main__":
    main()
