"""The meter reader's offline Kivy app (planned: its own issue).

Its store, sync client and probe protocol stay free of Kivy imports so they are tested
directly; only ``field_app/screens/`` wires widgets to them.
"""
