"""One module per screen, each with its ``.kv`` beside it; they only wire widgets to the
store, the sync client, the probe protocol and the hints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kivy.app import App
from kivy.lang import Builder
from kivy.uix.filechooser import FileChooserListView
from kivy.uix.popup import Popup
from kivy.uix.screenmanager import Screen
from kivy.utils import platform

PICTURES = ["*.jpg", "*.jpeg", "*.png", "*.webp"]


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


def choose_picture(app: Any, title_key: str, chosen: Callable[[Path], None]) -> Popup | None:
    """A picture from the camera on Android, or from a file chooser on a desktop (the
    popup is returned); ``chosen(path)`` is called with it."""
    if platform == "android":
        take_with_camera(app, chosen)
        return None
    chooser = FileChooserListView(path=str(Path.home()), filters=PICTURES)
    popup = Popup(
        title=app.tr_plain(title_key), title_font=app.font_for_language(), content=chooser,
        size_hint=(0.95, 0.9),
    )  # fmt: skip

    def submit(_chooser: Any, selection: list[str], _touch: Any) -> None:
        popup.dismiss()
        if selection:
            chosen(Path(selection[0]))

    chooser.bind(on_submit=submit)
    popup.open()
    return popup


def take_with_camera(app: Any, chosen: Callable[[Path], None]) -> None:  # pragma: no cover
    """Android only: the system camera app writes the photo to a file of ours."""
    from android import activity
    from jnius import autoclass

    from field_app.devices import android_camera_intent

    target = app.data_path / "camera.jpg"
    request = 0x6D31

    def on_result(code: int, result: int, _intent: Any) -> None:
        activity.unbind(on_activity_result=on_result)
        if code == request and result == -1 and target.exists():  # RESULT_OK
            chosen(target)

    activity.bind(on_activity_result=on_result)
    autoclass("org.kivy.android.PythonActivity").mActivity.startActivityForResult(
        android_camera_intent(autoclass, target), request
    )


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
