"""One piece, one entry: duplicates are found by their notes, not their bytes, at every import,
and the ones already in the catalog are merged without losing anything a listener did."""

import io
import os
import uuid
from datetime import timedelta
from unittest import mock

import pretty_midi
import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Playlist, PlaylistItem
from catalog import services, services_merge
from catalog.ingest.fingerprint import music_fingerprint, music_hash
from catalog.ingest.sources import DuplicateError
from catalog.models import Track
from generator.models import GenerationJob
from recommender.models import FeedImpression, FeedSnapshot, ListenEvent, Rating
from tests.catalog.midi_samples import midi_bytes, zip_bytes
from tests.factories import TagFactory, TrackFactory, UserFactory


def _parsed(data: bytes) -> pretty_midi.PrettyMIDI:
    return pretty_midi.PrettyMIDI(io.BytesIO(data))


def _tune(*, resolution: int = 220, offset: float = 0.0, tempo: float = 120.0) -> bytes:
    """A little tune with chords, rests and a doubled voice, written as given."""
    midi = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=tempo)
    beat = 60.0 / tempo
    melody = pretty_midi.Instrument(program=40)
    double = pretty_midi.Instrument(program=73)
    for i, (onset, pitch) in enumerate([(0, 62), (1, 64), (1.5, 66), (3, 67), (4, 69)]):
        start = offset + onset * beat
        note = pretty_midi.Note(velocity=80 + i, pitch=pitch, start=start, end=start + beat / 2)
        melody.notes.append(note)
        double.notes.append(
            pretty_midi.Note(velocity=60, pitch=pitch, start=start, end=start + beat / 4)
        )
    melody.notes.append(pretty_midi.Note(velocity=70, pitch=50, start=offset, end=offset + beat))
    midi.instruments.extend([melody, double])
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def _hash(data: bytes) -> str:
    return music_hash(_parsed(data))


# --- the fingerprint ------------------------------------------------------------------------


def test_the_same_notes_written_differently_have_one_fingerprint():
    base = midi_bytes(seed=1)
    variants = [
        midi_bytes(seed=1, tempo=90),  # another tempo mark, the same seconds
        midi_bytes(seed=1, seconds_per_note=0.5),  # played twice as slowly
        midi_bytes(seed=1, program=40),  # another instrument
        midi_bytes(seed=1, pitch=65),  # transposed
        midi_bytes(seed=1, drums=True),  # a drum part added
    ]
    assert all(data != base for data in variants)
    assert {_hash(data) for data in variants} == {_hash(base)}
    tune = _hash(_tune())
    assert _hash(_tune(resolution=960)) == tune  # another time division
    assert _hash(_tune(offset=2.0)) == tune  # after two seconds of silence
    assert _hash(_tune(tempo=72)) == tune


def test_another_piece_or_one_changed_note_is_another_fingerprint():
    assert _hash(midi_bytes(seed=1)) != _hash(midi_bytes(seed=2))
    assert _hash(midi_bytes(seed=1, notes=16)) != _hash(midi_bytes(seed=1, notes=17))
    one = _parsed(midi_bytes(seed=1))
    other = _parsed(midi_bytes(seed=1))
    other.instruments[0].notes[5].pitch += 1
    assert music_fingerprint(one) != music_fingerprint(other)
    assert music_hash(one) != music_hash(other)


def _few_notes(*pitches: int, drum: bool = False) -> bytes:
    """A file holding only ``pitches``, one after another (drums when ``drum``)."""
    midi = pretty_midi.PrettyMIDI()
    part = pretty_midi.Instrument(program=0, is_drum=drum)
    for i, pitch in enumerate(pitches):
        part.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=i / 2, end=i / 2 + 0.4))
    midi.instruments.append(part)
    buffer = io.BytesIO()
    midi.write(buffer)
    return buffer.getvalue()


