"""Celery settings that keep work from hanging or running twice."""

from musicsite.celery import app

PROJECT_PREFIXES = ("accounts.", "catalog.", "generator.", "musicsite.", "recommender.")


def _project_tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if name.startswith(PROJECT_PREFIXES)}


def test_every_task_has_time_limits_below_the_visibility_timeout(settings):
    tasks = _project_tasks()
    assert "generator.fine_tune" in tasks and "recommender.train_model" in tasks
    visibility = app.conf.broker_transport_options.get("visibility_timeout")
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert visibility == settings.CELERY_VISIBILITY_TIMEOUT_SECONDS
    for name, task in tasks.items():
        assert task.soft_time_limit and task.time_limit, name
        assert task.soft_time_limit < task.time_limit, name
        # Redis hands an unacknowledged message to another worker after the visibility
        # timeout: a task still running then would run twice.
        assert task.time_limit < settings.CELERY_VISIBILITY_TIMEOUT_SECONDS, name


def test_a_killed_worker_gives_generation_and_renders_back_to_the_queue():
    tasks = _project_tasks()
    assert tasks["generator.run_generation_job"].reject_on_worker_lost
    assert tasks["catalog.render_track"].reject_on_worker_lost


def test_the_reapers_run_on_beat_away_from_the_ml_queue(settings):
    entries = {e["task"]: e for e in settings.CELERY_BEAT_SCHEDULE.values()}
    router = app.amqp.router
    for name in ("generator.reap_jobs", "recommender.reap_trainings", "catalog.reap_renders"):
        entry = entries[name]
        assert entry["schedule"] == settings.JOBS_REAP_EVERY_SECONDS
        assert entry["options"]["expires"] <= settings.JOBS_REAP_EVERY_SECONDS * 2
        route = router.route({}, name)
        assert route["queue"].name == "interactive", name
