"""Serving the active recommenders: ``recommendations_for`` and the online feedback update.

Active versions are loaded once per process and cached by version id. Every request reads the
listener's latest history, so the sequence models react to the last play at once; for matrix
factorisation a new rating, like or skip recomputes that listener's factors (implicit's
``partial_fit_users`` for ALS, see ``recommender.ml.mf``) right after it is stored, and any
process that notices newer feedback than it folded in recomputes them before answering. With
no active model, or an unreadable one, the listener gets the most played pieces and a warning
is logged.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import Count, Q

from catalog.models import Track
from recommender.ml.base import ArtifactError, Recommender
from recommender.ml.kinds import MF_KINDS
from recommender.ml.registry import model_class
from recommender.models import ModelVersion
from recommender.training.dataset import UserHistory, user_history

__all__ = [
    "LoadedModel",
    "Recommendation",
    "RemappedModel",
    "load_version",
    "online_feedback_update",
    "provider",
    "recommendations_for",
]

logger = logging.getLogger(__name__)

SERVE_ORDER = ("sasrec", "als", "bpr")  # which active model answers first


@dataclass(frozen=True, slots=True)
class Recommendation:
    track_id: int
    score: float
    source: str  # the model kind, or "popular"


@dataclass
class LoadedModel:
    """An active artifact in memory with its id maps."""

    version_id: int
    kind: str
    model: Recommender
    user_ids: list[str]
    item_ids: list[str]
    trained_at: float
    user_index: dict[str, int] = field(default_factory=dict)
    item_index: dict[str, int] = field(default_factory=dict)
    folded: dict[int, float] = field(default_factory=dict)  # user pk → newest event folded in

    def __post_init__(self) -> None:
        self.user_index = {u: i for i, u in enumerate(self.user_ids)}
        self.item_index = {t: i for i, t in enumerate(self.item_ids)}
        self.track_ids = np.asarray([int(t) for t in self.item_ids], dtype=np.int64)


_cache: dict[int, LoadedModel] = {}
_lock = threading.Lock()


def load_version(version: ModelVersion) -> LoadedModel:
    """The artifact of ``version`` (cached); raises ``ArtifactError`` if missing or corrupt."""
    with _lock:
        if version.pk in _cache:
            return _cache[version.pk]
    folder = Path(settings.MODEL_ROOT) / version.artifact_path
    model = model_class(version.kind).load(folder)
    meta = model.meta
    if "item_ids" not in meta or len(meta["item_ids"]) != model.n_items:
        raise ArtifactError(f"{folder}: the item list does not match the model")
    loaded = LoadedModel(
        version.pk,
        version.kind,
        model,
        [str(u) for u in meta.get("user_ids", [])],
        [str(t) for t in meta["item_ids"]],
        float(meta.get("trained_at", 0.0)),
    )
    with _lock:
        _cache[version.pk] = loaded
        # keep only what is active (and this one): old versions free their memory
        active = set(ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True))
        for stale in [pk for pk in _cache if pk not in active and pk != version.pk]:
            del _cache[stale]
    return loaded


def _user_slot(loaded: LoadedModel, user_id: int) -> int:
    slot = loaded.user_index.get(str(user_id))
    if slot is None:  # a listener who joined after training gets a fresh row
        slot = len(loaded.user_index)
        loaded.user_index[str(user_id)] = slot
    return slot


def _refresh_factors(loaded: LoadedModel, user_id: int, history: UserHistory) -> None:
    """Recompute an MF listener's factors from their current evidence if it is newer."""
    if loaded.kind not in MF_KINDS:
        return
    known = loaded.folded.get(user_id, loaded.trained_at if str(user_id) in loaded.user_ids else -1)
    if history.last_event <= known:
        return
    pairs = [
        (loaded.item_index[str(t)], w)
        for t, w in history.weights.items()
        if str(t) in loaded.item_index
    ]
    items = np.asarray([p[0] for p in pairs], dtype=np.int64)
    weights = np.asarray([p[1] for p in pairs], dtype=np.float64)
    loaded.model.update_user(_user_slot(loaded, user_id), items, weights)
    loaded.folded[user_id] = history.last_event


