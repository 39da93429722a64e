"""The real worker's thread writes while the test's connection reads the same table.

On SQLite's in-memory test database each connection's read holds a table lock that fails
another connection's write at once ("database table is locked"), as a job page's poll once
failed the worker recording the job's end; ``celery_worker_real`` gives the worker the test's
own connection.
"""

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError

from musicsite.celery import app

pytestmark = pytest.mark.slow

OUTCOME: list[str] = []


@app.task(name="tests.rename_user_often")
def rename_user_often(pk: int, times: int) -> None:
    try:
        for i in range(times):
            get_user_model().objects.filter(pk=pk).update(first_name=f"name {i}")
    except OperationalError as exc:
        OUTCOME.append(str(exc))
    else:
        OUTCOME.append("done")


@pytest.mark.django_db(transaction=True)
def test_the_worker_writes_while_the_test_reads_the_same_table(celery_worker_real):
    users = get_user_model().objects
    user = users.create(username="renamed")
    users.bulk_create([get_user_model()(username=f"other {i}") for i in range(20)])
    OUTCOME.clear()
    rename_user_often.delay(user.pk, 300)
    deadline = time.monotonic() + 60
    while not OUTCOME and time.monotonic() < deadline:
        list(users.all())  # as the job page's poll reads the job while the worker writes it
    assert OUTCOME == ["done"]
    user.refresh_from_db()
    assert user.first_name == "name 299"
