"""Bar charts drawn on the server as inline SVG: no JavaScript, no chart library, readable by a screen reader
(role="img" with a title and a description naming the largest bar) and always next to a table of the same
figures. Only `rect` and `text` elements with presentation attributes, so the page's CSP needs no inline style."""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup, escape

W, H, TOP, BOTTOM, LEFT = 720, 220, 16, 28, 8


def bars(title: str, data: list[tuple[str, int]], fmt: Callable[[int], str]) -> Markup:
    n = max(1, len(data))
    peak = max((v for _, v in data), default=0)
    scale = (H - TOP - BOTTOM) / peak if peak > 0 else 0
    step = (W - 2 * LEFT) / n
    every = max(1, n // 12)  # at most about twelve labels on the axis
    best = max(data, key=lambda d: d[1]) if data else ("-", 0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{_id(title)}-t {_id(title)}-d" '
        'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{_id(title)}-t">{escape(title)}</title>',
        f'<desc id="{_id(title)}-d">{n} bars; the highest is {escape(best[0])} at {escape(fmt(best[1]))}</desc>',
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - LEFT}" y2="{H - BOTTOM}" stroke="#888" stroke-width="1"/>',
    ]
    for i, (label, value) in enumerate(data):
        h = max(0.0, value * scale)
        x = LEFT + i * step
        parts.append(
            f'<rect x="{x + step * 0.1:.1f}" y="{H - BOTTOM - h:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}" '
            f'fill="#2a6f97"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{H - 8}" font-size="11" text-anchor="middle" fill="#333">'
                f"{escape(label)}</text>"
            )
    if peak > 0:
        parts.append(f'<text x="{LEFT}" y="{TOP - 4}" font-size="11" fill="#333">max {escape(fmt(peak))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _id(title: str) -> str:
    return "c" + "".join(ch for ch in title.lower() if ch.isalnum())[:40]
