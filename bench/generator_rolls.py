"""Piano rolls of songs beside the pieces that inspired them (``make bench-generator-rolls``).

Reads the songs ``make bench-generator`` wrote (bench/results/generator-songs/, with their
manifest naming each song's loved corpus piece) and draws, for the first song of each style, the
loved piece's opening (as long as the song) above the song: one colour per part, a pitch axis
in note names, time in seconds. Writes bench/results/generator-rolls.png (ROLLS_OUT overrides).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import symusic
from matplotlib.patches import Rectangle

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.corpus import read_manifest  # noqa: E402

SONGS = ROOT / "bench" / "results" / "generator-songs"
MODEL_ROOT = Path(os.environ.get("MODEL_ROOT", ROOT / "var" / "models"))
NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
COLOURS = ["#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c"]


def draw(ax, path: Path, seconds: float, title: str) -> None:
    score = symusic.Score(str(path)).to("second")
    tracks = [t for t in score.tracks if not t.is_drum and t.note_num()]
    pitches = [n.pitch for t in tracks for n in t.notes if n.time < seconds]
    for i, track in enumerate(tracks):
        for n in track.notes:
            if n.time < seconds:
                width = min(n.duration, seconds - n.time)
                ax.add_patch(Rectangle((n.time, n.pitch - 0.4), width, 0.8, color=COLOURS[i % 5]))
    lo, hi = (min(pitches) - 2, max(pitches) + 2) if pitches else (48, 84)
    ax.set_xlim(0, seconds)
    ax.set_ylim(lo, hi)
    ticks = [p for p in range(lo, hi + 1) if p % 12 in (0, 7)]
    ax.set_yticks(ticks, [f"{NAMES[p % 12]}{p // 12 - 1}" for p in ticks])
    parts = ", ".join(t.name or f"program {t.program}" for t in tracks)
    ax.set_title(f"{title}  ({parts})", fontsize=9, loc="left")
    ax.grid(axis="y", alpha=0.3)


def main() -> None:
    manifest = json.loads((SONGS / "manifest.json").read_text())
    corpus = MODEL_ROOT / "generator-corpus"
    paths = {e["ident"]: corpus / e["path"] for e in read_manifest(corpus)}
    firsts: dict[str, dict] = {}
    for song in manifest:
        firsts.setdefault(song["style"], song)
    fig, axes = plt.subplots(2 * len(firsts), 1, figsize=(11, 2.6 * 2 * len(firsts)))
    for row, (style, song) in enumerate(firsts.items()):
        ident = song["loved"]["ident"]
        seconds = float(song["seconds"])
        draw(axes[2 * row], paths[ident], seconds, f"{style}: the loved piece, {ident}")
        draw(
            axes[2 * row + 1],
            SONGS / song["file"],
            seconds,
            f"{style}: the song ({song.get('key') or 'free key'}, {song['tempo']:.0f} BPM, "
            f"form {song.get('form') or '-'})",
        )
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    out = Path(os.environ.get("ROLLS_OUT", ROOT / "bench" / "results" / "generator-rolls.png"))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=80)
    print(f"piano rolls of {len(firsts)} songs beside their loved pieces: {out}")


if __name__ == "__main__":
    main()
