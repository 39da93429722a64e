"""Playlists: create, add, remove, reorder, the automatic "Liked", and privacy."""

from html import unescape

import pytest

from tests.api.conftest import token_client
from tests.factories import RatingFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    return UserFactory(username="owner")


@pytest.fixture
def api(owner):
    return token_client(owner)


def _ids(body):
    return [t["id"] for t in body["tracks"]]


def test_create_add_remove_reorder(api):
    a, b, c = TrackFactory(), TrackFactory(), TrackFactory()
    created = api.post("/api/v1/playlists/", {"name": "Evening"}, format="json")
    assert created.status_code == 201
    pid = created.json()["id"]
    for t in (a, b, c):
        assert api.post(f"/api/v1/playlists/{pid}/items/", {"track": t.pk}).status_code == 201
    first = api.post(f"/api/v1/playlists/{pid}/items/", {"track": TrackFactory().pk, "position": 0})
    d = first.json()["tracks"][0]["id"]
    assert _ids(first.json()) == [d, a.pk, b.pk, c.pk]
    assert api.delete(f"/api/v1/playlists/{pid}/items/{a.pk}/").status_code == 204
    order = api.put(f"/api/v1/playlists/{pid}/order/", {"tracks": [c.pk, d, b.pk]}, format="json")
    assert order.status_code == 200 and _ids(order.json()) == [c.pk, d, b.pk]
    listing = api.get("/api/v1/playlists/").json()
    assert listing["results"][0]["track_count"] == 3


def test_bad_changes_are_clear_400s_and_change_nothing(api):
    a, b = TrackFactory(), TrackFactory()
    pid = api.post("/api/v1/playlists/", {"name": "Mine"}).json()["id"]
    api.post(f"/api/v1/playlists/{pid}/items/", {"track": a.pk})
    dup = api.post(f"/api/v1/playlists/{pid}/items/", {"track": a.pk})
    assert dup.status_code == 400 and "already" in dup.json()["error"]["fields"]["track"][0]
    missing = api.post(f"/api/v1/playlists/{pid}/items/", {"track": 999999})
    assert missing.status_code == 400 and "track" in missing.json()["error"]["fields"]
    bad = api.put(f"/api/v1/playlists/{pid}/order/", {"tracks": [b.pk]}, format="json")
    assert bad.status_code == 400 and "tracks" in bad.json()["error"]["fields"]
    same = api.post("/api/v1/playlists/", {"name": "mine"})
    assert same.status_code == 400 and same.json()["error"]["code"] == "duplicate"
    liked = api.post("/api/v1/playlists/", {"name": "Liked"})
    assert liked.status_code == 400
    assert _ids(api.get(f"/api/v1/playlists/{pid}/").json()) == [a.pk]


def test_liked_playlist_follows_likes(api, owner):
    a, b = TrackFactory(), TrackFactory()
    RatingFactory(user=owner, track=a, liked=True, stars=None)
    RatingFactory(user=owner, track=b, liked=False, stars=5)
    body = api.get("/api/v1/playlists/liked/").json()
    assert body["name"] == "Liked" and _ids(body) == [a.pk]
    assert api.get("/api/v1/playlists/").json()["liked_count"] == 1


def test_another_listeners_playlist_is_unreachable(api):
    intruder = token_client(UserFactory(username="intruder"))
    pid = api.post("/api/v1/playlists/", {"name": "Secret"}).json()["id"]
    t = TrackFactory()
    for method, url, body in [
        ("get", f"/api/v1/playlists/{pid}/", None),
        ("patch", f"/api/v1/playlists/{pid}/", {"name": "Mine now"}),
        ("delete", f"/api/v1/playlists/{pid}/", None),
        ("post", f"/api/v1/playlists/{pid}/items/", {"track": t.pk}),
        ("delete", f"/api/v1/playlists/{pid}/items/{t.pk}/", None),
        ("put", f"/api/v1/playlists/{pid}/order/", {"tracks": []}),
    ]:
        response = getattr(intruder, method)(url, body, format="json")
        assert response.status_code == 404, (method, url)
        assert response.json()["error"]["code"] == "not_found"
    assert intruder.get("/api/v1/playlists/").json()["results"] == []
    assert api.get(f"/api/v1/playlists/{pid}/").json()["name"] == "Secret"


def test_someone_elses_private_piece_cannot_be_added(api):
    private = TrackFactory(owner=UserFactory(username="maker"), origin="generated")
    pid = api.post("/api/v1/playlists/", {"name": "Mine"}).json()["id"]
    response = api.post(f"/api/v1/playlists/{pid}/items/", {"track": private.pk})
    assert response.status_code == 400


def test_playlist_pages_work_as_plain_forms(client, owner):
    a, b = TrackFactory(title="Alpha"), TrackFactory(title="Beta")
    client.force_login(owner)
    created = client.post("/library/playlists/", {"name": "Morning"})
    assert created.status_code == 302
    pid = owner.playlists.get().pk
    track_page = a.get_absolute_url()
    assert b"Add to playlist" in client.get(track_page).content
    for t in (a, b):
        response = client.post(
            "/library/playlists/add/", {"track": t.pk, "playlist": pid, "next": track_page}
        )
        assert response.status_code == 302 and response["Location"] == track_page
    client.post(f"/library/playlists/{pid}/move/", {"track": b.pk, "position": 0})
    html = client.get(f"/library/playlists/{pid}/").content.decode()
    assert html.index("Beta") < html.index("Alpha") and "Play all" in html
    client.post(f"/library/playlists/{pid}/remove/{b.pk}/")
    assert "Beta" not in client.get(f"/library/playlists/{pid}/").content.decode()
    RatingFactory(user=owner, track=b, liked=True, stars=None)
    assert "Beta" in client.get("/library/playlists/liked/").content.decode()
    intruder = UserFactory(username="peeker")
    client.force_login(intruder)
    assert client.get(f"/library/playlists/{pid}/").status_code == 404
    assert client.post(f"/library/playlists/{pid}/delete/").status_code == 404


