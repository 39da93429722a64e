"""Ratings, likes and "not interested": the service, the API and the page controls."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from recommender.listening.services import rating_set
from recommender.models import Rating
from tests.factories import RatingFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def hidden_track_ids_for(user) -> set[int]:
    """The pieces ``user`` marked "not interested" (the feed and radio leave them out)."""
    return set(
        Rating.objects.filter(user=user, not_interested=True).values_list("track_id", flat=True)
    )


def api_url(track) -> str:
    return f"/api/v1/ratings/{track.pk}/"


def test_stars_can_be_changed_and_removed(listener, track):
    rating_set(user=listener, track=track, stars=3)
    rating_set(user=listener, track=track, stars=5)
    assert Rating.objects.get().stars == 5
    rating_set(user=listener, track=track, stars=None)
    assert not Rating.objects.exists()  # nothing left to remember


@pytest.mark.parametrize("stars", [0, 6, -1, "4", 2.5, True])
def test_stars_outside_1_to_5_are_refused(listener, track, stars):
    with pytest.raises(ValueError, match="1 to 5"):
        rating_set(user=listener, track=track, stars=stars)
    assert not Rating.objects.exists()


def test_not_interested_hides_the_piece_from_that_listener_only(listener, track):
    rating_set(user=listener, track=track, not_interested=True)
    assert hidden_track_ids_for(listener) == {track.pk}
    assert hidden_track_ids_for(UserFactory(username="bob")) == set()
    rating_set(user=listener, track=track, not_interested=False)
    assert hidden_track_ids_for(listener) == set()


def test_put_sets_only_the_fields_sent(api, track):
    assert api.put(api_url(track), {"stars": 4}, format="json").json()["stars"] == 4
    body = api.put(api_url(track), {"liked": True}, format="json").json()
    assert body == {"track": track.pk, "stars": 4, "liked": True, "not_interested": False}
    body = api.put(api_url(track), {"stars": None}, format="json").json()
    assert (body["stars"], body["liked"]) == (None, True)
    assert api.get(api_url(track)).json()["liked"] is True


@pytest.mark.parametrize("body_format", ["json", "multipart"])
def test_a_field_left_out_is_kept_in_a_form_body_too(api, track, body_format):
    api.put(api_url(track), {"liked": True, "not_interested": False}, format=body_format)
    body = api.put(api_url(track), {"stars": 3}, format=body_format).json()
    assert (body["stars"], body["liked"]) == (3, True)  # a form used to clear the like


def test_pausing_history_needs_paused_in_a_form_body_too(api):
    refused = api.put("/api/v1/me/history/settings/", {}, format="multipart")
    assert refused.status_code == 400 and "paused" in refused.json()["error"]["fields"]


def test_delete_removes_stars_like_and_not_interested(api, listener, track):
    RatingFactory(user=listener, track=track, stars=2, liked=True, not_interested=True)
    assert api.delete(api_url(track)).status_code == 204
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"stars": 6}, "stars"), ({"stars": 0}, "stars"), ({"stars": "many"}, "stars"), ({}, None)],
)
def test_bad_ratings_get_a_400_naming_the_field(api, track, body, field):
    response = api.put(api_url(track), body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    if field:
        assert field in error["fields"]
    else:
        assert "at least one of stars, liked, not_interested" in error["message"]
    assert not Rating.objects.exists()


def test_hidden_and_other_listeners_private_pieces_cannot_be_rated(api):
    hidden = TrackFactory(status="hidden")
    private = TrackFactory(owner=UserFactory(username="bob"))
    for piece in (hidden, private):
        assert api.put(api_url(piece), {"stars": 5}, format="json").status_code == 404
    assert api.put("/api/v1/ratings/999999/", {"stars": 5}, format="json").status_code == 404
    assert not Rating.objects.exists()


def test_anonymous_clients_cannot_rate(track):
    response = APIClient().put(api_url(track), {"stars": 5}, format="json")
    assert response.status_code in (401, 403)


# --- the page controls: htmx partial swaps and plain form posts ---


def test_plain_post_rates_and_redirects_back(client, listener, track):
    client.force_login(listener)
    back = reverse("catalog:track_detail", args=[track.pk])
    response = client.post(reverse("listening:rate", args=[track.pk]), {"stars": "4", "next": back})
    assert response.status_code == 302
    assert response.url == back
    assert Rating.objects.get(user=listener, track=track).stars == 4


def test_plain_post_refuses_a_redirect_to_another_site(client, listener, track):
    client.force_login(listener)
    response = client.post(
        reverse("listening:rate", args=[track.pk]), {"liked": "1", "next": "https://evil.test/"}
    )
    assert response.url == track.get_absolute_url()


def test_htmx_post_answers_with_the_updated_controls(client, listener, track):
    client.force_login(listener)
    url = reverse("listening:rate", args=[track.pk])
    response = client.post(url, {"liked": "1"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="rating-controls-{track.pk}"' in html
    assert "♥ Liked" in html
    assert "<html" not in html  # a fragment, not a page
    response = client.post(url, {"stars": "5"}, HTTP_HX_REQUEST="true")
    assert "data-rating-value>5<" in response.content.decode()
    rating = Rating.objects.get()
    assert (rating.stars, rating.liked) == (5, True)


def test_htmx_post_with_bad_stars_shows_the_reason(client, listener, track):
    client.force_login(listener)
    response = client.post(
        reverse("listening:rate", args=[track.pk]), {"stars": "9"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "form-error" in response.content.decode()
    assert not Rating.objects.exists()


def test_not_interested_toggle_from_the_page(client, listener, track):
    client.force_login(listener)
    url = reverse("listening:rate", args=[track.pk])
    client.post(url, {"not_interested": "1"})
    assert hidden_track_ids_for(listener) == {track.pk}
    client.post(url, {"not_interested": "0"})
    assert hidden_track_ids_for(listener) == set()


def test_the_controls_render_for_visitors_as_a_login_link(client, track):
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/tracks/1/")
    request.user = AnonymousUser()
    html = render_to_string("includes/rating_controls.html", {"track": track}, request=request)
    assert "Log in" in html and "<form" not in html
