"""Make me a song, end to end in Chromium: press the button, watch the job's progress, play the
new piece in the site's player (the play is recorded), rate it. A real Celery worker thread runs
the job on the configured broker.
"""

import pytest
from django.conf import settings
from django.test import Client

from generator import services
from generator.models import GenerationJob
from recommender.models import ListenEvent, Rating
from tests.factories import UserFactory
from tests.generator.conftest import midi_dir, tiny_checkpoint  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.mark.django_db(transaction=True)
def test_make_me_a_song(live_server, page, tiny_checkpoint, celery_worker_real):  # noqa: F811
    services._load.cache_clear()
    services.generator_version_register(
        name="tiny", artifact_path=str(tiny_checkpoint), activate=True
    )
    user = UserFactory()
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])

    page.goto(f"{live_server.url}/make/")
    page.select_option("select[name=seconds]", "60")
    page.get_by_role("button", name="Make me a song").click()

    page.wait_for_url("**/make/jobs/*/")
    seen = set()
    for _ in range(120):
        seen.add(page.locator("[data-job-status]").get_attribute("data-job-status"))
        if "succeeded" in seen or "failed" in seen:
            break
        page.wait_for_timeout(250)
    job = GenerationJob.objects.get(user=user)
    assert "succeeded" in seen, (seen, job.error)
    assert seen & {"queued", "running"}, "the page showed the job before it was done"

    # The site's own player, swapped in with the finished job: its play is recorded.
    page.get_by_role("button", name="Play").click()
    page.wait_for_function(
        "() => document.querySelector('[data-player-audio]').currentTime > 0.2", timeout=15_000
    )
    page.wait_for_function("window.musicsiteListening.pending().length === 0")
    listen = ListenEvent.objects.get(user=user, track=job.track)
    assert listen.context == "generated"

    page.get_by_role("button", name="4 stars").click()
    page.wait_for_selector("[data-rating-value]")
    rating = Rating.objects.get(user=user, track=job.track)
    assert rating.stars == 4
    assert job.track.owner == user
