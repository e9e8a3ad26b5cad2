"""Small static plots as inline SVG (no JavaScript, no network): bars, changes, a waterfall and a Sankey.

Every text from data goes through :func:`html.escape`; the SVG is returned as a string to be placed
in an HTML page as markup.
"""
from __future__ import annotations

import html
import math

__all__ = ["bar_chart", "change_bars", "waterfall", "sankey"]

_FONT = 'font-family="system-ui, Noto Sans, Noto Sans CJK SC, sans-serif" font-size="12"'


def _text(value) -> str:
    return html.escape(str(value), quote=True)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def bar_chart(items: list[tuple[str, float, str]], title: str, *, width: int = 640) -> str:
    """Horizontal bars: (label, value, colour) per bar, each bar labelled with its value."""
    if not items:
        return ""
    row, left = 26, 170
    height = 40 + row * len(items)
    largest = max(value for _, value, _ in items) or 1.0
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" {_FONT}>',
             f"<title>{_text(title)}</title>", f'<text x="0" y="16" font-weight="bold">{_text(title)}</text>']
    for index, (label, value, colour) in enumerate(items):
        y = 30 + index * row
        length = (width - left - 90) * value / largest
        parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{_text(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y + 2}" width="{max(length, 1):.1f}" height="{row - 8}" '
                     f'fill="{_text(colour)}"/>')
        parts.append(f'<text x="{left + length + 6:.1f}" y="{y + 14}">{_text(_number(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


#: one colour per series, told apart also by colour-blind readers (Okabe and Ito 2008, "Color Universal Design",
#: https://jfly.uni-koeln.de/color/), cycled beyond seven
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")


def _short(label: str, limit: int = 28) -> str:
    """A label that fits its column; the full text stays in the element's ``<title>``."""
    return label if len(label) <= limit else label[:limit - 1] + "…"


def change_bars(groups: list[tuple[str, list[tuple[str, float | None, str]]]], series: list[str], title: str, *,
                width: int = 760) -> str:
    """Changes as bars either side of a zero line: one group per figure, one bar per series.

    Parameters
    ----------
    groups
        ``(figure label, [(series name, change, change label), ...])``. A change that is None or not finite
        gets no bar: its label (e.g. "unknown") is written at the zero line instead, never a bar of 0.
    series
        The series names in legend order; a bar's colour is its series' place in this list.
    title
        The chart's heading.

    Returns
    -------
    str
        An ``<svg>`` element; "" when there is nothing to draw. Each figure has its own scale (figures of
        different units side by side): a bar's length compares series within its figure only. Bars carry
        ``class="bar up"``, ``"bar down"`` or ``"bar zero"`` (a known change of 0: a hairline, not nothing).
    """
    if not groups or not series:
        return ""
    colour = {name: SERIES_COLOURS[index % len(SERIES_COLOURS)] for index, name in enumerate(series)}
    row, heading, left, label_room = 20, 22, 190, 96
    legend_top = 30
    top = legend_top + 18 * len(series) + 10
    height = top + sum(heading + row * len(bars) + 8 for _, bars in groups) + 6
    zero = left + label_room + (width - left - 2 * label_room) / 2
    half = (width - left - 2 * label_room) / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" {_FONT}>',
             f"<title>{_text(title)}</title>", f'<text x="0" y="16" font-weight="bold">{_text(title)}</text>']
    for index, name in enumerate(series):
        y = legend_top + 18 * index
        parts.append(f'<g class="legend"><title>{_text(name)}</title><rect class="swatch" x="0" y="{y}" width="12" '
                     f'height="12" fill="{colour[name]}"/><text x="18" y="{y + 11}">{_text(_short(name, 60))}</text></g>')
    y = top
    for label, bars in groups:
        parts.append(f'<text x="0" y="{y + 15}" font-weight="600">{_text(_short(label, 90))}</text>')
        y += heading
        known = [abs(value) for _, value, _ in bars if value is not None and math.isfinite(value)]
        largest = max(known, default=0.0) or 1.0
        parts.append(f'<line x1="{zero:.1f}" y1="{y}" x2="{zero:.1f}" y2="{y + row * len(bars)}" stroke="#666"/>')
        for name, value, text in bars:
            parts.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{_text(_short(name))}</text>')
            tip = f"<title>{_text(name)}: {_text(label)} {_text(text)}</title>"
            if value is None or not math.isfinite(value):
                parts.append(f'<text class="unknown" x="{zero + 6:.1f}" y="{y + 14}" fill="#777" font-style="italic">'
                             f"{tip}{_text(text)}</text>")
            else:
                length = half * abs(value) / largest
                kind = "up" if value > 0 else "down" if value < 0 else "zero"
                x = zero if value >= 0 else zero - length
                parts.append(f'<rect class="bar {kind}" x="{x:.1f}" y="{y + 3}" width="{max(length, 1):.1f}" '
                             f'height="{row - 6}" fill="{colour.get(name, "#999")}">{tip}</rect>')
                end, anchor = (zero + length + 5, "start") if value >= 0 else (zero - length - 5, "end")
                parts.append(f'<text x="{end:.1f}" y="{y + 14}" text-anchor="{anchor}">{_text(text)}</text>')
            y += row
        y += 8
    parts.append("</svg>")
    return "".join(parts)


