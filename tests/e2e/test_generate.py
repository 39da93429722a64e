"""Make me a song, end to end in Chromium: press the button, watch the job's progress, play the
new piece in the site's player (the play is recorded), rate it. A real Celery worker thread runs
the job on the configured broker.

Every wait is on what the listener sees (Playwright's ``expect``) or goes through ``wait_until``:
a failure then reports without a traceback through Playwright's generated API (see
``tests/e2e/conftest.py``).
"""

import re
from pathlib import Path

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

SHIPPED = Path(__file__).resolve().parents[2] / "generator" / "checkpoints" / "demo"

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


def _chorale(path, seed: int):
    """A four-part chorale-like piece (SATB block chords in G major), as a choir would sing it."""
    import random

    import pretty_midi

    rng = random.Random(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=80)
    g_major = [(67, 71, 74, 55), (72, 76, 79, 60), (74, 78, 81, 62), (71, 74, 79, 55)]
    parts = [pretty_midi.Instrument(program=52, name=n) for n in ("S", "A", "T", "B")]
    for beat in range(32):
        chord = rng.choice(g_major)
        for part, pitch in zip(parts, sorted(chord, reverse=True), strict=True):
            start = beat * 0.75
            part.notes.append(pretty_midi.Note(80, pitch, start, start + 0.75))
    pm.instruments.extend(parts)
    pm.key_signature_changes.append(pretty_midi.KeySignature(7, 0))
    pm.write(str(path))
    return path


@pytest.mark.django_db(transaction=True)
def test_three_loved_chorales_make_a_chorale_for_a_choir(
    live_server,
    page,
    celery_worker_real,
    tmp_path,
):
    """With the shipped checkpoint, as a listener gets it: the key the page names is the
    key the model was asked for and keeps to (the key is not a mask any more)."""
    import symusic

    from catalog.models import Collection, Track
    from catalog.services import track_ingest

    services._load.cache_clear()
    services.generator_version_register(name="shipped", artifact_path=str(SHIPPED), activate=True)
    chorales, _ = Collection.objects.get_or_create(name="Bach Chorales")
    tracks = []
    for i in range(3):
        path = _chorale(tmp_path / f"chorale{i}.mid", seed=i)
        track = track_ingest(filename=path.name, data=path.read_bytes(), title=f"Chorale {i}")
        Track.objects.filter(pk=track.pk).update(collection=chorales)
        tracks.append(track)
    user = UserFactory()
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    for track in tracks:  # the listener loves each chorale on its page
        page.goto(f"{live_server.url}{track.get_absolute_url()}")
        page.get_by_role("button", name="5 stars").first.click()
        expect(page.locator("[data-rating-value]").first).to_have_text("5", timeout=STEP_MS)
    assert Rating.objects.filter(user=user, stars=5).count() == 3

    page.goto(f"{live_server.url}/make/")
    page.get_by_role("button", name="Make me a song").click()
    status = page.locator("[data-job-status]")
    expect(status).to_have_attribute("data-job-status", "succeeded", timeout=JOB_DEADLINE_MS)
    job = GenerationJob.objects.get(user=user)
    text = status.inner_text()
    assert "In the style of the Bach chorales you loved" in text
    assert "for four voices" in text

    score = symusic.Score(job.track.midi_file.path)
    programs = [t.program for t in score.tracks if t.note_num()]
    assert len(programs) > 1 and set(programs) == {52}  # several parts, all Choir Aahs
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Choir Aahs")
    key = job.settings["key"]
    assert f"in {key}" in text and key == "G major"
    expect(facts).to_contain_text(key)
    g_major = {7, 9, 11, 0, 2, 4, 6}
    notes = sorted((n.time, n.pitch) for t in score.tracks for n in t.notes)
    assert sum(p % 12 in g_major for _, p in notes) / len(notes) >= 0.9
    assert {p % 12 for t, p in notes if t == notes[-1][0]} <= {7, 11, 2}  # ends on G B D
    tempo = round(score.tempos[0].qpm)
    expect(facts).to_contain_text(f"{tempo} BPM")
