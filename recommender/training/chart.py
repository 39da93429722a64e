"""A server-side SVG chart of NDCG@10 and HR@10 over model versions (no JavaScript, no CDN)."""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape

from recommender.models import ModelVersion

__all__ = ["metrics_chart_svg"]

COLOURS = {
    "als": "#1f77b4",
    "bpr": "#9467bd",
    "sasrec": "#d62728",
    "gru": "#2ca02c",
    "pop": "#7f7f7f",
}
WIDTH, HEIGHT, PAD = 640, 280, 44


def metrics_chart_svg(versions: Iterable[ModelVersion]) -> str:
    """One line per kind and metric (solid NDCG@10, dashed HR@10) against the version number."""
    by_kind: dict[str, list[ModelVersion]] = {}
    for v in versions:
        if v.ndcg10 is not None:
            by_kind.setdefault(v.kind, []).append(v)
    points = [v for vs in by_kind.values() for v in vs]
    max_version = max((v.version for v in points), default=1)
    top = max([0.05] + [max(v.ndcg10 or 0, v.hr10 or 0) for v in points]) * 1.1

    def xy(version: int, value: float) -> tuple[float, float]:
        x = PAD + (version - 1) / max(max_version - 1, 1) * (WIDTH - 2 * PAD)
        return x, HEIGHT - PAD - value / top * (HEIGHT - 2 * PAD)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="NDCG@10 and HR@10 by version" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'stroke="#333"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" stroke="#333"/>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 8}" text-anchor="middle">version</text>',
    ]
    for i in range(5):
        value = top * i / 4
        _, y = xy(1, value)
        parts.append(f'<text x="{PAD - 4}" y="{y + 4:.1f}" text-anchor="end">{value:.2f}</text>')
    if not points:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            "no evaluated versions yet</text>"
        )
    legend_y = PAD - 18
    for n, (kind, vs) in enumerate(sorted(by_kind.items())):
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
        parts.append(
            f'<text x="{PAD + n * 120}" y="{legend_y}" fill="{colour}">'
            f"{escape(kind)}: — NDCG@10, - - HR@10</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