def waterfall(steps: list[tuple[str, float]], title: str, unit: str, *, width: int = 640) -> str:
    """Start, reductions and the remainder: the first step is a total, the rest are subtracted."""
    if not steps:
        return ""
    height, bottom, top = 260, 220, 40
    start = steps[0][1]
    scale = (bottom - top) / max(abs(start), 1e-9)
    bar = (width - 60) / (len(steps) + 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" {_FONT}>',
             f"<title>{_text(title)}</title>",
             f'<text x="0" y="16" font-weight="bold">{_text(title)} ({_text(unit)})</text>',
             f'<line x1="30" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#999"/>']
    level = start
    for index, (label, value) in enumerate(steps):
        x = 40 + index * bar
        if index == 0:
            low, high, colour = 0.0, start, "#b2182b"
        else:
            low, high, colour = level - value, level, "#1a9850"
            level -= value
        y1, y2 = bottom - high * scale, bottom - low * scale
        parts.append(f'<rect x="{x:.1f}" y="{min(y1, y2):.1f}" width="{bar * 0.7:.1f}" '
                     f'height="{max(abs(y2 - y1), 1):.1f}" fill="{colour}"/>')
        parts.append(f'<text x="{x + bar * 0.35:.1f}" y="{min(y1, y2) - 4:.1f}" text-anchor="middle">'
                     f'{_text(_number(value))}</text>')
        parts.append(f'<text x="{x + bar * 0.35:.1f}" y="{bottom + 16}" text-anchor="middle">{_text(label)}</text>')
    x = 40 + len(steps) * bar
    y = bottom - level * scale
    parts.append(f'<rect x="{x:.1f}" y="{min(y, bottom):.1f}" width="{bar * 0.7:.1f}" '
                 f'height="{max(abs(bottom - y), 1):.1f}" fill="#4d4d4d"/>')
    parts.append(f'<text x="{x + bar * 0.35:.1f}" y="{min(y, bottom) - 4:.1f}" text-anchor="middle">'
                 f'{_text(_number(level))}</text>')
    parts.append(f'<text x="{x + bar * 0.35:.1f}" y="{bottom + 16}" text-anchor="middle">remaining</text>')
    parts.append("</svg>")
    return "".join(parts)


def sankey(flows: list[tuple[str, str, float, str]], title: str, unit: str, *, width: int = 780) -> str:
    """Two-column Sankey: (source, target, quantity, colour) bands from senders (left) to takers (right)."""
    if not flows:
        return ""
    sources: dict[str, float] = {}
    targets: dict[str, float] = {}
    for source, target, quantity, _ in flows:
        sources[source] = sources.get(source, 0.0) + quantity
        targets[target] = targets.get(target, 0.0) + quantity
    total = sum(quantity for *_, quantity, _ in flows)
    gap, top = 8, 34
    height = max(260, 30 * max(len(sources), len(targets)) + 60)
    usable = height - top - 20 - gap * max(len(sources), len(targets))
    scale = usable / total if total else 1.0
    left_x, right_x, node_width = 215, width - 215, 12

    def place(totals: dict[str, float]) -> dict[str, float]:
        positions: dict[str, float] = {}
        y: float = top
        for name, value in sorted(totals.items(), key=lambda item: -item[1]):
            positions[name] = y
            y += value * scale + gap
        return positions

    left, right = place(sources), place(targets)
    out_offset, in_offset = dict.fromkeys(left, 0.0), dict.fromkeys(right, 0.0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" {_FONT}>',
             f"<title>{_text(title)}</title>",
             f'<text x="0" y="16" font-weight="bold">{_text(title)} ({_text(unit)})</text>']
    for source, target, quantity, colour in sorted(flows, key=lambda flow: -flow[2]):
        thickness = max(quantity * scale, 1.0)
        y0 = left[source] + out_offset[source] + thickness / 2
        y1 = right[target] + in_offset[target] + thickness / 2
        out_offset[source] += quantity * scale
        in_offset[target] += quantity * scale
        x0, x1 = left_x + node_width, right_x
        middle = (x0 + x1) / 2
        parts.append(f'<path d="M{x0},{y0:.1f} C{middle},{y0:.1f} {middle},{y1:.1f} {x1},{y1:.1f}" fill="none" '
                     f'stroke="{_text(colour)}" stroke-opacity="0.55" stroke-width="{thickness:.1f}">'
                     f"<title>{_text(source)} -> {_text(target)}: {_text(_number(quantity))} {_text(unit)}</title></path>")
    for positions, totals, x, anchor, label_x in ((left, sources, left_x, "end", left_x - 6),
                                                  (right, targets, right_x, "start", right_x + node_width + 6)):
        for name, y in positions.items():
            bar = max(totals[name] * scale, 1.0)
            parts.append(f'<rect x="{x}" y="{y:.1f}" width="{node_width}" height="{bar:.1f}" fill="#444"/>')
            label = name if len(name) <= 28 else name[:27] + "…"
            parts.append(f'<text x="{label_x}" y="{y + bar / 2 + 4:.1f}" text-anchor="{anchor}">{_text(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
