"""Retention: never-promoted model artifacts beyond the newest few, old impressions and
snapshots go; the active, once-active and recent versions keep their files."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from generator.models import GeneratorVersion
from musicsite import retention
from musicsite.tasks import retention_prune as retention_task
from recommender.ml.base import ArtifactError
from recommender.models import FeedImpression, FeedSnapshot, ModelVersion
from tests.factories import GenerationJobFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def model_root(settings, tmp_path) -> Path:
    settings.MODEL_ROOT = str(tmp_path / "models")
    settings.RETENTION_KEEP_VERSIONS = 3
    return Path(settings.MODEL_ROOT)


def _artifact(root: Path, relative: str) -> str:
    folder = root / relative
    folder.mkdir(parents=True)
    (folder / "weights.npz").write_bytes(b"\0" * 1000)
    return relative


def _model_versions(root: Path) -> dict[int, ModelVersion]:
    """als v1 once active, v4 active, the others never promoted."""
    versions = {}
    for n in range(1, 7):
        versions[n] = ModelVersion.objects.create(
            kind="als",
            version=n,
            artifact_path=_artifact(root, f"als/{n}"),
            is_active=n == 4,
            activated_at=timezone.now() if n in (1, 4) else None,
            reason="first version" if n == 1 else "not activated: worse",
        )
    return versions


def test_never_promoted_recommender_versions_beyond_the_newest_lose_their_artifacts(model_root):
    _model_versions(model_root)
    report = retention.retention_prune()
    assert report.model_versions == ["als v2", "als v3"]
    assert report.bytes_freed == 2000
    remaining = {p.name for p in (model_root / "als").iterdir()}
    assert remaining == {"1", "4", "5", "6"}  # once active, active, the newest three
    v2 = ModelVersion.objects.get(kind="als", version=2)  # the row and its metrics stay
    assert "artifact pruned" in v2.reason
    assert retention.retention_prune().model_versions == []  # nothing left to do


def test_a_pruned_version_cannot_be_activated(model_root):
    from recommender.training.services import version_activate

    _model_versions(model_root)
    retention.retention_prune()
    with pytest.raises(ArtifactError):
        version_activate(version=ModelVersion.objects.get(kind="als", version=2))


def test_keep_is_per_kind_and_configurable(model_root, settings):
    _model_versions(model_root)
    ModelVersion.objects.create(
        kind="bpr", version=1, artifact_path=_artifact(model_root, "bpr/1"), reason="worse"
    )
    settings.RETENTION_KEEP_VERSIONS = 1
    report = retention.retention_prune()
    assert report.model_versions == ["als v2", "als v3", "als v5"]  # bpr v1 is its kind's newest
    assert (model_root / "bpr" / "1").is_dir()


def test_a_dry_run_removes_nothing(model_root):
    _model_versions(model_root)
    report = retention.retention_prune(dry_run=True)
    assert report.model_versions == ["als v2", "als v3"] and report.dry_run
    assert len(list((model_root / "als").iterdir())) == 6
    assert "artifact pruned" not in ModelVersion.objects.get(kind="als", version=2).reason


def test_a_folder_a_kept_version_shares_or_outside_model_root_is_never_removed(
    model_root, tmp_path
):
    versions = _model_versions(model_root)
    ModelVersion.objects.filter(pk=versions[2].pk).update(artifact_path="als/6")  # shared
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    ModelVersion.objects.filter(pk=versions[3].pk).update(artifact_path="../elsewhere")
    report = retention.retention_prune()
    assert report.model_versions == ["als v2", "als v3"] and report.bytes_freed == 0
    assert (model_root / "als" / "6").is_dir() and outside.is_dir()


def _generator(
    root: Path, name: str, *, promoted: bool | None, active: bool = False, absolute=False
):
    relative = _artifact(root, f"generator/{name}")
    metrics = {"val_nll": 1.0} if promoted is None else {"val_nll": 1.0, "promoted": promoted}
    return GeneratorVersion.objects.create(
        name=name,
        artifact_path=str(root / relative) if absolute else relative,
        metrics=metrics,
        is_active=active,
    )


def test_generator_versions_the_fine_tune_did_not_promote_are_pruned(model_root, settings):
    settings.RETENTION_KEEP_VERSIONS = 2
    _generator(model_root, "base", promoted=None, active=True)
    _generator(model_root, "ft-a", promoted=False, absolute=True)  # as fine-tune stores it
    sampled = _generator(model_root, "ft-b", promoted=False)  # made active by staff once
    GenerationJobFactory(version=sampled)
    _generator(model_root, "ft-c", promoted=True)
    _generator(model_root, "ft-d", promoted=False)
    _generator(model_root, "ft-e", promoted=False)
    report = retention.retention_prune()
    assert report.generator_versions == ["ft-a"]
    remaining = {p.name for p in (model_root / "generator").iterdir()}
    assert remaining == {"base", "ft-b", "ft-c", "ft-d", "ft-e"}
    assert "artifact pruned" in GeneratorVersion.objects.get(name="ft-a").notes


def test_old_impressions_and_snapshots_are_pruned(model_root, settings):
    settings.RETENTION_IMPRESSION_DAYS = 90
    settings.RETENTION_SNAPSHOT_DAYS = 30
    now = timezone.now()
    old, recent = now - timedelta(days=91), now - timedelta(days=89)
    stale_listener, active_listener = UserFactory(), UserFactory()
    tracks = TrackFactory.create_batch(3)
    for track, when in zip(tracks, (old, old, recent), strict=True):
        FeedImpression.objects.create(
            user=active_listener, track=track, first_shown_at=when, last_shown_at=when
        )
    FeedSnapshot.objects.create(user=stale_listener, items=[], built_at=now - timedelta(days=31))
    FeedSnapshot.objects.create(user=active_listener, items=[], built_at=now - timedelta(days=1))

    report = retention.retention_prune()
    assert (report.impressions, report.snapshots) == (2, 1)
    assert list(FeedImpression.objects.values_list("track", flat=True)) == [tracks[2].pk]
    assert list(FeedSnapshot.objects.values_list("user", flat=True)) == [active_listener.pk]


def test_the_daily_task_and_the_command_run_the_service(model_root, settings, capsys):
    from musicsite.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE["retention-prune"]
    assert schedule["task"] == "musicsite.retention_prune" and schedule["schedule"] == 86400
    assert "musicsite.retention_prune" in app.tasks
    _model_versions(model_root)

    call_command("prune_retention", "--dry-run")
    out = capsys.readouterr().out
    assert "would prune als v2" in out and "Would remove the artifacts of 2 recommender" in out
    assert len(list((model_root / "als").iterdir())) == 6

    summary = retention_task.apply().get()
    assert summary.startswith("removed the artifacts of 2 recommender and 0 generator versions")
    assert not (model_root / "als" / "2").exists()