def test_too_few_notes_to_tell_a_piece_by_have_no_fingerprint():
    assert _hash(_few_notes(36, 38, 42, 46, drum=True)) == ""  # drums only
    assert _hash(_few_notes(60)) == _hash(_few_notes(72)) == ""  # a lone note, any pitch
    assert _hash(_few_notes(60, 62, 64, 65)) != ""


@pytest.mark.django_db
def test_pieces_without_a_fingerprint_are_never_duplicates_or_merged(no_render):
    drums = services.track_ingest(filename="a.mid", data=_few_notes(36, 38, drum=True))
    other = services.track_ingest(filename="b.mid", data=_few_notes(42, 46, 49, drum=True))
    assert drums.music_hash == other.music_hash == ""
    Track.objects.update(music_hash="")
    report = services_merge.tracks_merge_duplicates()
    assert report.groups == [] and Track.objects.count() == 2


# --- at import ------------------------------------------------------------------------------


@pytest.fixture
def no_render():
    with mock.patch("catalog.tasks.render_track.delay") as delay:
        yield delay


@pytest.mark.django_db
def test_the_same_music_in_other_bytes_is_refused_naming_the_entry(no_render):
    first = services.track_ingest(filename="air.mid", data=midi_bytes(seed=3), title="Air")
    assert first.music_hash == _hash(midi_bytes(seed=3))
    with pytest.raises(DuplicateError) as refused:
        services.track_ingest(filename="air-slow.mid", data=midi_bytes(seed=3, tempo=70))
    assert refused.value.reason == f"duplicate of #{first.pk} “Air” (the same notes)"
    with pytest.raises(DuplicateError) as refused:
        services.track_ingest(filename="air-again.mid", data=midi_bytes(seed=3))
    assert refused.value.reason == f"duplicate of #{first.pk} “Air”"  # byte for byte
    assert Track.objects.count() == 1


@pytest.mark.django_db
def test_private_pieces_are_duplicates_only_of_their_owners_own(no_render):
    ada, bob = UserFactory(username="ada"), UserFactory(username="bob")
    services.track_ingest(filename="p.mid", data=midi_bytes(seed=4), title="Public")

    def private(owner, tempo):
        return services.track_ingest(
            filename="g.mid",
            data=midi_bytes(seed=4, tempo=tempo),
            title=f"Made for {owner.username}",
            origin=Track.Origin.GENERATED,
            owner=owner,
        )

    private(ada, 100)
    private(bob, 100)
    with pytest.raises(DuplicateError) as refused:
        private(ada, 80)
    assert refused.value.reason == "duplicate of your “Made for ada” (the same notes)"


@pytest.mark.django_db
def test_the_upload_report_names_the_entry_a_member_duplicates(no_render):
    existing = services.track_ingest(filename="x.mid", data=midi_bytes(seed=5), title="Reel")
    archive = zip_bytes(
        {
            "a.mid": midi_bytes(seed=6),
            "b.mid": midi_bytes(seed=5, program=22),  # the same notes as the existing reel
            "c.mid": midi_bytes(seed=6, pitch=67),  # the same notes as a.mid, transposed
        }
    )
    report = services.catalog_import(sources=[SimpleUploadedFile("set.zip", archive)])
    rows = {r.filename: (r.outcome, r.message) for r in report.results}
    created = Track.objects.get(source="set.zip/a.mid")
    assert rows == {
        "set.zip/a.mid": ("created", f"created “{created.title}”"),
        "set.zip/b.mid": ("duplicate", f"duplicate of #{existing.pk} “Reel” (the same notes)"),
        "set.zip/c.mid": ("duplicate", f"duplicate of #{created.pk} “A” (the same notes)"),
    }
    assert report.summary == "1 created, 2 duplicates, 0 rejected"


