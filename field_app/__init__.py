"""The meter reader's offline Kivy app (docs/field-app.md).

Its store, sync client, probe protocol and hints stay free of Kivy imports so they are
tested directly; only ``field_app/app.py`` and ``field_app/screens/`` wire widgets to
them. Nothing here imports the server's packages: the app speaks HTTP only.
"""
