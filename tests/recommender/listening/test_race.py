"""A retried listen report racing its original, on real PostgreSQL: acknowledged once as
``created``, once as a duplicate, and its feedback counted once.

Both requests read the stored listens before either writes (a barrier holds each one after its
first read), which is the race a retry sent while the original is still in flight runs.
"""

import threading

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from recommender.listening import hub, selectors, services
from recommender.models import ListenEvent
from tests.conftest import REQUIRE_SERVICES
from tests.factories import TrackFactory, UserFactory

URL = "/api/v1/listens/"


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but the database is not PostgreSQL")
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def _both_read_first(monkeypatch, parties: int) -> None:
    """Each thread's first read of the stored listens waits until every thread has read."""
    barrier = threading.Barrier(parties, timeout=20)
    first = threading.local()
    read = selectors.listens_existing

    def listens_existing(**kwargs):
        found = read(**kwargs)
        if not getattr(first, "done", False):
            first.done = True
            barrier.wait()
        return found

    monkeypatch.setattr(services, "listens_existing", listens_existing)


def _post_together(user, bodies: list[dict]) -> list[dict]:
    answers: list[dict] = [{} for _ in bodies]
    errors: list[BaseException] = []

    def post(i: int) -> None:
        try:
            client = APIClient()
            client.force_authenticate(user)
            response = client.post(URL, bodies[i], format="json")
            assert response.status_code == 200, response.content
            answers[i] = response.json()
        except BaseException as exc:  # reported by the test thread below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return answers


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_retry_racing_its_original_is_created_once_and_counted_once(
    postgresql, monkeypatch, make_report
):
    ada = UserFactory(username="ada")
    piece = TrackFactory(duration_seconds=120.0)
    signals: list[hub.Feedback] = []
    hook = signals.extend
    hub.subscribe(hook)
    before = hub.feedback_counts(["mf"])["mf"]
    done = make_report(piece, type="complete", position_ms=120_000, played_ms=119_000)
    _both_read_first(monkeypatch, parties=2)
    try:
        answers = _post_together(ada, [done, dict(done)])
    finally:
        hub.unsubscribe(hook)

    statuses = sorted(answer["results"][0]["status"] for answer in answers)
    assert statuses == ["created", "duplicate"]
    assert all(answer["results"][0]["counted"] for answer in answers)
    assert sorted(s.kind for s in signals) == ["complete", "play"]
    assert hub.feedback_counts(["mf"])["mf"] - before == 2  # one play and one completion
    assert ListenEvent.objects.filter(user=ada).count() == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_racing_reports_of_one_listen_each_count_what_they_add(
    postgresql, monkeypatch, make_report
):
    """A progress report past the play threshold and the completion race: one play, one
    completion, whichever wins; the listen ends merged."""
    ada = UserFactory(username="ada")
    piece = TrackFactory(duration_seconds=120.0)
    signals: list[hub.Feedback] = []
    hook = signals.extend
    hub.subscribe(hook)
    start = make_report(piece)
    progress = {**start, "type": "progress", "position_ms": 70_000, "played_ms": 70_000}
    done = {**start, "type": "complete", "position_ms": 120_000, "played_ms": 119_000}
    _both_read_first(monkeypatch, parties=2)
    try:
        answers = _post_together(ada, [progress, done])
    finally:
        hub.unsubscribe(hook)

    statuses = sorted(answer["results"][0]["status"] for answer in answers)
    assert statuses[0] == "created" and statuses[1] in {"updated", "duplicate"}
    assert sorted(s.kind for s in signals) == ["complete", "play"]
    assert hub.feedback_counts(["mf"])["mf"] == 2
    listen = ListenEvent.objects.get(user=ada)
    assert (listen.played_ms, listen.counted, listen.completed) == (119_000, True, True)


@pytest.mark.django_db
def test_a_report_read_before_its_original_was_stored_is_a_duplicate(monkeypatch, make_report):
    """The same race on any database, in one thread: the retry's first read is from before the
    original's write (it sees no listen); the write finds the listen and reads it again."""
    ada = UserFactory(username="ada")
    piece = TrackFactory(duration_seconds=120.0)
    done = make_report(piece, type="complete", position_ms=120_000, played_ms=119_000)
    client = APIClient()
    client.force_authenticate(ada)
    first = client.post(URL, done, format="json").json()
    assert first["results"][0]["status"] == "created"
    counted = hub.feedback_counts(["mf"])["mf"]
    signals: list[hub.Feedback] = []
    hook = signals.extend
    hub.subscribe(hook)
    reads: list[dict] = []
    read = selectors.listens_existing

    def listens_existing(**kwargs):  # the first read sees no listen; later reads are real
        reads.append(kwargs)
        return {} if len(reads) == 1 else read(**kwargs)

    monkeypatch.setattr(services, "listens_existing", listens_existing)
    try:
        again = client.post(URL, done, format="json").json()
    finally:
        hub.unsubscribe(hook)

    assert again["results"][0]["status"] == "duplicate"
    assert (again["created"], again["duplicate"]) == (0, 1)
    assert signals == [] and hub.feedback_counts(["mf"])["mf"] == counted
    assert ListenEvent.objects.filter(user=ada).count() == 1