@pytest.mark.django_db
def test_the_demo_import_reports_which_entry_a_piece_duplicates(no_render, capsys):
    from catalog import services_demo
    from catalog.ingest import demo

    existing = services.track_ingest(filename="t.mid", data=midi_bytes(seed=7), title="Tune")
    piece = demo.DemoPiece(
        source="music21:book.abc#2",
        title="Tune",
        artist="Traditional",
        collection="Tests",
        midi=midi_bytes(seed=7, program=73, tempo=150),
    )
    result = services_demo.DemoImportResult()
    services_demo._ingest_job([piece], Track.Status.PUBLISHED, result)
    assert result.duplicates == 1 and result.created == 0
    assert result.duplicate_of == [
        f"music21:book.abc#2: duplicate of #{existing.pk} “Tune” (the same notes)"
    ]


# --- merging the ones already there --------------------------------------------------------


def _legacy(data: bytes, title: str, **fields) -> Track:
    """A track stored before fingerprints: its MIDI file is real, its music hash empty."""
    track = TrackFactory(title=title, **fields)
    track.midi_file.save(f"{title}.mid", ContentFile(data), save=True)
    return track


def _listen(user, track, minutes_ago: int) -> ListenEvent:
    return ListenEvent.objects.create(
        user=user,
        track=track,
        client_event_id=uuid.uuid4(),
        context="feed",
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        played_ms=60_000,
        position_ms=60_000,
        duration_ms=90_000,
        counted=True,
    )


def _rate(user, track, days_ago: int, **fields) -> Rating:
    rating = Rating.objects.create(user=user, track=track, **fields)
    when = timezone.now() - timedelta(days=days_ago)
    Rating.objects.filter(pk=rating.pk).update(created_at=when, updated_at=when)
    return Rating.objects.get(pk=rating.pk)


def _seen(user, track, count: int, first_days: int, last_days: int) -> FeedImpression:
    now = timezone.now()
    return FeedImpression.objects.create(
        user=user,
        track=track,
        shown_count=count,
        first_shown_at=now - timedelta(days=first_days),
        last_shown_at=now - timedelta(days=last_days),
    )


def _playlist(owner, name, tracks) -> Playlist:
    playlist = Playlist.objects.create(owner=owner, name=name)
    for position, track in enumerate(tracks):
        PlaylistItem.objects.create(playlist=playlist, track=track, position=position)
    return playlist


def _entries(playlist) -> list[tuple[int, int]]:
    return list(playlist.items.order_by("position").values_list("position", "track_id"))


@pytest.fixture
def duplicates(db):
    """Two entries of one tune (different bytes) and one other piece, with listeners' rows."""
    folk, jig = TagFactory(name="folk"), TagFactory(name="jig")
    kept = _legacy(midi_bytes(seed=2), "Black Eyed Susan")
    kept.tags.add(folk)
    dup = _legacy(midi_bytes(seed=2, tempo=80, program=73), "Black Eyed Susan", collection=None)
    dup.tags.add(jig)
    other = _legacy(midi_bytes(seed=3), "Thanksgiving")
    ann, ben, cat, dan, eve = (UserFactory(username=n) for n in ("ann", "ben", "cat", "dan", "eve"))
    rows = {
        "listens": [
            _listen(ann, kept, 50),
            _listen(ann, dup, 40),
            _listen(ben, dup, 30),
            _listen(cat, other, 20),
        ],
        # ann rated both: 4 stars on the kept one, later a like on the duplicate.
        "ann kept": _rate(ann, kept, 9, stars=4),
        "ann dup": _rate(ann, dup, 1, liked=True),
        # ben rated both: "not interested" in the duplicate, later 5 stars on the kept one.
        "ben kept": _rate(ben, kept, 1, stars=5),
        "ben dup": _rate(ben, dup, 8, not_interested=True),
        # eve liked the duplicate, later gave the kept one 1 star.
        "eve kept": _rate(eve, kept, 2, stars=1),
        "eve dup": _rate(eve, dup, 6, liked=True),
        "cat dup": _rate(cat, dup, 3, stars=4, liked=True),  # only the duplicate
        "cat other": _rate(cat, other, 3, stars=3),
        "ann seen kept": _seen(ann, kept, 3, 10, 2),
        "ann seen dup": _seen(ann, dup, 2, 12, 1),
        "ben seen dup": _seen(ben, dup, 4, 5, 5),
        # the kept piece first, then another, then the duplicate; and the duplicate alone
        "both": _playlist(ann, "Both", [kept, other, dup]),
        "dup first": _playlist(ben, "Dup first", [dup, other, kept]),
        "only dup": _playlist(cat, "Only dup", [other, dup]),
        "primer": GenerationJob.objects.create(user=dan, primer_track=dup),
        "snapshot": FeedSnapshot.objects.create(
            user=ann, items=[[dup.pk, "popular", "p", ""]], built_at=timezone.now()
        ),
    }
    return kept, dup, other, rows


