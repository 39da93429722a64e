"""A server-side SVG chart of NDCG@10 and HR@10 over model versions (no JavaScript, no CDN).

The plot takes the left part; the legend is a column of its own on the right, one line per
entry at a fixed spacing, so no label can overlap a line, a point or another label whatever
the number of kinds or the values.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

from recommender.models import ModelKind, ModelVersion

__all__ = ["HEIGHT", "LEGEND_X", "PLOT_RIGHT", "WIDTH", "metrics_chart_svg"]

COLOURS = {
    "als": "#1f77b4",
    "bpr": "#9467bd",
    "sasrec": "#d62728",
    "pop": "#7f7f7f",
}
WIDTH, HEIGHT, PAD = 760, 300, 44
PLOT_RIGHT = 540  # the plot's right edge; the legend column starts past it
LEGEND_X = PLOT_RIGHT + 28
LINE_GAP = 18  # between legend lines (font-size 11)


def _label(kind: str) -> str:
    try:
        return str(ModelKind(kind).label).split(" (")[0]
    except ValueError:
        return kind


def metrics_chart_svg(versions: Iterable[ModelVersion]) -> str:
    """One line per kind and metric (solid NDCG@10, dashed HR@10) against the version number."""
    by_kind: dict[str, list[ModelVersion]] = {}
    for v in versions:
        if v.ndcg10 is not None:
            by_kind.setdefault(v.kind, []).append(v)
    points = [v for vs in by_kind.values() for v in vs]
    max_version = max((v.version for v in points), default=1)
    top = max([0.05] + [max(v.ndcg10 or 0, v.hr10 or 0) for v in points]) * 1.1
    bottom = HEIGHT - PAD

    def xy(version: int, value: float) -> tuple[float, float]:
        x = PAD + (version - 1) / max(max_version - 1, 1) * (PLOT_RIGHT - PAD)
        return x, bottom - value / top * (bottom - PAD)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="NDCG@10 and HR@10 by version" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<line x1="{PAD}" y1="{bottom}" x2="{PLOT_RIGHT}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{bottom}" stroke="#333"/>',
        f'<text x="{(PAD + PLOT_RIGHT) / 2}" y="{HEIGHT - 8}" text-anchor="middle">version</text>',
    ]
    for i in range(5):
        value = top * i / 4
        _, y = xy(1, value)
        parts.append(f'<text x="{PAD - 4}" y="{y + 4:.1f}" text-anchor="end">{value:.2f}</text>')
        if i:
            parts.append(
                f'<line x1="{PAD}" y1="{y:.1f}" x2="{PLOT_RIGHT}" y2="{y:.1f}" stroke="#eee"/>'
            )
    step = max(1, -(-max_version // 10))  # at most about ten version labels
    ticks = list(range(1, max_version + 1, step))
    if ticks[-1] != max_version:  # the newest version is always labelled
        ticks[-1 if max_version - ticks[-1] < step else len(ticks) :] = [max_version]
    for version in ticks:
        x, _ = xy(version, 0)
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{version}</text>')
    if not points:
        parts.append(
            f'<text x="{(PAD + PLOT_RIGHT) / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            "no evaluated versions yet</text>"
        )
    legend = []
    for kind, vs in sorted(by_kind.items()):
        vs.sort(key=lambda v: v.version)
        colour = COLOURS.get(kind, "#000")
        for metric, dash in (("ndcg10", ""), ("hr10", ' stroke-dasharray="4 3"')):
            coords = [xy(v.version, getattr(v, metric) or 0.0) for v in vs]
            line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
            )
            for (x, y), v in zip(coords, vs, strict=True):
                radius = 5 if v.is_active else 3
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}">'
                    f"<title>{escape(kind)} v{v.version} {metric}: "
                    f"{getattr(v, metric) or 0:.4f}</title></circle>"
                )
        legend.append((colour, _label(kind), ""))
    # The legend column: kinds by colour, then what the line styles and dots mean.
    legend += [
        ("#333", "NDCG@10", ""),
        ("#333", "HR@10", ' stroke-dasharray="4 3"'),
    ]
    y = PAD
    parts.append(
        f'<g class="legend" aria-label="legend"><text x="{LEGEND_X}" y="{y}">Legend</text>'
    )
    for n, (colour, text, dash) in enumerate(legend):
        y = PAD + (n + 1) * LINE_GAP
        if n == len(legend) - 2:
            y += LINE_GAP // 2  # a gap between the kinds and the line styles
        if n == len(legend) - 1:
            y += LINE_GAP // 2
        parts.append(
            f'<line x1="{LEGEND_X}" y1="{y - 4}" x2="{LEGEND_X + 24}" y2="{y - 4}" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
            f'<text x="{LEGEND_X + 30}" y="{y}">{escape(text)}</text>'
        )
    y += LINE_GAP
    parts.append(
        f'<circle cx="{LEGEND_X + 12}" cy="{y - 4}" r="5" fill="#333"/>'
        f'<text x="{LEGEND_X + 30}" y="{y}">active version</text></g>'
    )
    parts.append("</svg>")
    return "\n".join(parts)
