"""Content similarity from what the MIDI says and how curators tagged it.

Each public piece becomes a vector: its key on the circle of fifths (major and relative minor sit
together) plus mode, tempo (log scale), pitch range, note density, instrument families (General
MIDI's 16), tags, and (lightly) collection and composer. Numeric features are z-scored, groups
weighted, rows L2-normalised, so similarity is a dot product. This is what gives new, unplayed
pieces exposure and what "similar pieces" falls back to without a trained model.

The index over the whole public catalog lives in process memory and is rebuilt when the catalog
changes (count or latest ``updated_at``, checked at most every ``CHECK_SECONDS``).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pretty_midi
from django.db.models import Count, Max
from threadpoolctl import ThreadpoolController

from catalog.models import Track

logger = logging.getLogger(__name__)

CHECK_SECONDS = 30.0
PITCH_CLASSES = {
    "C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
    "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "Cb": 11,
}  # fmt: skip
N_FAMILIES = 16
# Relative weight of each feature group in the similarity.
WEIGHTS = {
    "key": 1.0,
    "mode": 0.6,
    "tempo": 1.0,
    "pitch": 0.8,
    "density": 0.8,
    "instruments": 1.0,
    "tags": 1.4,
    "collection": 1.2,
    "artist": 0.8,
}


def key_vector(key: str) -> tuple[float, float, float]:
    """(cos, sin) of the key's place on the circle of fifths, and 1.0 for minor."""
    parts = (key or "").split()
    if not parts or parts[0] not in PITCH_CLASSES:
        return 0.0, 0.0, 0.5
    tonic = PITCH_CLASSES[parts[0]]
    minor = len(parts) > 1 and parts[1].lower().startswith("min")
    major_tonic = (tonic + 3) % 12 if minor else tonic
    angle = 2 * math.pi * ((major_tonic * 7) % 12) / 12
    return math.cos(angle), math.sin(angle), 1.0 if minor else 0.0