def test_every_relation_to_a_track_is_one_the_merge_moves():
    assert services_merge._relation_names() == services_merge.HANDLED_RELATIONS


def test_merging_loses_no_play_rating_like_entry_or_impression(
    duplicates, django_capture_on_commit_callbacks, settings
):
    kept, dup, other, rows = duplicates
    listens_before = set(ListenEvent.objects.values_list("pk", "user_id", "started_at"))
    dup_file = dup.midi_file.path
    with django_capture_on_commit_callbacks(execute=True):
        report = services_merge.tracks_merge_duplicates()

    assert not Track.objects.filter(pk=dup.pk).exists()
    assert [(g.kept, g.merged) for g in report.groups] == [
        ((kept.pk, "Black Eyed Susan"), [(dup.pk, "Black Eyed Susan")])
    ]
    # Every play stays, as it was, on the kept track.
    assert set(ListenEvent.objects.values_list("pk", "user_id", "started_at")) == listens_before
    assert ListenEvent.objects.filter(track=kept).count() == 3
    ann = rows["listens"][0].user
    # Ratings: the more recent wins, the older fills in what it leaves unsaid.
    ratings = {r.user.username: r for r in Rating.objects.filter(track=kept)}
    opinion = {u: (r.stars, r.liked, r.not_interested) for u, r in ratings.items()}
    assert opinion == {
        "ann": (4, True, False),  # a later like adds to 4 stars
        "ben": (5, False, False),  # a later 5 stars outweighs an older "not interested"
        "cat": (4, True, False),  # only on the duplicate: moved as it was
        "eve": (1, False, False),  # a later 1 star outweighs an older like
    }
    assert ratings["ann"].updated_at == rows["ann dup"].updated_at
    assert ratings["ann"].created_at == rows["ann kept"].created_at
    assert ratings["cat"].updated_at == rows["cat dup"].updated_at
    assert Rating.objects.filter(track=other).count() == 1
    assert Rating.objects.count() == 5
    # Impressions: counts added, first and last kept.
    seen = {s.user.username: s for s in FeedImpression.objects.filter(track=kept)}
    assert seen["ann"].shown_count == 5
    assert seen["ann"].first_shown_at == rows["ann seen dup"].first_shown_at
    assert seen["ann"].last_shown_at == rows["ann seen dup"].last_shown_at
    assert seen["ben"].shown_count == 4
    assert FeedImpression.objects.count() == 2
    # Playlists: the piece once, at the earlier place, positions dense.
    assert _entries(rows["both"]) == [(0, kept.pk), (1, other.pk)]
    assert _entries(rows["dup first"]) == [(0, kept.pk), (1, other.pk)]
    assert _entries(rows["only dup"]) == [(0, other.pk), (1, kept.pk)]
    rows["primer"].refresh_from_db()
    assert rows["primer"].primer_track_id == kept.pk
    assert FeedSnapshot.objects.get(user=ann).stale
    kept.refresh_from_db()
    assert sorted(kept.tags.values_list("name", flat=True)) == ["folk", "jig"]
    assert kept.music_hash == _hash(midi_bytes(seed=2))
    assert Track.objects.get(pk=other.pk).music_hash == _hash(midi_bytes(seed=3))
    assert report.moved["plays and history"] == 2
    assert not os.path.exists(dup_file)  # the duplicate's files go once it is committed
    # A second run finds nothing more to do.
    assert services_merge.tracks_merge_duplicates().groups == []


