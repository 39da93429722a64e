"""The demo catalog: real music21 corpus pieces, ingested through the same service, idempotent."""

import time
from collections import Counter
from unittest import mock

import pytest
from django.core.management import call_command

from catalog.ingest import demo
from catalog.models import Collection, Track


def test_full_plan_has_enough_real_pieces():
    jobs = demo.plan_jobs()
    per_collection = Counter()
    for job in jobs:
        per_collection[demo.SOURCES[job.source_key].collection] += job.size
    assert sum(per_collection.values()) >= 1050  # headroom over 1,000 for skipped tunes
    assert len(per_collection) >= 5
    idents = [ident for job in jobs for ident in job.idents]
    assert len(idents) == len(set(idents))


@pytest.mark.django_db
def test_demo_import_subset_then_rerun_is_a_no_op(capsys, django_capture_on_commit_callbacks):
    with (
        mock.patch("catalog.tasks.render_track.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("import_demo_catalog", "--limit", "7", "--processes", "1")
    out = capsys.readouterr().out
    assert "demo catalog: 7 pieces imported" in out
    assert delay.call_count == 7  # every piece is queued for rendering
    tracks = Track.objects.select_related("artist", "collection").prefetch_related("tags")
    assert tracks.count() == 7
    assert Collection.objects.filter(tracks__isnull=False).distinct().count() == 7
    by_collection = {t.collection.name: t for t in tracks}
    chorale = by_collection["Bach Chorales"]
    assert chorale.title.startswith("Chorale BWV ")
    assert chorale.artist.name == "Johann Sebastian Bach"
    assert {"chorale", "baroque"} <= {tag.name for tag in chorale.tags.all()}
    assert chorale.instruments == ["Church Organ"] and chorale.key.endswith(("major", "minor"))
    quartet = by_collection["Classical String Quartets"]
    assert quartet.title.startswith("String Quartet") and quartet.artist.name == "Joseph Haydn"
    assert {"Violin", "Viola", "Cello"} <= set(quartet.instruments)
    tune = by_collection["O'Neill's Music of Ireland (1850)"]
    assert tune.title == "The Enchanted Valley" and tune.key == "G minor"
    assert tune.time_signature == "2/4" and tune.duration_seconds > 20
    assert all(t.source.startswith("music21:") for t in tracks)

    started = time.perf_counter()
    call_command("import_demo_catalog", "--limit", "7", "--processes", "1")
    assert time.perf_counter() - started < 5
    assert "demo catalog already imported: 7 pieces" in capsys.readouterr().out
    assert Track.objects.count() == 7
    # An interrupted import resumes: only the missing job is converted again.
    Track.objects.filter(title="The Enchanted Valley").delete()
    with (
        mock.patch("catalog.tasks.render_track.delay"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        call_command("import_demo_catalog", "--limit", "7", "--processes", "1")
    assert "demo catalog: 1 piece imported" in capsys.readouterr().out
    assert Track.objects.filter(title="The Enchanted Valley").count() == 1


@pytest.mark.django_db
def test_a_job_that_fails_midway_leaves_no_rows_or_files(settings):
    import os

    from catalog import services, services_demo
    from tests.catalog.midi_samples import midi_bytes

    pieces = [
        demo.DemoPiece(
            source=f"music21:x.abc#{i}",
            title=f"Tune {i}",
            artist="Traditional",
            collection="Tests",
            tags=["folk"],
            midi=midi_bytes(seed=i),
        )
        for i in range(3)
    ]
    real_ingest = services.track_ingest
    calls = []

    def flaky_ingest(**kwargs):
        calls.append(kwargs["title"])
        if len(calls) == 3:
            raise RuntimeError("database went away")
        return real_ingest(**kwargs)

    result = services_demo.DemoImportResult()
    with (
        mock.patch("catalog.tasks.render_track.delay"),
        mock.patch.object(services, "track_ingest", flaky_ingest),
        pytest.raises(RuntimeError),
    ):
        services_demo._ingest_job(pieces, Track.Status.PUBLISHED, result)
    assert Track.objects.count() == 0
    assert [f for _, _, files in os.walk(settings.MEDIA_ROOT) for f in files] == []