def _rank(loaded: LoadedModel, user_id: int, history: UserHistory, n: int) -> list[Recommendation]:
    _refresh_factors(loaded, user_id, history)
    index = loaded.item_index
    sequence = np.asarray([index[str(t)] for t in history.sequence if str(t) in index], np.int64)
    excluded = np.asarray(
        [index[str(t)] for t in history.seen | history.hidden if str(t) in index], np.int64
    )
    slot = loaded.user_index.get(str(user_id), -1)
    items, scores = loaded.model.recommend(slot, sequence, n, exclude=excluded)
    return [
        Recommendation(int(loaded.track_ids[i]), float(s), loaded.kind)
        for i, s in zip(items, scores, strict=True)
    ]


def _active(kinds: tuple[str, ...]) -> list[ModelVersion]:
    versions = {v.kind: v for v in ModelVersion.objects.filter(is_active=True, kind__in=kinds)}
    return [versions[k] for k in kinds if k in versions]


def _popular(user, history: UserHistory, k: int) -> list[Recommendation]:
    tracks = (
        Track.objects.visible_to(user)
        .exclude(pk__in=history.seen | history.hidden)
        .annotate(plays=Count("listen_events", filter=Q(listen_events__counted=True)))
        .order_by("-plays", "-pk")
        .values_list("pk", "plays")[:k]
    )
    return [Recommendation(pk, float(plays), "popular") for pk, plays in tracks]


def recommendations_for(*, user, k: int = 20, kinds: tuple[str, ...] = SERVE_ORDER):
    """Up to ``k`` pieces for ``user``, best first, from the first usable active model.

    Pieces the listener already heard, rated or hid are left out, as are pieces they may not
    see. Without a usable model: the most played pieces, with a logged warning.
    """
    history = user_history(user.pk)
    for version in _active(kinds):
        try:
            loaded = load_version(version)
            ranked = _rank(loaded, user.pk, history, k * 3)
        except (ArtifactError, OSError, ValueError, RuntimeError) as exc:
            logger.warning(
                "%s v%s unusable (%s); trying the next model", version.kind, version.version, exc
            )
            continue
        visible = set(
            Track.objects.visible_to(user)
            .filter(pk__in=[r.track_id for r in ranked])
            .values_list("pk", flat=True)
        )
        return [r for r in ranked if r.track_id in visible][:k]
    logger.warning("no usable recommender model for user %s; falling back to popularity", user.pk)
    return _popular(user, history, k)


def online_feedback_update(signals: list) -> None:
    """Listening hub subscriber: refresh the MF factors of each listener in ``signals`` (once each)
    in every loaded active MF model, so their next page reflects what they just did."""
    versions = _active(MF_KINDS)
    if not versions:
        return
    for user_id in dict.fromkeys(signal.user_id for signal in signals):
        history = user_history(user_id)
        for version in versions:
            try:
                _refresh_factors(load_version(version), user_id, history)
            except ArtifactError as exc:
                logger.warning(
                    "%s v%s unusable for the online update: %s", version.kind, version.version, exc
                )


def provider(kinds: tuple[str, ...]):
    """A feed provider ``(user_id, recent_plays, k) -> [(track_id, score)]`` over ``kinds``."""

    def provide(user_id: int, recent_plays: list[int], k: int) -> list[tuple[int, float]]:
        versions = _active(kinds)
        if not versions:
            return []
        history = user_history(user_id)
        if recent_plays:  # the feed's own view of the latest plays (most recent first) wins
            latest = list(reversed(recent_plays))
            history.sequence = [t for t in history.sequence if t not in set(latest)] + latest
        return [
            (r.track_id, r.score) for r in _rank(load_version(versions[0]), user_id, history, k)
        ]

    return provide


class RemappedModel:
    """A loaded model scored in another data set's index space (to re-evaluate the active one)."""

    def __init__(self, loaded: LoadedModel, *, user_ids: list[str], item_ids: list[str]) -> None:
        self.loaded = loaded
        self.n_items = len(item_ids)
        self.user_map = np.asarray([loaded.user_index.get(u, -1) for u in user_ids], np.int64)
        self.item_map = np.asarray([loaded.item_index.get(t, -1) for t in item_ids], np.int64)
        self.known = np.flatnonzero(self.item_map >= 0)

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        old_histories = [self.item_map[h][self.item_map[h] >= 0] for h in histories]
        old = self.loaded.model.scores(self.user_map[users], old_histories)
        out = np.full((len(users), self.n_items), -np.inf, dtype=np.float32)
        out[:, self.known] = old[:, self.item_map[self.known]]
        return out
