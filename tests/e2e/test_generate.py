"""Make me a song, end to end in Chromium: press the button, watch the job's progress, play the
new piece in the site's player (the play is recorded), rate it. A real Celery worker thread runs
the job on the configured broker.

Every wait is on what the listener sees (Playwright's ``expect``) or goes through ``wait_until``:
a failure then reports without a traceback through Playwright's generated API (see
``tests/e2e/conftest.py``).
"""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from generator import services
from generator.models import GenerationJob
from generator.tasks import run_generation_job
from recommender.models import ListenEvent, Rating
from tests.e2e.conftest import STEP_MS, wait_until
from tests.factories import UserFactory
from tests.generator.conftest import midi_dir, tiny_checkpoint  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The longest the page may show the job unfinished: the task's hard time limit, then the page's
# next poll (every second). A 60 s piece takes about 3 s on an idle machine.
JOB_DEADLINE_MS = (run_generation_job.time_limit + 5) * 1000


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

    expect(page).to_have_url(re.compile(r"/make/jobs/\d+/$"), timeout=STEP_MS)
    status = page.locator("[data-job-status]")
    # The page shows the job before it is done, then its end, swapped in by its poll.
    expect(status).to_have_attribute(
        "data-job-status", re.compile(r"^(queued|running)$"), timeout=STEP_MS
    )
    expect(status).to_have_attribute(
        "data-job-status", re.compile(r"^(succeeded|failed|cancelled)$"), timeout=JOB_DEADLINE_MS
    )
    job = GenerationJob.objects.get(user=user)
    assert job.status == GenerationJob.Status.SUCCEEDED, job.error
    expect(status).to_have_attribute("data-job-status", "succeeded")

    # The site's own player, swapped in with the finished job: its play is recorded.
    play = page.get_by_role("button", name="Play")
    expect(play).to_be_visible(timeout=STEP_MS)
    play.click()
    wait_until(
        page,
        "() => document.querySelector('[data-player-audio]').currentTime > 0.2",
        what="the piece to play",
    )
    wait_until(
        page, "() => window.musicsiteListening.pending().length === 0", what="the play reported"
    )
    listen = ListenEvent.objects.get(user=user, track=job.track)
    assert listen.context == "generated"

    stars = page.get_by_role("button", name="4 stars")
    expect(stars).to_be_visible(timeout=STEP_MS)
    stars.click()
    expect(page.locator("[data-rating-value]")).to_be_visible(timeout=STEP_MS)
    rating = Rating.objects.get(user=user, track=job.track)
    assert rating.stars == 4
    assert job.track.owner == user
