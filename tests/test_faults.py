"""Fault tests: a real worker process (``celery -A musicsite worker``, as the Procfile starts it)
and beat against the real broker and PostgreSQL. A generation's pool process is killed mid-job,
then a whole worker; a training's pool process is killed mid-run. Each row ends as the README
promises within the bound (scaled down here: silent 3 s counts as dead, reaper every 1 s),
and the next job runs. The broker down at submit is in tests/generator/test_stuck_jobs.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection, transaction
from django.utils import timezone

from generator import services as generator_services
from generator.models import GenerationJob
from musicsite.celery import app
from recommender.models import FeedbackCounter, ListenEvent, RunStatus, TrainingRun
from recommender.training import services as training_services
from tests.conftest import REQUIRE_SERVICES
from tests.factories import TrackFactory, UserFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

STALE_S, HEARTBEAT_S, REAP_S = 3.0, 0.5, 1.0
QUEUES = ("ml", "default", "interactive")
# As the Procfile's workers, with one pool process (the one killed).
WORKER_OPTIONS = ("-c", "1", "-P", "prefork", "-n", "{name}@%h", "--without-gossip")
WORKER_OPTIONS += ("--without-mingle", "--without-heartbeat")
Job = GenerationJob.Status


def _until(check: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> float:
    """Poll ``check`` until it holds; the seconds it took. Fails with the worker's log."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    tail = log.read_text()[-4000:] if log and log.exists() else ""
    pytest.fail(f"{what} not within {timeout:.0f} s\n{tail}")


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _require_services() -> None:
    """PostgreSQL (the worker process must see the test database) and Redis, or skip/fail."""
    broker = app.conf.broker_url or ""
    problem = None
    if connection.vendor != "postgresql":
        problem = "the fault tests need DATABASE_URL on PostgreSQL"
    elif not broker.startswith("redis://"):
        problem = "the fault tests need CELERY_BROKER_URL on Redis"
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(problem)
        pytest.skip(problem)
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
        for queue in QUEUES:  # messages other tests left behind
            conn.default_channel.queue_purge(queue)


# Python, made to receive SIGKILL when this test process dies (Linux's parent-death signal,
# kept across exec), then running its arguments: a run killed mid-test (Ctrl-C twice, a
# timeout) leaves no worker behind to take the next runs' messages from the shared broker.
DIES_WITH_PYTEST = [
    sys.executable,
    "-c",
    "import ctypes, os, signal, sys; ctypes.CDLL(None).prctl(1, signal.SIGKILL);"
    " os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
]


class Celery:
    """One ``celery`` process (worker or beat) in its own process group, gone with pytest."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [*DIES_WITH_PYTEST, "-m", "celery", "-A", "musicsite", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, text: str = "ready.") -> None:
        _until(lambda: text in self.log.read_text(), 90, f"celery {text!r}", self.log)

    def pool_children(self) -> list[int]:
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                children.append(int(stat.parent.name))
        return children

    def kill_pool_child(self) -> None:
        (child,) = self.pool_children()
        os.kill(child, signal.SIGKILL)

    def kill_all(self) -> None:
        """SIGKILL the worker and its pool at once (what honcho does after 5 s of Ctrl-C)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill_all()


