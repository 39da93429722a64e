"""Retention: what old data and artifacts are removed, in one service (README "Operations").

- Recommender versions (``ModelVersion``): per kind, the artifact folders of versions that were
  never activated (``activated_at`` empty), except the newest ``keep`` versions. The active
  version and every version that was once active (rollback targets) keep theirs.
- Generator versions (``GeneratorVersion``): the checkpoint folders of versions that the
  fine-tune registered as not promoted (``metrics.promoted`` false), never active, no job ever
  sampled from them, beyond the newest ``keep``.
- Feed impressions not shown for ``impression_days``, and feed snapshots not rebuilt for
  ``snapshot_days`` (the next page rebuilds one).

The rows of pruned versions stay, with their metrics, as the history the admin and the training
chart show; their note says the artifact was pruned, and a pruned version cannot be activated
(its folder is missing, which activation checks). Only folders under ``MODEL_ROOT`` are
removed, and never one that a kept version also points to.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

PRUNED_NOTE = "artifact pruned"

Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass
class RetentionReport:
    """What a run removed (or, dry, would remove)."""

    model_versions: list[str] = field(default_factory=list)
    generator_versions: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    impressions: int = 0
    snapshots: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (
            f"{verb} the artifacts of {len(self.model_versions)} recommender and "
            f"{len(self.generator_versions)} generator versions "
            f"({self.bytes_freed / 1e6:.1f} MB), {self.impressions} feed impressions and "
            f"{self.snapshots} feed snapshots"
        )


def _folder_under_model_root(path: str) -> Path | None:
    """The folder ``path`` names, if it lies inside MODEL_ROOT (else None: never removed)."""
    root = Path(settings.MODEL_ROOT).resolve()
    candidate = Path(path)
    folder = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if folder == root or root not in folder.parents:
        return None
    return folder


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _remove(folder: Path | None, dry_run: bool) -> int:
    """Bytes freed by removing ``folder`` (0 if it is gone or outside MODEL_ROOT)."""
    if folder is None or not folder.is_dir():
        return 0
    size = _size(folder)
    if not dry_run:
        shutil.rmtree(folder)
    return size


def _model_version_candidates(keep: int) -> list:
    from recommender.models import ModelVersion

    doomed = []
    for kind in ModelVersion.objects.order_by().values_list("kind", flat=True).distinct():
        newest = ModelVersion.objects.filter(kind=kind).order_by("-version")[:keep]
        doomed += list(
            ModelVersion.objects.filter(kind=kind, is_active=False, activated_at__isnull=True)
            .exclude(pk__in=[v.pk for v in newest])
            .exclude(reason__contains=PRUNED_NOTE)
            .order_by("version")
        )
    return doomed


def _generator_candidates(keep: int) -> list:
    from generator.models import GenerationJob, GeneratorVersion

    newest = list(GeneratorVersion.objects.order_by("-created_at", "-id")[:keep])
    sampled = GenerationJob.objects.filter(version__isnull=False).values("version_id")
    return list(
        GeneratorVersion.objects.filter(is_active=False, metrics__promoted=False)
        .exclude(pk__in=[v.pk for v in newest])
        .exclude(pk__in=sampled)
        .exclude(notes__contains=PRUNED_NOTE)
        .order_by("created_at", "id")
    )


def retention_prune(
    *,
    keep_versions: int | None = None,
    impression_days: int | None = None,
    snapshot_days: int | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> RetentionReport:
    """Prune what the retention settings say (arguments override them); see the module doc."""
    from recommender.models import FeedImpression, FeedSnapshot, ModelVersion

    keep = settings.RETENTION_KEEP_VERSIONS if keep_versions is None else keep_versions
    keep = max(keep, 0)
    report = RetentionReport(dry_run=dry_run)
    tell = progress or (lambda step, done, total: None)

    models = _model_version_candidates(keep)
    generators = _generator_candidates(keep)
    doomed_pks = {("m", v.pk) for v in models} | {("g", v.pk) for v in generators}
    shared = _kept_folders_except(doomed_pks)
    total = len(models) + len(generators)
    done = 0
    stamp = f"{PRUNED_NOTE} {timezone.now():%Y-%m-%d}"
    for version in models + generators:
        freed = _version_prune(version, shared=shared, stamp=stamp, dry_run=dry_run)
        if freed is None:  # activated meanwhile
            continue
        report.bytes_freed += freed
        if isinstance(version, ModelVersion):
            report.model_versions.append(f"{version.kind} v{version.version}")
        else:
            report.generator_versions.append(version.name)
        done += 1
        tell("versions", done, total)

    now = timezone.now()
    days = settings.RETENTION_IMPRESSION_DAYS if impression_days is None else impression_days
    impressions = FeedImpression.objects.filter(last_shown_at__lt=now - timedelta(days=days))
    report.impressions = (
        impressions.count() if dry_run else _delete(impressions, "impressions", tell)
    )
    days = settings.RETENTION_SNAPSHOT_DAYS if snapshot_days is None else snapshot_days
    snapshots = FeedSnapshot.objects.filter(built_at__lt=now - timedelta(days=days))
    report.snapshots = snapshots.count() if dry_run else _delete(snapshots, "snapshots", tell)
    logger.info("retention: %s", report.summary())
    return report


def _kept_folders_except(doomed: set[tuple[str, int]]) -> set[Path]:
    from generator.models import GeneratorVersion
    from recommender.models import ModelVersion

    kept_models = ModelVersion.objects.exclude(pk__in=[pk for k, pk in doomed if k == "m"])
    kept_gens = GeneratorVersion.objects.exclude(pk__in=[pk for k, pk in doomed if k == "g"])
    paths = list(kept_models.values_list("artifact_path", flat=True))
    paths += list(kept_gens.values_list("artifact_path", flat=True))
    return {f for f in map(_folder_under_model_root, paths) if f is not None}


def _version_prune(version, *, shared: set[Path], stamp: str, dry_run: bool) -> int | None:
    """Remove one version's folder and note it on the row, with the row locked and checked
    again: None (nothing done) if it became active meanwhile."""
    from recommender.models import ModelVersion

    with transaction.atomic():
        row = type(version).objects.select_for_update().get(pk=version.pk)
        once_active = isinstance(row, ModelVersion) and row.activated_at is not None
        if row.is_active or once_active:
            return None
        folder = _folder_under_model_root(row.artifact_path)
        freed = 0 if folder in shared else _remove(folder, dry_run)
        if not dry_run:
            if isinstance(row, ModelVersion):
                row.reason = f"{row.reason}; {stamp}" if row.reason else stamp
                row.save(update_fields=["reason"])
            else:
                row.notes = f"{row.notes}\n{stamp}".strip()
                row.save(update_fields=["notes"])
    return freed


def _delete(queryset, step: str, tell: Progress, chunk: int = 5000) -> int:
    """Delete ``queryset``'s rows in chunks (no long lock on a busy table); how many."""
    total = queryset.count()
    deleted = 0
    while True:
        pks = list(queryset.order_by().values_list("pk", flat=True)[:chunk])
        if not pks:
            break
        with transaction.atomic():
            count, _ = queryset.filter(pk__in=pks).delete()  # still old: not shown meanwhile
        deleted += count
        tell(step, min(deleted, total), total)
    tell(step, total, total)
    return deleted
