"""Onboarding: picks stored through the API (and validated), the first feed built from them."""

import pytest

from accounts.models import Profile
from recommender.models import FeedSnapshot
from tests.api.conftest import token_client
from tests.factories import UserFactory
from tests.recommender import conftest as recommender_fixtures
from tests.recommender.feed import conftest as feed_fixtures


def _needs_onboarding(user) -> bool:
    return not Profile.objects.filter(user=user, onboarded_at__isnull=False).exists()


pytestmark = pytest.mark.django_db
catalog = recommender_fixtures.catalog
_fresh_feed_caches = feed_fixtures._fresh_feed_caches


def test_choices_then_picks_shape_the_first_feed(catalog):
    user = UserFactory()
    api = token_client(user)
    state = api.get("/api/v1/onboarding/").json()
    assert state["onboarded"] is False and _needs_onboarding(user)
    slugs = {c["slug"] for c in state["choices"]["collections"]}
    assert {"bach-chorales", "irish-folk"} <= slugs
    done = api.put(
        "/api/v1/onboarding/",
        {"collections": ["irish-folk"], "tempo_ranges": ["fast"]},
        format="json",
    )
    assert done.status_code == 200 and done.json()["onboarded"] is True
    assert not _needs_onboarding(user)
    feed = api.get("/api/v1/feed/?page_size=6").json()["results"]
    chosen = [r for r in feed if r["reason"]["text"] == "Because you chose Irish folk"]
    assert len(chosen) >= 3
    assert sum(r["track"]["collection"]["slug"] == "irish-folk" for r in feed) >= 4


@pytest.mark.parametrize(
    "body, field",
    [
        ({"collections": ["no-such-thing"]}, "collections"),
        ({"composers": ["nobody"]}, "composers"),
        ({"tempo_ranges": ["glacial"]}, "tempo_ranges"),
        ({"collections": "irish-folk"}, "collections"),
        ({}, "non_field_errors"),
    ],
)
def test_bad_picks_are_rejected_and_nothing_is_stored(catalog, body, field):
    user = UserFactory()
    response = token_client(user).put("/api/v1/onboarding/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    if field == "non_field_errors":
        assert "at least one" in error["message"]
    else:
        assert any(name.split(".")[0] == field for name in error["fields"])
    assert not Profile.objects.filter(user=user, onboarded_at__isnull=False).exists()


def test_skip_marks_onboarding_done(catalog):
    user = UserFactory()
    api = token_client(user)
    assert api.post("/api/v1/onboarding/skip/").json()["onboarded"] is True
    assert not _needs_onboarding(user)
    assert len(api.get("/api/v1/feed/").json()["results"]) > 0


def test_new_picks_make_the_feed_stale_through_the_hub_after_commit(
    catalog, django_capture_on_commit_callbacks
):
    user = UserFactory()
    api = token_client(user)
    assert api.get("/api/v1/feed/").status_code == 200
    assert FeedSnapshot.objects.get(user=user).stale is False
    with django_capture_on_commit_callbacks(execute=False) as pending:
        api.put("/api/v1/onboarding/", {"collections": ["irish-folk"]}, format="json")
    assert FeedSnapshot.objects.get(user=user).stale is False  # not before the commit
    for callback in pending:
        callback()
    assert FeedSnapshot.objects.get(user=user).stale is True