class Cluster:
    """The project's beat and one worker (one pool process on every queue), as separate
    processes on this session's test database and broker, with the bounds scaled down."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "musicsite.test_settings",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": app.conf.broker_url,
            "JOBS_STALE_SECONDS": str(STALE_S),
            "JOBS_HEARTBEAT_SECONDS": str(HEARTBEAT_S),
            "JOBS_REAP_EVERY_SECONDS": str(REAP_S),
            "VAR_DIR": str(folder / "var"),
            "TMPDIR": str(folder),  # the test settings' media and model folders
            "OPENBLAS_NUM_THREADS": "1",
        }
        self.beat = self._start(["beat", "-s", str(folder / "beat-schedule")])
        self.worker = self.start_worker(wait=False)
        self.beat.wait_ready("beat: Starting")
        self.worker.wait_ready()

    def _start(self, args: list[str]) -> Celery:
        name = f"faults-{uuid.uuid4().hex[:8]}"
        args = [a.replace("{name}", name) for a in args]
        return Celery([*args, "-l", "INFO"], self.env, self.folder / f"{name}.log")

    def start_worker(self, *, wait: bool = True) -> Celery:
        self.worker = self._start(["worker", "-Q", ",".join(QUEUES), *WORKER_OPTIONS])
        if wait:
            self.worker.wait_ready()
        return self.worker


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Cluster]:
    with django_db_blocker.unblock():
        _require_services()
    cluster = Cluster(tmp_path_factory.mktemp("faults"))
    try:
        yield cluster
    finally:
        cluster.worker.stop()
        cluster.beat.stop()
        with app.connection_for_write() as conn:  # what the killed workers never acknowledged
            conn.default_channel.client.delete("unacked", "unacked_index")


def _song(user, log: Path) -> GenerationJob:
    """A one-minute song (a few seconds of sampling), running."""
    job = generator_services.generation_job_create(user=user, seconds=60)
    _until(
        lambda: GenerationJob.objects.filter(pk=job.pk, progress__gte=5).exists(),
        90,
        "the worker sampling the song",
        log,
    )
    return job


def _ends(job: GenerationJob, log: Path) -> float:
    took = _until(
        lambda: GenerationJob.objects.get(pk=job.pk).is_finished, 180, "the job ending", log
    )
    job.refresh_from_db()
    return took


def test_a_killed_generation_is_run_again_and_the_next_job_runs(cluster):
    user = UserFactory()
    worker = cluster.worker

    job = _song(user, worker.log)
    worker.kill_pool_child()
    took = _ends(job, worker.log)
    # Redelivered at once; claimed again once the dead run's heartbeat is STALE_S old.
    assert job.status == Job.SUCCEEDED and job.attempts == 2, job.error
    assert job.track is not None and job.track.audio_file
    print(f"pool process killed: the job succeeded {took:.1f} s later")

    job = _song(user, worker.log)
    worker.kill_all()
    job.refresh_from_db()
    assert job.status == Job.RUNNING  # nothing left alive to say otherwise
    worker = cluster.start_worker()
    took = _ends(job, worker.log)
    # Its message is held by Redis (visibility timeout); the reaper queued it again.
    assert job.status == Job.SUCCEEDED and job.attempts == 2, job.error
    print(f"whole worker killed: the job succeeded {took:.1f} s after a new worker was up")

    following = generator_services.generation_job_create(user=user, seconds=15)
    _ends(following, worker.log)
    assert following.status == Job.SUCCEEDED and following.attempts == 1
    assert user.private_tracks.count() == 3  # nothing half-made left behind


def _listening_log() -> None:
    tracks = [TrackFactory(title=f"Piece {i}") for i in range(12)]
    start = timezone.now() - timedelta(days=1)
    events = []
    for u in range(12):
        user = UserFactory()
        for step in range(6):
            events.append(
                ListenEvent(
                    user=user,
                    track=tracks[(u % 2 + 2 * step) % len(tracks)],
                    client_event_id=uuid.uuid4(),
                    context="feed",
                    started_at=start + timedelta(minutes=10 * step + u),
                    position_ms=90_000,
                    played_ms=90_000,
                    duration_ms=90_000,
                    counted=True,
                    completed=True,
                )
            )
    ListenEvent.objects.bulk_create(events)


def test_a_killed_training_is_failed_and_the_next_training_runs(cluster):
    _listening_log()
    FeedbackCounter.objects.create(kind="mf", slot=0, count=3)
    worker = cluster.worker

    # Hold the feedback counter, which a training takes as it starts: the worker is then
    # stopped mid-run for as long as the test needs.
    locked, release = threading.Event(), threading.Event()

    def hold_counter() -> None:
        try:
            with transaction.atomic():
                list(FeedbackCounter.objects.select_for_update().filter(kind="mf"))
                locked.set()
                release.wait(120)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_counter)
    holder.start()
    try:
        assert locked.wait(30)
        run = training_services.training_request(kind="als")
        _until(
            lambda: TrainingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).exists(),
            60,
            "the training starting",
            worker.log,
        )
        worker.kill_pool_child()
    finally:
        release.set()
        holder.join()
    took = _until(
        lambda: TrainingRun.objects.get(pk=run.pk).status != RunStatus.RUNNING,
        STALE_S + REAP_S + 30,
        "the killed training ending",
        worker.log,
    )
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "stopped" in run.error, run.error
    print(f"pool process killed: the training was failed {took:.1f} s later: {run.error}")

    following = training_services.training_request(kind="als")
    assert following.pk != run.pk
    _until(
        lambda: not TrainingRun.objects.get(pk=following.pk).is_open,
        120,
        "the next training ending",
        worker.log,
    )
    following.refresh_from_db()
    assert following.status == RunStatus.SUCCEEDED, following.error
