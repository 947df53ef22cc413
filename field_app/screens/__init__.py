"""Kivy screens of the field app: route list, meter, read capture, sync status (planned)."""
