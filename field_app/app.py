"""The Kivy app: one window, a screen manager, the handset's store and the sync loop.

Screens (``field_app/screens/``) only wire widgets to the Kivy-free core: the store,
the sync client, the probe protocol and the hints. Work that waits on the network or
the probe runs in a thread with its own store connection and reports back on the Kivy
clock, so the screen never freezes.

Automatic sync: every few seconds the app checks whether a sync is due (records are
waiting, or the route was last pulled a while ago) and whether the backoff after failed
attempts has passed. While there is no network every attempt fails fast and the delay
grows (15 s, 30 s … 15 min); when the network comes back the next attempt succeeds. This
is how "sync when a network appears" works on every platform without listening to
Android's connectivity broadcasts.

The app's own environment variables (read here and in ``field_app/devices.py``; the
server's settings module is not part of the app): ``GRIDBILL_FIELD_DATA_DIR`` (where the
store and photos live; default Kivy's per-user data folder) and
``GRIDBILL_FIELD_FAKE_GPS`` (``lat,lon``: a fixed position instead of GPS).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, ScreenManager
from kivy.utils import platform

from field_app.devices import Locator, locator_for
from field_app.i18n import DEVANAGARI, DEVANAGARI_FILES, LANGUAGES, markup, tr
from field_app.local_store import LocalStore
from field_app.sync_client import Backoff, SyncClient, SyncReport

AUTO_SYNC_CHECK_S = 5
PULL_EVERY_S = 15 * 60
"""Pull at least this often while the app is open, even with nothing to push."""

Builder.load_file(str(Path(__file__).with_name("theme.kv")))


class FieldApp(App):
    title = "gridbill field"
    language = StringProperty("en")
    syncing = BooleanProperty(False)
    status: tuple[str, dict[str, object]] = ("", {})
    """The last thing to tell the reader: a catalogue key and its values (``("", {"text":
    …})`` for the server's own words), shown in the current language by :meth:`status_text`."""

    def __init__(self, data_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._data_dir = data_dir
        self.backoff = Backoff()
        self._last_attempt = time.monotonic() - PULL_EVERY_S  # due at start
        self.locator: Locator = locator_for()

    @property
    def data_path(self) -> Path:
        env = os.environ.get("GRIDBILL_FIELD_DATA_DIR")
        return Path(env) if env else (self._data_dir or Path(self.user_data_dir))

    @property
    def store_path(self) -> Path:
        return self.data_path / "field.sqlite3"

    def build(self) -> ScreenManager:
        LabelBase.register(
            name=DEVANAGARI, fn_regular=DEVANAGARI_FILES[0], fn_bold=DEVANAGARI_FILES[1]
        )
        Window.clearcolor = (1, 1, 1, 1)
        if platform != "android":
            Window.size = (540, 960)  # phone-shaped on a desktop
        self.store = LocalStore(self.store_path)
        self.language = self.store.get("language", "en") or "en"
        from field_app.screens import all_screens

        manager = self.manager = ScreenManager(transition=NoTransition())
        for screen in all_screens():
            manager.add_widget(screen)
        self.go("route" if self.store.get("device_uid") else "enrol")
        Clock.schedule_interval(self._auto_sync, AUTO_SYNC_CHECK_S)
        return manager

    # -- words ----------------------------------------------------------------------------

    def t(self, key: str, _language: str | None = None, **values: object) -> str:
        """The string as markup. Pass ``app.language`` as the second argument in kv
        rules, so Kivy redraws them when the language changes."""
        return markup(tr(key, self.language, **values))

    def status_text(self) -> str:
        key, values = self.status
        return markup(tr(key, self.language, **values) if key else str(values.get("text", "")))

    def tr_plain(self, key: str, **values: object) -> str:
        """The string without markup (for widgets that take none: pass
        :meth:`font_for_language` as their font)."""
        return tr(key, self.language, **values)

    def font_for_language(self) -> str:
        return DEVANAGARI if self.language == "hi" else "Roboto"

    def set_language(self, language: str) -> None:
        if language in LANGUAGES:
            self.store.put(language=language)
            self.language = language
            self.refresh()

    # -- navigation -----------------------------------------------------------------------

    def go(self, name: str, **params: Any) -> None:
        manager = self.manager
        screen = manager.get_screen(name)
        screen.show(**params)
        manager.current = name

    def refresh(self) -> None:
        self.manager.current_screen.show()

    # -- background work ------------------------------------------------------------------

    def in_background(
        self, work: Callable[[LocalStore], Any], done: Callable[[Any, Exception | None], None]
    ) -> None:
        """Run ``work`` in a thread with its own store connection; call ``done(result,
        error)`` on the Kivy thread."""

        def run() -> None:
            store = LocalStore(self.store_path)
            try:
                result, error = work(store), None
            except Exception as exc:  # reported to the screen, never lost
                result, error = None, exc
            finally:
                store.close()
            Clock.schedule_once(lambda _dt: done(result, error))

        threading.Thread(target=run, daemon=True).start()

    def sync_now(self) -> None:
        if self.syncing or not self.store.get("device_uid"):
            return
        self.syncing = True
        self._last_attempt = time.monotonic()
        self.status = ("syncing", {})

        def progress(step: str, count: int) -> None:
            def show(_dt: float) -> None:
                self.status = (f"progress_{step}", {"count": count})
                if self.manager.current == "sync":
                    self.refresh()

            Clock.schedule_once(show)

        def work(store: LocalStore) -> SyncReport:
            return SyncClient(store, on_progress=progress).sync_now()

        def done(report: SyncReport | None, error: Exception | None) -> None:
            self.syncing = False
            if report is None:
                report = SyncReport(error=str(error))
            if report.error is None:
                self.backoff.succeeded()
                self.status = (
                    "sync_done",
                    {"pushed": report.pushed, "stops": report.stops_received},
                )
            else:
                self.backoff.failed()
                self.status = ("offline", {}) if report.offline else ("", {"text": report.error})
            self.refresh()

        self.in_background(work, done)

    def _auto_sync(self, _dt: float) -> None:
        if self.syncing or not self.store.get("device_uid"):
            return
        since = time.monotonic() - self._last_attempt
        if since < self.backoff.delay():
            return
        if self.store.pending_count() or self.store.photos_to_upload() or since >= PULL_EVERY_S:
            self.sync_now()


def run() -> None:
    """``gridbill-field``: start the app."""
    FieldApp().run()
