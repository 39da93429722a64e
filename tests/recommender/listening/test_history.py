"""The history page and API: recently played, liked, rated; delete a listen; pause history."""

import pytest
from django.urls import reverse

from recommender.models import ListenEvent, ListeningSettings
from tests.factories import ListenEventFactory, RatingFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_history_page_shows_plays_skips_likes_and_ratings(client, listener):
    played = ListenEventFactory(user=listener, track=TrackFactory(title="Goldberg Aria"))
    ListenEventFactory(
        user=listener,
        track=TrackFactory(title="Skipped Gigue"),
        played_ms=3_000,
        counted=False,
        skipped=True,
    )
    RatingFactory(user=listener, track=TrackFactory(title="Loved Chorale"), stars=None, liked=True)
    RatingFactory(user=listener, track=TrackFactory(title="Rated Fugue"), stars=5)
    ListenEventFactory(user=UserFactory(username="bob"), track=TrackFactory(title="Bob's Song"))
    client.force_login(listener)
    html = client.get(reverse("listening:history")).content.decode()
    for title in ("Goldberg Aria", "Skipped Gigue", "Loved Chorale", "Rated Fugue"):
        assert title in html
    assert "Bob&#x27;s Song" not in html and "Bob's Song" not in html
    assert 'data-outcome="played"' in html and 'data-outcome="skipped"' in html
    assert reverse("listening:listen_delete", args=[played.pk]) in html


def test_history_page_needs_a_login(client):
    response = client.get(reverse("listening:history"))
    assert response.status_code == 302 and "login" in response.url


def test_history_page_query_count_does_not_grow_with_rows(
    client, listener, django_assert_max_num_queries
):
    for _ in range(30):
        ListenEventFactory(user=listener)
        RatingFactory(user=listener, track=TrackFactory(), liked=True)
    client.force_login(listener)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("listening:history")).status_code == 200


def test_delete_a_listen_plain_and_htmx(client, listener):
    first, second = ListenEventFactory(user=listener), ListenEventFactory(user=listener)
    client.force_login(listener)
    response = client.post(reverse("listening:listen_delete", args=[first.pk]))
    assert response.status_code == 302
    response = client.post(
        reverse("listening:listen_delete", args=[second.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and response.content == b""
    assert not ListenEvent.objects.exists()


def test_nobody_deletes_another_listeners_events(client, listener):
    theirs = ListenEventFactory(user=UserFactory(username="bob"))
    client.force_login(listener)
    client.post(reverse("listening:listen_delete", args=[theirs.pk]))
    assert (
        client.post(
            reverse("listening:listen_delete", args=[theirs.pk]), HTTP_HX_REQUEST="true"
        ).status_code
        == 404
    )
    assert ListenEvent.objects.filter(pk=theirs.pk).exists()


def test_pause_and_resume_from_the_page(client, listener):
    client.force_login(listener)
    url = reverse("listening:history_pause")
    client.post(url, {"paused": "1"})
    assert ListeningSettings.objects.get(user=listener).history_paused
    assert "History is paused" in client.get(reverse("listening:history")).content.decode()
    response = client.post(url, {"paused": "0"}, HTTP_HX_REQUEST="true")
    assert 'data-history-state="recording"' in response.content.decode()
    assert "<html" not in response.content.decode()
    assert not ListeningSettings.objects.get(user=listener).history_paused


def test_history_api_is_a_cursor_stream_and_private(api, listener):
    listens = [ListenEventFactory(user=listener) for _ in range(30)]
    ListenEventFactory(user=UserFactory(username="bob"))
    body = api.get("/api/v1/me/history/").json()
    assert len(body["results"]) == 20 and body["next"]  # the API's default page size
    first = body["results"][0]
    assert {"track", "track_title", "played_ms", "counted", "skipped", "outcome"} <= set(first)
    assert first["piece"]["id"] == first["track"] and "audio_url" in first["piece"]
    seen = [r["id"] for r in body["results"]]
    ListenEventFactory(user=listener)  # a new listen arrives: the next page does not shift
    rest = api.get(body["next"]).json()
    seen += [r["id"] for r in rest["results"]]
    assert rest["next"] is None and sorted(seen) == sorted(e.pk for e in listens)
    assert api.get("/api/v1/me/history/?cursor=nope").status_code == 400


def test_history_api_delete_and_pause(api, listener):
    listen = ListenEventFactory(user=listener)
    assert api.delete(f"/api/v1/me/history/{listen.pk}/").status_code == 204
    assert api.delete(f"/api/v1/me/history/{listen.pk}/").status_code == 404
    assert api.put("/api/v1/me/history/settings/", {"paused": True}, format="json").json() == {
        "paused": True
    }
    assert api.get("/api/v1/me/history/settings/").json() == {"paused": True}
