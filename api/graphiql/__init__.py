"""GraphiQL served offline: the page and its JavaScript and CSS ship inside the package.

Strawberry's own GraphiQL page loads React, GraphiQL and the explorer plugin from
unpkg.com and renders blank without internet (an office on a closed network, a
laptop on a train). :data:`PAGE` is the same page with every asset pointing at
``/graphiql-assets/``, which :func:`assets_mount` serves from ``assets/``. The files
are the npm packages' own builds, byte for byte (``assets/NOTICE`` lists versions,
licences and the SRI hashes the page keeps, so a changed file fails to load).
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
ASSETS_PATH = "/graphiql-assets"
PAGE = (HERE / "page.html").read_text(encoding="utf-8")


def assets_mount() -> Mount:
    """The route that serves the vendored files (cached by browsers for a day)."""
    return Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS), name="graphiql-assets")
