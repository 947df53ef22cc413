"""Charts drawn on the server as inline SVG: no script, no library, readable without CSS.

Each chart has ``role="img"`` and an ``aria-label`` summarising it, and a ``<title>`` per
point or bar, so screen readers and hover both get the values.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 640, 200, 34


def _scale(values: Sequence[int]) -> tuple[int, int]:
    low, high = min(0, *values), max(values)
    return low, high if high > low else low + 1


def line_chart(points: Sequence[tuple[str, int, str]], *, label: str) -> Markup:
    """A polyline of ``(x label, value, value text)`` scaled from its lowest to its highest
    value (register reads only grow: from zero they would draw a flat line), with the
    first and last values written at the top; an empty series says so in words."""
    if not points:
        return Markup('<p class="empty">No values to chart.</p>')
    values = [v for _, v, _ in points]
    low, high = min(values), max(values) if max(values) > min(values) else min(values) + 1
    step = (WIDTH - 2 * PAD) / max(len(points) - 1, 1)

    def y(value: int) -> float:
        return HEIGHT - PAD - (value - low) * (HEIGHT - 2 * PAD) / (high - low)

    xy = [(PAD + i * step, y(v)) for i, (_, v, _) in enumerate(points)]
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3"><title>{escape(name)}: {escape(text)}</title></circle>'
        for (x, yy), (name, _, text) in zip(xy, points, strict=True)
    )
    ticks = "".join(
        f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(name)}</text>'
        for (x, _), (name, _, _) in list(zip(xy, points, strict=True))[:: max(len(points) // 8, 1)]
    )
    line = " ".join(f"{x:.1f},{yy:.1f}" for x, yy in xy)
    first, last = points[0][2], points[-1][2]
    ends = (
        f'<text x="{PAD}" y="14">{escape(first)}</text>'
        f'<text x="{WIDTH - PAD}" y="14" text-anchor="end">{escape(last)}</text>'
    )
    return Markup(  # noqa: S704 - every value in it is escaped or a number
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">'
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}"/>'
        f'<polyline points="{line}"/>{dots}{ticks}{ends}</svg>'
    )


def bar_chart(bars: Sequence[tuple[str, int, str, bool]], *, label: str) -> Markup:
    """Bars of ``(label, value, value text, flagged)``; flagged bars are drawn in the alert colour."""
    if not bars:
        return Markup('<p class="empty">No values to chart.</p>')
    low, high = _scale([v for _, v, _, _ in bars])
    width = (WIDTH - 2 * PAD) / len(bars)
    span = HEIGHT - 2 * PAD
    rects = []
    for i, (name, value, text, flagged) in enumerate(bars):
        h = (value - low) * span / (high - low)
        rects.append(
            f'<rect class="{"flagged" if flagged else "bar"}" x="{PAD + i * width:.1f}" '
            f'y="{HEIGHT - PAD - h:.1f}" width="{max(width - 1, 1):.1f}" height="{h:.1f}">'
            f"<title>{escape(name)}: {escape(text)}</title></rect>"
        )
    first, last = bars[0][0], bars[-1][0]
    return Markup(  # noqa: S704 - every value in it is escaped or a number
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">'
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}"/>'
        f"{''.join(rects)}"
        f'<text x="{PAD}" y="{HEIGHT - 8}">{escape(first)}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" text-anchor="end">{escape(last)}</text></svg>'
    )


H_WIDTH, ROW, LABEL_W, VALUE_W = 440, 22, 130, 92


def hbar_chart(bars: Sequence[tuple[str, int, str, bool]], *, label: str) -> Markup:
    """Horizontal bars of ``(label, value, value text, flagged)``, one row each, with the
    label left and the value right written out: for categories (routes, tariffs, ageing
    buckets) whose names a vertical chart could only show at its ends. Negative values
    (a credit balance, a shortfall) are drawn from zero leftward in the alert colour."""
    if not bars:
        return Markup('<p class="empty">No values to chart.</p>')
    low, high = min(0, *(v for _, v, _, _ in bars)), max(0, *(v for _, v, _, _ in bars))
    span = (high - low) or 1
    plot = H_WIDTH - LABEL_W - VALUE_W
    zero = LABEL_W + (0 - low) * plot / span
    height = ROW * len(bars) + 8
    rows = []
    for i, (name, value, text, flagged) in enumerate(bars):
        y = 4 + i * ROW
        w = abs(value) * plot / span
        x = zero if value >= 0 else zero - w
        shown = name if len(name) <= 20 else name[:19] + "…"
        rows.append(
            f'<text x="{LABEL_W - 6}" y="{y + 15}" text-anchor="end">{escape(shown)}</text>'
            f'<rect class="{"flagged" if flagged or value < 0 else "bar"}" x="{x:.1f}" y="{y + 3}" '
            f'width="{max(w, 1):.1f}" height="{ROW - 6}"><title>{escape(name)}: {escape(text)}</title></rect>'
            f'<text x="{H_WIDTH - 4}" y="{y + 15}" text-anchor="end">{escape(text)}</text>'
        )
    return Markup(  # noqa: S704 - every value in it is escaped or a number
        f'<svg class="chart" viewBox="0 0 {H_WIDTH} {height}" role="img" aria-label="{escape(label)}">'
        f'<line class="axis" x1="{zero:.1f}" y1="2" x2="{zero:.1f}" y2="{height - 2}"/>'
        f"{''.join(rows)}</svg>"
    )
