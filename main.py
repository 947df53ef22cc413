"""Entry point of the Android build (buildozer.spec): start the field app.

On a desktop run ``gridbill-field`` instead. Nothing but ``field_app`` is imported."""

from field_app.app import run

if __name__ == "__main__":
    run()
