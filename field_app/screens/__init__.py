"""One module per screen, each with its ``.kv`` beside it; they only wire widgets to the
store, the sync client, the probe protocol and the hints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.uix.screenmanager import Screen


def load_kv(module_file: str) -> None:
    """Load the ``.kv`` file that sits beside a screen's module."""
    Builder.load_file(str(Path(module_file).with_suffix(".kv")))


class FieldScreen(Screen):
    """A screen that redraws itself from the store whenever it is shown."""

    @property
    def app(self) -> Any:
        return App.get_running_app()

    def show(self, **params: Any) -> None:
        """Called with the navigation's parameters (none on a refresh)."""


def all_screens() -> list[FieldScreen]:
    from field_app.screens.capture import CaptureScreen
    from field_app.screens.enrol import EnrolScreen
    from field_app.screens.meter import MeterScreen
    from field_app.screens.probe import ProbeScreen
    from field_app.screens.route import RouteScreen
    from field_app.screens.settings import SettingsScreen
    from field_app.screens.sync_status import SyncScreen

    return [
        EnrolScreen(name="enrol"),
        RouteScreen(name="route"),
        MeterScreen(name="meter"),
        CaptureScreen(name="capture"),
        ProbeScreen(name="probe"),
        SyncScreen(name="sync"),
        SettingsScreen(name="settings"),
    ]