def test_the_published_entry_with_audio_is_kept(db):
    hidden = _legacy(midi_bytes(seed=4), "Air", status=Track.Status.HIDDEN)
    pending = _legacy(midi_bytes(seed=4, tempo=60), "Air")
    ready = _legacy(midi_bytes(seed=4, tempo=90), "Air", render_status="ready")
    report = services_merge.tracks_merge_duplicates()
    assert report.groups[0].kept[0] == ready.pk
    assert {pk for pk, _ in report.groups[0].merged} == {hidden.pk, pending.pk}


def test_a_dry_run_changes_nothing(duplicates):
    _kept, dup, _other, _rows = duplicates
    before = {
        model.__name__: sorted(model.objects.values_list("pk", "track_id"))
        for model in (ListenEvent, Rating, FeedImpression, PlaylistItem)
    }
    report = services_merge.tracks_merge_duplicates(dry_run=True)
    assert report.dry_run and report.removed == 1 and report.moved["plays and history"] == 2
    after = {
        model.__name__: sorted(model.objects.values_list("pk", "track_id"))
        for model in (ListenEvent, Rating, FeedImpression, PlaylistItem)
    }
    assert after == before
    assert Track.objects.filter(pk=dup.pk).exists()
    assert set(Track.objects.values_list("music_hash", flat=True)) == {""}
    assert dup.midi_file.storage.exists(dup.midi_file.name)


def test_a_failure_midway_rolls_the_whole_merge_back(duplicates):
    _kept, dup, _other, _rows = duplicates
    with (
        mock.patch.object(services_merge, "_merge_playlists", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        services_merge.tracks_merge_duplicates()
    assert Track.objects.filter(pk=dup.pk).exists()
    assert ListenEvent.objects.filter(track=dup).count() == 2
    assert Rating.objects.filter(track=dup).count() == 4


def test_the_command_says_what_it_merged(duplicates, capsys):
    kept, dup, _other, _rows = duplicates
    call_command("merge_duplicate_tracks", "--dry-run")
    out = capsys.readouterr().out
    assert f"#{kept.pk} “Black Eyed Susan” kept; would be merged into it: #{dup.pk}" in out
    assert "dry run: nothing was changed" in out
    assert Track.objects.filter(pk=dup.pk).exists()
    call_command("merge_duplicate_tracks")
    out = capsys.readouterr().out
    assert "1 duplicate track(s) merged into 1" in out and "2 plays and history" in out
    assert not Track.objects.filter(pk=dup.pk).exists()


@pytest.mark.django_db
def test_other_settings_of_a_demo_tune_are_numbered_not_merged(no_render):
    """O'Neill's prints two settings of "Black Eyed Susan" (different notes): two entries that
    say which is which, where a duplicate of either is refused."""
    from catalog import services_demo
    from catalog.ingest import demo

    def piece(n, data, tags=("folk",)):
        return demo.DemoPiece(
            source=f"music21:oneills.abc#{n}",
            title="Black Eyed Susan",
            artist="Traditional",
            collection="O'Neill's",
            tags=list(tags),
            midi=data,
        )

    result = services_demo.DemoImportResult()
    pieces = [piece(53, midi_bytes(seed=1)), piece(54, midi_bytes(seed=2))]
    pieces.append(piece(55, midi_bytes(seed=1, pitch=67)))  # the first setting again
    services_demo._ingest_job(pieces, Track.Status.PUBLISHED, result)
    titles = list(Track.objects.order_by("pk").values_list("title", flat=True))
    assert titles == ["Black Eyed Susan", "Black Eyed Susan (setting 2)"]
    assert result.duplicates == 1
    song = piece(60, midi_bytes(seed=3), tags=("song",))
    services_demo._ingest_job([song], Track.Status.PUBLISHED, result)
    assert Track.objects.order_by("pk").last().title == "Black Eyed Susan (version 3)"
