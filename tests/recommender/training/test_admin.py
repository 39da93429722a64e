"""Staff see versions with metrics and a chart, activate and roll back, and list runs."""

import pytest
from django.urls import reverse

from recommender.models import ModelVersion
from recommender.training import services
from tests.factories import UserFactory


@pytest.fixture
def staff_client(client, db):
    admin = UserFactory(username="curator", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def _train(kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = services.training_request(kind=kind)
    return services.training_execute(run_id=run.pk)


def test_versions_page_shows_metrics_and_chart(
    staff_client, event_log, django_capture_on_commit_callbacks
):
    version = _train("als", django_capture_on_commit_callbacks).version
    page = staff_client.get(reverse("admin:recommender_modelversion_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("admin:recommender_modelversion_chart") in html
    assert f"{version.ndcg10:.3f}"[:4] in html
    chart = staff_client.get(reverse("admin:recommender_modelversion_chart"))
    assert chart["Content-Type"] == "image/svg+xml"
    svg = chart.content.decode()
    assert svg.startswith("<svg") and "<polyline" in svg and f"als v{version.version}" in svg
    runs = staff_client.get(reverse("admin:recommender_trainingrun_changelist"))
    assert runs.status_code == 200 and "succeeded" in runs.content.decode().lower()


def test_a_runs_page_shows_what_its_search_tried_and_chose(
    staff_client, event_log, django_capture_on_commit_callbacks
):
    run = _train("als", django_capture_on_commit_callbacks)
    page = staff_client.get(reverse("admin:recommender_trainingrun_change", args=[run.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Trials, scored on each listener's validation play" in html
    search = run.version.config["search"]
    table = html[html.index('<div class="search-summary">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr") - 1 == len(search["trials"])  # a row per trial, and the header
    assert "(chosen)" in html and "regularization=" in html
    version_page = staff_client.get(
        reverse("admin:recommender_modelversion_change", args=[run.version.pk])
    )
    assert "(chosen)" in version_page.content.decode()


def test_chart_without_versions_says_so(staff_client):
    svg = staff_client.get(reverse("admin:recommender_modelversion_chart")).content.decode()
    assert "no evaluated versions yet" in svg


def test_activate_and_roll_back_actions(
    staff_client, event_log, django_capture_on_commit_callbacks
):
    v1 = _train("als", django_capture_on_commit_callbacks).version
    v2 = _train("als", django_capture_on_commit_callbacks).version
    url = reverse("admin:recommender_modelversion_changelist")
    staff_client.post(url, {"action": "activate", "_selected_action": [v2.pk]})
    assert ModelVersion.objects.get(kind="als", is_active=True).pk == v2.pk
    staff_client.post(url, {"action": "roll_back", "_selected_action": [v2.pk]})
    assert ModelVersion.objects.get(kind="als", is_active=True).pk == v1.pk