def test_adding_from_a_track_page_swaps_the_form_in_place_with_what_happened(client, owner):
    a = TrackFactory(title="Alpha")
    client.force_login(owner)
    htmx = {"HTTP_HX_REQUEST": "true"}
    track_page = a.get_absolute_url()

    added = client.post(
        "/library/playlists/add/",
        {"track": a.pk, "new_name": "Walks", "next": track_page},
        **htmx,
    )
    html = unescape(added.content.decode())
    assert added.status_code == 200 and "<form" in html and "<html" not in html
    assert 'hx-swap-oob="innerHTML">' in html and 'Added to "Walks".' in html
    walks = owner.playlists.get(name="Walks")
    assert f'<option value="{walks.pk}" selected>Walks</option>' in html  # the new one, chosen

    again = client.post(
        "/library/playlists/add/", {"track": a.pk, "playlist": walks.pk, "next": track_page}, **htmx
    )
    assert again.status_code == 400
    assert "That piece is already in this playlist." in unescape(again.content.decode())

    # A new playlist is made only if the piece goes in it; the name typed stays in the form.
    failed = client.post(
        "/library/playlists/add/", {"track": 999_999, "new_name": "Ghost", "next": "/"}, **htmx
    )
    html = unescape(failed.content.decode())
    assert failed.status_code == 400 and "No piece with id 999999." in html
    assert 'value="Ghost"' in html
    assert not owner.playlists.filter(name="Ghost").exists()
    assert [i.track_id for i in walks.items.all()] == [a.pk]

    walks_id = walks.pk
    walks.delete()  # in another tab
    gone = client.post(
        "/library/playlists/add/", {"track": a.pk, "playlist": walks_id, "next": "/"}, **htmx
    )
    assert gone.status_code == 400 and "That playlist no longer exists." in gone.content.decode()


def test_adding_without_javascript_goes_back_to_this_site_only(client, owner):
    a = TrackFactory()
    client.force_login(owner)
    failed = client.post("/library/playlists/add/", {"track": 999_999, "new_name": "Ghost"})
    assert failed.status_code == 302 and not owner.playlists.exists()
    for elsewhere in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        response = client.post(
            "/library/playlists/add/", {"track": a.pk, "new_name": "Mine", "next": elsewhere}
        )
        assert response["Location"] == "/", elsewhere
        owner.playlists.all().delete()


def test_deleting_a_playlist_asks_first(client, owner):
    client.force_login(owner)
    client.post("/library/playlists/", {"name": "Morning"})
    pid = owner.playlists.get().pk
    html = unescape(client.get(f"/library/playlists/{pid}/").content.decode())
    assert html.count(f'action="/library/playlists/{pid}/delete/"') == 1
    confirm = html[html.index('<details class="confirm-delete">') : html.index("</details>")]
    assert f'action="/library/playlists/{pid}/delete/"' in confirm  # behind the disclosure
    assert "This cannot be undone" in confirm and 'Yes, delete "Morning"' in confirm
    assert client.post(f"/library/playlists/{pid}/delete/").status_code == 302
    assert not owner.playlists.exists()


def test_playlists_and_liked_pieces_come_in_cursor_pages(api, owner):
    from accounts.models import Playlist

    for i in range(5):
        Playlist.objects.create(owner=owner, name=f"List {i}")
    liked = [TrackFactory() for _ in range(5)]
    for track in liked:
        RatingFactory(user=owner, track=track, liked=True)
    for path, key in (("/api/v1/playlists/", "results"), ("/api/v1/playlists/liked/", "tracks")):
        seen, url = [], f"{path}?page_size=2"
        while url:
            page = api.get(url).json()
            assert len(page[key]) <= 2
            seen += [item["id"] for item in page[key]]
            url = page["next"]
        assert len(seen) == len(set(seen)) == 5, path
    assert api.get("/api/v1/playlists/liked/?page_size=2").json()["track_count"] == 5
    refused = api.get("/api/v1/playlists/", {"page_size": 51, "cursor": "?"})
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"page_size", "cursor"}


def test_ids_no_row_can_have_are_unknown_not_a_crash(api, owner):
    from accounts.models import Playlist

    playlist = Playlist.objects.create(owner=owner, name="Huge")
    gone = api.delete(f"/api/v1/playlists/{playlist.pk}/items/{10**27}/")
    assert gone.status_code == 404
    for pick in (str(10**23), "²"):  # digits beyond any id, a digit that is not ASCII
        refused = api.put("/api/v1/onboarding/", {"composers": [pick]}, format="json")
        assert refused.status_code == 400 and "composers" in refused.json()["error"]["fields"]


def test_a_deleted_playlist_and_a_removed_piece_are_gone(api):
    track = TrackFactory()
    pid = api.post("/api/v1/playlists/", {"name": "Brief"}, format="json").json()["id"]
    api.post(f"/api/v1/playlists/{pid}/items/", {"track": track.pk}, format="json")
    assert api.delete(f"/api/v1/playlists/{pid}/items/{track.pk}/").status_code == 204
    assert api.delete(f"/api/v1/playlists/{pid}/items/{track.pk}/").status_code == 404
    assert api.delete(f"/api/v1/playlists/{pid}/").status_code == 204
    assert api.get(f"/api/v1/playlists/{pid}/").status_code == 404
