"""A real worker consumes from the configured broker (Redis under CI) and writes to the database."""

import time

import pytest
from django.contrib.auth import get_user_model

from musicsite.celery import app


@app.task(name="tests.create_user")
def create_user(username: str) -> None:
    get_user_model().objects.create(username=username)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_queued_task(celery_worker_real):
    create_user.delay("queued-through-the-broker")
    for _ in range(100):
        if get_user_model().objects.filter(username="queued-through-the-broker").exists():
            break
        time.sleep(0.1)
    assert get_user_model().objects.filter(username="queued-through-the-broker").exists()
