"""Admin curation and the staff upload page."""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Track
from tests.catalog.midi_samples import midi_bytes, zip_bytes
from tests.factories import TrackFactory, UserFactory


@pytest.fixture
def staff_client(client):
    user = UserFactory(username="curator", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_changelist_filters_search_and_query_count(staff_client, django_assert_max_num_queries):
    TrackFactory.create_batch(30, status=Track.Status.DRAFT)
    TrackFactory(title="Needle in the haystack")
    url = reverse("admin:catalog_track_changelist")
    with django_assert_max_num_queries(20):  # list_select_related: no query per row
        response = staff_client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    for label in ("By status", "By origin", "By render status", "By collection", "By key"):
        assert label in body
    assert reverse("catalog:staff_upload") in body
    response = staff_client.get(url, {"q": "haystack"})
    assert "Needle in the haystack" in response.content.decode()
    assert response.context["cl"].result_count == 1
    response = staff_client.get(url, {"status__exact": "draft"})
    assert response.context["cl"].result_count == 30


@pytest.mark.django_db
def test_every_catalog_model_has_an_admin_page(staff_client):
    for name in ("track", "artist", "collection", "tag"):
        assert staff_client.get(reverse(f"admin:catalog_{name}_changelist")).status_code == 200
    track = TrackFactory()
    assert (
        staff_client.get(reverse("admin:catalog_track_change", args=[track.pk])).status_code == 200
    )
    index = staff_client.get(reverse("admin:index")).content.decode()
    assert reverse("catalog:staff_upload") in index


@pytest.mark.django_db
def test_bulk_actions_publish_hide_and_rerender(staff_client, django_capture_on_commit_callbacks):
    tracks = TrackFactory.create_batch(3, status=Track.Status.DRAFT)
    url = reverse("admin:catalog_track_changelist")
    ids = [str(t.pk) for t in tracks[:2]]
    staff_client.post(url, {"action": "publish", "_selected_action": ids})
    assert Track.objects.filter(status=Track.Status.PUBLISHED).count() == 2
    staff_client.post(url, {"action": "hide", "_selected_action": ids[:1]})
    assert Track.objects.get(pk=ids[0]).status == Track.Status.HIDDEN
    Track.objects.update(render_status=Track.RenderStatus.FAILED, render_error="boom")
    with (
        mock.patch("catalog.tasks.render_track.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = staff_client.post(
            url, {"action": "rerender", "_selected_action": ids}, follow=True
        )
    assert "2 track(s) queued for rendering." in response.content.decode()
    assert sorted(c.args[0] for c in delay.call_args_list) == sorted(int(i) for i in ids)
    assert Track.objects.filter(render_status=Track.RenderStatus.PENDING).count() == 2


@pytest.mark.django_db
def test_upload_page_is_staff_only(client):
    url = reverse("catalog:staff_upload")
    assert client.get(url).status_code == 302
    client.force_login(UserFactory(username="listener"))
    assert client.get(url).status_code == 302


@pytest.mark.django_db
def test_upload_zip_shows_per_file_report(staff_client):
    here = TrackFactory(
        title="Already Here",
        content_hash=__import__("hashlib").sha256(midi_bytes(seed=5)).hexdigest(),
    )
    archive = zip_bytes(
        {
            "a.mid": midi_bytes(seed=1),
            "b.mid": midi_bytes(seed=5),
            "c.txt": b"hello",
            "d.mid": b"MThd\x00\x00\x00\x06broken-broken",
        }
    )
    with mock.patch("catalog.tasks.render_track.delay"):
        response = staff_client.post(
            reverse("catalog:staff_upload"),
            {
                "file": SimpleUploadedFile("set.zip", archive),
                "collection": "Uploads",
                "artist": "Anon",
                "tags": "Folk, Jig",
                "status": "published",
            },
        )
    assert response.status_code == 200
    body = response.content.decode()
    assert "1 created, 1 duplicates, 2 rejected" in body
    assert "set.zip/b.mid" in body and f"duplicate of #{here.pk} “Already Here”" in body
    assert reverse("admin:catalog_track_change", args=[here.pk]) in body
    assert "set.zip/c.txt" in body and "not a MIDI file" in body
    assert "damaged or truncated" in body
    created = Track.objects.get(collection__name="Uploads")
    assert created.artist.name == "Anon" and created.status == Track.Status.PUBLISHED
    assert sorted(created.tags.values_list("name", flat=True)) == ["folk", "jig"]


@pytest.mark.django_db
def test_oversized_upload_is_refused_while_streaming(staff_client, settings):
    settings.MAX_UPLOAD_BYTES = 10_000
    response = staff_client.post(
        reverse("catalog:staff_upload"),
        {"file": SimpleUploadedFile("big.zip", b"x" * 50_000), "status": "draft"},
    )
    assert response.status_code == 413
    assert "larger than the" in response.content.decode()
    assert Track.objects.count() == 0


@pytest.mark.django_db
def test_one_unsafe_path_in_a_zip_still_shows_every_member(staff_client):
    """A ``../`` member is refused with its reason; the report lists every other member, and
    the good ones are imported."""
    archive = zip_bytes(
        {
            "tunes/a.mid": midi_bytes(seed=1),
            "../../etc/evil.mid": midi_bytes(seed=2),
            "tunes/b.mid": midi_bytes(seed=3),
            "tunes/b-again.mid": midi_bytes(seed=3, tempo=80),  # the same notes as b.mid
            "tunes/readme.txt": b"hello",
            "tunes/.DS_Store": b"\0\0",
        }
    )
    with mock.patch("catalog.tasks.render_track.delay"):
        response = staff_client.post(
            reverse("catalog:staff_upload"),
            {"file": SimpleUploadedFile("set.zip", archive), "status": "published"},
        )
    assert response.status_code == 200
    body = response.content.decode()
    assert "2 created, 1 duplicates, 2 rejected, 1 skipped" in body
    b = Track.objects.get(source="set.zip/tunes/b.mid")
    for name, reason in [
        ("set.zip/tunes/a.mid", "created"),
        ("set.zip/../../etc/evil.mid", "unsafe path inside the archive"),
        ("set.zip/tunes/b-again.mid", f"duplicate of #{b.pk} “B” (the same notes)"),
        ("set.zip/tunes/readme.txt", "not a MIDI file"),
        ("set.zip/tunes/.DS_Store", "skipped: a hidden file or macOS metadata"),
    ]:
        row = body[body.index(name) :]
        row = row[: row.index("</tr>")]
        assert reason in row, (name, row)
    assert sorted(Track.objects.values_list("source", flat=True)) == [
        "set.zip/tunes/a.mid",
        "set.zip/tunes/b.mid",
    ]
