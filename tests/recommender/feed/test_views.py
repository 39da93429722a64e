"""The feed page (home for listeners), onboarding page, radio page, similar pieces on a track."""

import re

import pytest
from django.urls import reverse

from accounts.library.onboarding import onboarding_complete
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener_client(client):
    user = UserFactory(username="newbie")
    client.force_login(user)
    client.user = user
    return client


def test_new_listener_is_sent_to_onboarding_then_sees_a_feed_from_their_picks(
    listener_client, catalog
):
    response = listener_client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("library:onboarding")
    page = listener_client.get(reverse("library:onboarding"))
    assert b"Bach chorales" in page.content and b"Irish folk" in page.content
    done = listener_client.post(reverse("library:onboarding"), {"collections": ["irish-folk"]})
    assert done.status_code == 302
    feed = listener_client.get("/")
    html = feed.content.decode()
    assert feed.status_code == 200
    assert html.count("Because you chose Irish folk") >= 4
    assert 'hx-trigger="revealed"' in html and "Next page" in html


def test_onboarding_with_no_pick_says_so(listener_client, catalog):
    response = listener_client.post(reverse("library:onboarding"), {})
    assert response.status_code == 400
    assert b"Pick at least one" in response.content


def test_next_page_link_works_without_javascript_and_htmx_gets_a_fragment(listener_client, catalog):
    onboarding_complete(
        user=listener_client.user, collections=[], composers=[], tags=[], tempo_ranges=["slow"]
    )
    html = listener_client.get(reverse("feed:feed")).content.decode()
    next_url = re.search(r'href="(/feed/\?cursor=[^"]+)"', html).group(1).replace("&amp;", "&")
    first_ids = set(re.findall(r'data-feed-item data-track-id="(\d+)"', html))
    full = listener_client.get(next_url)
    assert b"<html" in full.content
    second_ids = set(re.findall(r'data-feed-item data-track-id="(\d+)"', full.content.decode()))
    assert second_ids and not first_ids & second_ids
    fragment = listener_client.get(next_url, HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content and b"data-feed-item" in fragment.content


def test_feed_page_uses_few_queries(listener_client, catalog, django_assert_max_num_queries):
    onboarding_complete(
        user=listener_client.user,
        collections=["bach-chorales"],
        composers=[],
        tags=[],
        tempo_ranges=[],
    )
    listener_client.get(reverse("feed:feed"))  # builds the snapshot
    # session, user, profile check, snapshot, generated-since check, tracks, tags, ratings,
    # impressions upsert: a constant number whatever the page size.
    with django_assert_max_num_queries(10):
        response = listener_client.get(reverse("feed:feed"))
    assert response.content.count(b"data-feed-item ") == 12


@pytest.mark.parametrize("cursor", ["garbage!", "MDowOjk5OTk5OTk5OTk5OTk5"])
def test_bad_cursor_is_a_clear_400(listener_client, catalog, cursor):
    response = listener_client.get(reverse("feed:feed") + f"?cursor={cursor}")
    assert response.status_code == 400


def test_anonymous_home_is_the_landing_page(client, catalog):
    assert client.get("/").status_code == 200
    assert client.get(reverse("feed:feed")).status_code == 302


def test_track_page_shows_similar_pieces_and_radio(listener_client, catalog):
    chorale = catalog["chorales"][0]
    html = listener_client.get(chorale.get_absolute_url()).content.decode()
    assert "Similar pieces" in html
    similar = re.search(r"data-similar>(.*?)</section>", html, re.S).group(1)
    assert similar.count("Chorale") >= 4
    assert reverse("feed:radio", args=[chorale.pk]) in html
    radio = listener_client.get(reverse("feed:radio", args=[chorale.pk])).content.decode()
    assert "Play radio" in radio and radio.count("data-radio-item") == 15
    assert "queue=" in radio and "context=radio" in radio
