"""A model version serves only once evaluated on enough listeners (RECOMMENDER_MIN_EVAL_USERS):
trained on a handful, it stays inactive, popularity serves, and the admin says why."""

import importlib
import itertools
import re
from xml.etree import ElementTree

import pytest
from django.apps import apps
from django.urls import reverse

from recommender.models import ModelVersion, RunStatus
from recommender.training import chart, services, serving
from tests.factories import UserFactory


def _train(kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = services.training_request(kind=kind)
    return services.training_execute(run_id=run.pk)


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(username="curator", is_staff=True, is_superuser=True))
    return client


def test_the_minimum_is_a_stated_setting_with_a_sensible_default(settings):
    from django.conf import settings as django_settings

    assert django_settings.RECOMMENDER_MIN_EVAL_USERS == services.DEFAULT_MIN_EVAL_USERS == 20
    settings.RECOMMENDER_MIN_EVAL_USERS = 0
    assert services.min_eval_users() == 1  # never "no evaluation at all"


def test_a_version_evaluated_on_too_few_listeners_is_not_activated(
    event_log, settings, django_capture_on_commit_callbacks
):
    settings.RECOMMENDER_MIN_EVAL_USERS = 31  # the log has 30 listeners
    run = _train("als", django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED
    version = run.version
    assert not version.is_active and version.metrics["users"] == 30
    assert version.reason == (
        "not activated: evaluated on 30 listeners, fewer than the 31 "
        "RECOMMENDER_MIN_EVAL_USERS asks; popularity serves meanwhile"
    )
    recs = serving.recommendations_for(user=UserFactory(username="fresh"), k=5)
    assert {r.source for r in recs} == {"popular"}


def test_an_active_version_keeps_serving_when_a_new_one_is_under_evaluated(
    event_log, settings, django_capture_on_commit_callbacks
):
    first = _train("als", django_capture_on_commit_callbacks).version
    assert first.is_active and services.evaluated_users(first) == 30
    settings.RECOMMENDER_MIN_EVAL_USERS = 50
    second = _train("als", django_capture_on_commit_callbacks).version
    assert not second.is_active
    assert second.reason.endswith(f"v{first.version} still serves")
    first.refresh_from_db()
    assert first.is_active


def test_staff_cannot_activate_or_roll_back_to_an_under_evaluated_version(
    staff_client, event_log, settings, django_capture_on_commit_callbacks
):
    v1 = _train("als", django_capture_on_commit_callbacks).version
    v2 = _train("als", django_capture_on_commit_callbacks).version
    services.version_activate(version=v2)
    settings.RECOMMENDER_MIN_EVAL_USERS = 40
    with pytest.raises(services.TrainingError, match="evaluated on 30 listeners, fewer than"):
        services.version_activate(version=v1)
    with pytest.raises(services.TrainingError, match="each was evaluated on fewer than 40"):
        services.version_rollback(kind="als")
    url = reverse("admin:recommender_modelversion_changelist")
    page = staff_client.post(url, {"action": "activate", "_selected_action": [v1.pk]}, follow=True)
    assert "cannot serve: evaluated on 30 listeners" in page.content.decode()
    assert ModelVersion.objects.get(kind="als", is_active=True).pk == v2.pk


def test_the_admin_says_what_serves_and_why(
    staff_client, event_log, settings, django_capture_on_commit_callbacks
):
    settings.RECOMMENDER_MIN_EVAL_USERS = 31
    version = _train("sasrec", django_capture_on_commit_callbacks).version
    page = staff_client.get(reverse("admin:recommender_modelversion_changelist"))
    html = page.content.decode()
    assert "Now: popularity (the most played pieces): no model version may serve yet." in html
    row = html[html.index('class="serving-sasrec') :]
    row = row[: row.index("</tr>")]
    assert f"no active version, popularity serves instead; newest v{version.version}" in row
    assert "evaluated on 30 listeners, fewer than the 31" in row
    assert "30 listeners (fewer than 31: may not serve)" in html  # the version's own row
    detail = staff_client.get(
        reverse("admin:recommender_modelversion_change", args=[version.pk])
    ).content.decode()
    assert "fewer than 31: may not serve" in detail and "not activated: evaluated on 30" in detail

    settings.RECOMMENDER_MIN_EVAL_USERS = 20
    als = _train("als", django_capture_on_commit_callbacks).version
    html = staff_client.get(reverse("admin:recommender_modelversion_changelist")).content.decode()
    assert f"Now: ALS (matrix factorisation) v{als.version}." in html
    assert f"v{als.version} serves (NDCG@10 {als.ndcg10:.4f} on 30 listeners)" in html


def test_the_migration_deactivates_versions_activated_on_too_few_listeners(db, settings):
    migration = importlib.import_module(
        "recommender.migrations.0007_deactivate_under_evaluated_versions"
    )
    few = ModelVersion.objects.create(
        kind="als", version=1, artifact_path="als/1", n_users=3, metrics={"users": 3.0},
        ndcg10=0.0, is_active=True, reason="first version of this kind",
    )  # fmt: skip
    many = ModelVersion.objects.create(
        kind="sasrec", version=1, artifact_path="sasrec/1", n_users=90, metrics={"users": 80.0},
        ndcg10=0.2, is_active=True, reason="first version of this kind",
    )  # fmt: skip
    old = ModelVersion.objects.create(
        kind="bpr", version=1, artifact_path="bpr/1", n_users=5, is_active=True, reason="first"
    )  # no evaluation count recorded: its training listeners stand in
    migration.deactivate(apps, None)
    few.refresh_from_db(), many.refresh_from_db(), old.refresh_from_db()
    assert not few.is_active and not old.is_active and many.is_active
    assert few.reason.startswith("deactivated: evaluated on 3 listeners, fewer than the 20")
    assert few.reason.endswith("(was: first version of this kind)")


# --- the chart --------------------------------------------------------------------------------


def _versions():
    rows = []
    for kind in ("als", "bpr", "sasrec", "pop"):
        for n in range(1, 13):
            rows.append(
                ModelVersion(
                    kind=kind, version=n, ndcg10=0.01 * n, hr10=0.02 * n, is_active=n == 12
                )
            )
    return rows


def test_the_chart_legend_sits_outside_the_plot_and_no_labels_overlap():
    svg = chart.metrics_chart_svg(_versions())
    root = ElementTree.fromstring(svg)  # well-formed
    ns = "{http://www.w3.org/2000/svg}"
    circles = [
        float(c.get("cx")) for c in root.iter(f"{ns}circle") if c.find(f"{ns}title") is not None
    ]
    assert max(circles) <= chart.PLOT_RIGHT
    legend = root.find(f"{ns}g[@class='legend']")
    texts = [(float(t.get("x")), float(t.get("y")), t.text) for t in legend.iter(f"{ns}text")]
    labels = [text for _, _, text in texts]
    assert labels == [
        "Legend", "ALS", "BPR", "Popularity", "SASRec", "NDCG@10", "HR@10",
        "active version",
    ]  # fmt: skip
    assert all(x >= chart.LEGEND_X > chart.PLOT_RIGHT for x, _, _ in texts)
    ys = sorted(y for _, y, _ in texts)
    assert all(b - a >= chart.LINE_GAP for a, b in itertools.pairwise(ys))  # no overlap
    assert ys[-1] <= chart.HEIGHT - 10
    # Every label of the plot itself stays left of the legend.
    plot_texts = [t for t in root.findall(f"{ns}text")]
    assert all(float(t.get("x")) < chart.LEGEND_X for t in plot_texts)
    assert re.search(r">12</text>", svg)  # version numbers on the x axis