def instrument_families(names: list[str]) -> list[int]:
    """General MIDI families (0-15) of the instrument names a piece uses."""
    families = set()
    for name in names or []:
        try:
            families.add(pretty_midi.instrument_name_to_program(name) // 8)
        except (ValueError, KeyError):
            continue
    return sorted(families)


def title_key(title: str) -> str:
    """A title as compared for copies: case, punctuation and spacing left out."""
    return " ".join(re.sub(r"[\W_]+", " ", title.casefold()).split())


@dataclass
class TrackInfo:
    """What the feed needs to know about one piece without touching the database."""

    id: int
    title: str
    artist_id: int | None
    collection_id: int | None
    tempo_bpm: float
    created_ts: float
    tag_ids: tuple[int, ...] = ()
    title_key: str = ""  # ``title_key(title)``: two pieces with one are copies of a tune


CLOSEST_CHUNK = 64  # pieces whose closest neighbour is computed in one matrix product


@dataclass
class CatalogIndex:
    """Every public piece, its metadata, and its normalised content vector (row i = ids[i])."""

    ids: np.ndarray
    infos: list[TrackInfo]
    vectors: np.ndarray
    row_of: dict[int, int]
    artist_names: dict[int, str] = field(default_factory=dict)
    collection_names: dict[int, str] = field(default_factory=dict)
    tag_names: dict[int, str] = field(default_factory=dict)
    signature: tuple = ()
    # Filled on first use, kept as long as the index (its pieces do not change).
    _closest: dict[int, int] = field(default_factory=dict, repr=False)
    _members: dict[tuple[str, int], list[int]] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.infos)

    def members(self, kind: str, key: int) -> list[int]:
        """Rows of the pieces in a ``collection``, by a ``composer`` or with a ``tag``."""
        members = self._members
        if members is None:
            members = {}
            for row, info in enumerate(self.infos):
                if info.collection_id is not None:
                    members.setdefault(("collection", info.collection_id), []).append(row)
                if info.artist_id is not None:
                    members.setdefault(("composer", info.artist_id), []).append(row)
                for tag in info.tag_ids:
                    members.setdefault(("tag", tag), []).append(row)
            self._members = members
        return members.get((kind, key), [])

    def closest(self, track_ids: list[int]) -> dict[int, int]:
        """Each indexed piece's closest other piece by content (computed once per piece)."""
        known = self._closest
        if len(self.infos) < 2:
            return {}
        missing = [t for t in dict.fromkeys(track_ids) if t in self.row_of and t not in known]
        for start in range(0, len(missing), CLOSEST_CHUNK):
            chunk = missing[start : start + CLOSEST_CHUNK]
            rows = np.array([self.row_of[t] for t in chunk])
            sims = self.vectors[rows] @ self.vectors.T
            sims[np.arange(len(rows)), rows] = -np.inf
            for tid, best in zip(chunk, np.argmax(sims, axis=1), strict=True):
                known[tid] = int(self.ids[best])
        return {t: known[t] for t in track_ids if t in known}

    def info(self, track_id: int) -> TrackInfo | None:
        row = self.row_of.get(track_id)
        return self.infos[row] if row is not None else None

    def vector_of(self, track_ids: list[int]) -> np.ndarray:
        rows = [self.row_of[t] for t in track_ids if t in self.row_of]
        return self.vectors[rows] if rows else np.zeros((0, self.vectors.shape[1]), np.float32)

    def profile_vector(self, weights: dict[int, float]) -> np.ndarray | None:
        """Weighted mean of the vectors of some pieces, normalised (None if none are known)."""
        rows = [(self.row_of[t], w) for t, w in weights.items() if t in self.row_of and w]
        if not rows:
            return None
        idx = np.array([r for r, _ in rows])
        w = np.array([w for _, w in rows], dtype=np.float32)
        vec = (self.vectors[idx] * w[:, None]).sum(axis=0)
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm > 1e-9 else None

    def nearest(
        self, vec: np.ndarray, k: int, exclude: set[int] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` pieces most similar to ``vec``: ``[(track_id, similarity), ...]``."""
        if len(self) == 0:
            return []
        scores = self.vectors @ vec
        exclude = exclude or set()
        take = min(len(scores), k + len(exclude) + 1)
        top = np.argpartition(-scores, take - 1)[:take] if take < len(scores) else np.arange(take)
        top = top[np.argsort(-scores[top], kind="stable")]
        out: list[tuple[int, float]] = []
        for row in top:
            tid = int(self.ids[row])
            if tid in exclude:
                continue
            out.append((tid, float(scores[row])))
            if len(out) >= k:
                break
        return out


def _build_index(signature: tuple) -> CatalogIndex:
    rows = list(
        Track.objects.visible_to(None)
        .order_by("id")
        .values_list(
            "id", "title", "artist_id", "collection_id", "tempo_bpm", "key", "pitch_min",
            "pitch_max", "note_count", "duration_seconds", "instruments", "created_at",
        )
    )  # fmt: skip
    through = Track.tags.through
    tags_of: dict[int, list[int]] = {}
    ids_set = {r[0] for r in rows}
    for track_id, tag_id in through.objects.values_list("track_id", "tag_id"):
        if track_id in ids_set:
            tags_of.setdefault(track_id, []).append(tag_id)
    from catalog.models import Artist, Collection, Tag

    artist_names = dict(Artist.objects.values_list("id", "name"))
    collection_names = dict(Collection.objects.values_list("id", "name"))
    tag_names = dict(Tag.objects.values_list("id", "name"))
    n = len(rows)
    tag_cols = {t: i for i, t in enumerate(sorted(tag_names))}
    coll_cols = {c: i for i, c in enumerate(sorted(collection_names))}
    art_cols = {a: i for i, a in enumerate(sorted(artist_names))}

    numeric = np.zeros((n, 4), np.float32)  # tempo, pitch low, pitch high, density
    keys = np.zeros((n, 2), np.float32)
    mode = np.zeros((n, 1), np.float32)
    fam = np.zeros((n, N_FAMILIES), np.float32)
    tags = np.zeros((n, max(1, len(tag_cols))), np.float32)
    colls = np.zeros((n, max(1, len(coll_cols))), np.float32)
    arts = np.zeros((n, max(1, len(art_cols))), np.float32)
    infos: list[TrackInfo] = []
    for i, (tid, title, art, coll, tempo, key, pmin, pmax, notes, dur, instr, created) in enumerate(
        rows
    ):
        numeric[i] = (
            math.log2(max(tempo or 1.0, 1.0)),
            pmin or 0,
            pmax or 0,
            math.log1p((notes or 0) / max(dur or 1.0, 1.0)),
        )
        kx, ky, minor = key_vector(key)
        keys[i] = (kx, ky)
        mode[i] = minor
        for f in instrument_families(instr):
            fam[i, f] = 1.0
        for t in tags_of.get(tid, []):
            tags[i, tag_cols[t]] = 1.0
        if coll in coll_cols:
            colls[i, coll_cols[coll]] = 1.0
        if art in art_cols:
            arts[i, art_cols[art]] = 1.0
        infos.append(
            TrackInfo(
                id=tid,
                title=title,
                artist_id=art,
                collection_id=coll,
                tempo_bpm=float(tempo or 0.0),
                created_ts=created.timestamp(),
                tag_ids=tuple(tags_of.get(tid, ())),
                title_key=title_key(title),
            )
        )
    if n:
        std = numeric.std(axis=0)
        std[std < 1e-6] = 1.0
        numeric = (numeric - numeric.mean(axis=0)) / std

    def unit(block: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        return block / np.maximum(norms, 1e-6)

    vectors = np.hstack(
        [
            keys * WEIGHTS["key"],
            mode * WEIGHTS["mode"],
            numeric[:, :1] * WEIGHTS["tempo"],
            numeric[:, 1:3] * (WEIGHTS["pitch"] / math.sqrt(2)),
            numeric[:, 3:] * WEIGHTS["density"],
            unit(fam) * WEIGHTS["instruments"],
            unit(tags) * WEIGHTS["tags"],
            colls * WEIGHTS["collection"],
            arts * WEIGHTS["artist"],
        ]
    ).astype(np.float32)
    vectors = unit(vectors).astype(np.float32)
    logger.info("content index built: %d pieces, %d dims", n, vectors.shape[1] if n else 0)
    return CatalogIndex(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        infos=infos,
        vectors=vectors,
        row_of={r[0]: i for i, r in enumerate(rows)},
        artist_names=artist_names,
        collection_names=collection_names,
        tag_names=tag_names,
        signature=signature,
    )


_blas = ThreadpoolController()


def single_threaded_blas():
    """Context manager: BLAS on one thread. The feed's matrix products are small; OpenBLAS's
    spinning worker threads made them ~7x slower on a busy 2-core machine."""
    return _blas.limit(limits=1, user_api="blas")


_lock = threading.Lock()
_index: CatalogIndex | None = None
_checked_at = 0.0


def _signature() -> tuple:
    agg = Track.objects.visible_to(None).aggregate(n=Count("id"), latest=Max("updated_at"))
    latest = agg["latest"].timestamp() if agg["latest"] else 0.0
    return (agg["n"], latest)


def catalog_index(*, force_check: bool = False) -> CatalogIndex:
    """The process-wide content index, rebuilt when the public catalog changed."""
    global _index, _checked_at
    now = time.monotonic()
    if _index is not None and not force_check and now - _checked_at < CHECK_SECONDS:
        return _index
    with _lock:
        signature = _signature()
        _checked_at = time.monotonic()
        if _index is None or _index.signature != signature:
            _index = _build_index(signature)
        return _index


def reset_catalog_index() -> None:
    """Forget the cached index (tests change the catalog between cases)."""
    global _index, _checked_at
    with _lock:
        _index = None
        _checked_at = 0.0
