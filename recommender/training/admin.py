"""Admin of the model registry: versions with metrics, a chart, activate / roll back; runs."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import path
from django.utils.safestring import SafeString

from recommender.ml.base import ArtifactError
from recommender.models import ModelKind, ModelVersion, TrainingRun
from recommender.training import recovery, services
from recommender.training.chart import metrics_chart_svg
from recommender.training.serving import SERVE_ORDER


def serving_summary() -> dict:
    """What answers recommendations now, and for each kind why its newest version does or does
    not serve (shown above the versions list)."""
    versions = list(ModelVersion.objects.order_by("kind", "-version"))
    active = {v.kind: v for v in versions if v.is_active}
    newest: dict[str, ModelVersion] = {}
    for version in versions:
        newest.setdefault(version.kind, version)
    kinds = [*SERVE_ORDER, *(k for k in ModelKind.values if k not in SERVE_ORDER)]
    rows = []
    for kind in kinds:
        label = ModelKind(kind).label
        if kind in active:
            version = active[kind]
            state = (
                f"v{version.version} serves (NDCG@10 {version.ndcg10 or 0:.4f} on "
                f"{services.evaluated_users(version)} listeners)"
            )
        elif kind in newest:
            version = newest[kind]
            state = f"no active version, popularity serves instead; newest v{version.version}: "
            state += version.reason or "not activated"
        else:
            state = "never trained"
        rows.append({"kind": kind, "label": label, "state": state, "active": kind in active})
    answering = next((active[k] for k in SERVE_ORDER if k in active), None)
    return {
        "now": (
            f"{ModelKind(answering.kind).label} v{answering.version}"
            if answering is not None
            else "popularity (the most played pieces): no model version may serve yet"
        ),
        "kinds": rows,
        "min_eval_users": services.min_eval_users(),
    }


def search_table(version: ModelVersion | None) -> SafeString | str:
    """The trials of the search that made ``version``, best first marked, as an HTML table."""
    search = (version.config or {}).get("search") if version is not None else None
    if not search:
        return "no search recorded (trained before searches, or with fixed settings)"
    trials = sorted(search.get("trials", []), key=lambda t: t.get("number", 0))
    best = max((t["valid_NDCG10"] for t in trials if t["state"] == "complete"), default=None)
    rows = [
        {
            **trial,
            "params": ", ".join(f"{k}={_short(v)}" for k, v in trial.get("params", {}).items()),
            "chosen": trial["state"] == "complete" and trial["valid_NDCG10"] == best,
        }
        for trial in trials
    ]
    return render_to_string("admin/recommender/search_table.html", {"search": search, "rows": rows})


def _short(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    change_list_template = "admin/recommender/modelversion/change_list.html"
    list_display = [
        "__str__",
        "kind",
        "version",
        "is_active",
        "ndcg10",
        "hr10",
        "n_users",
        "n_items",
        "n_events",
        "evaluated_on",
        "created_at",
        "reason",
    ]
    list_filter = ["kind", "is_active"]
    readonly_fields = [*(f.name for f in ModelVersion._meta.fields), "evaluated_on", "search"]
    actions = ["activate", "roll_back"]

    @admin.display(description="search: what was tried and chosen")
    def search(self, version: ModelVersion) -> SafeString | str:
        return search_table(version)

    @admin.display(description="evaluated on")
    def evaluated_on(self, version: ModelVersion) -> str:
        count = services.evaluated_users(version)
        text = f"{count} listener{'s' if count != 1 else ''}"
        minimum = services.min_eval_users()
        return text if count >= minimum else f"{text} (fewer than {minimum}: may not serve)"

    def changelist_view(self, request: HttpRequest, extra_context=None):
        extra_context = {**(extra_context or {}), "serving": serving_summary()}
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_urls(self):
        chart = path(
            "chart.svg",
            self.admin_site.admin_view(self.chart_view),
            name="recommender_modelversion_chart",
        )
        return [chart, *super().get_urls()]

    def chart_view(self, request: HttpRequest) -> HttpResponse:
        svg = metrics_chart_svg(ModelVersion.objects.order_by("kind", "version"))
        return HttpResponse(svg, content_type="image/svg+xml")

    @admin.action(description="Activate the selected version")
    def activate(self, request: HttpRequest, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = queryset.get()
        try:
            services.version_activate(version=version)
        except (ArtifactError, services.TrainingError) as exc:
            self.message_user(request, f"Cannot activate {version}: {exc}", messages.ERROR)
            return
        self.message_user(request, f"{version.kind} v{version.version} is now active.")

    @admin.action(description="Roll back the selected kinds to their previous version")
    def roll_back(self, request: HttpRequest, queryset) -> None:
        for kind in sorted(set(queryset.values_list("kind", flat=True))):
            try:
                version = services.version_rollback(kind=kind)
            except (services.TrainingError, ArtifactError) as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.message_user(request, f"{kind} rolled back to v{version.version}.")


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "trigger",
        "progress",
        "stage",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "train_seconds",
        "n_events",
        "version",
        "error",
    ]
    list_filter = ["kind", "status", "trigger"]
    readonly_fields = [*(f.name for f in TrainingRun._meta.fields), "search"]
    actions = ["retrain", "fail_runs"]

    @admin.display(description="search: what was tried and chosen")
    def search(self, run: TrainingRun) -> SafeString | str:
        return search_table(run.version)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Queue a new training of the selected kinds")
    def retrain(self, request: HttpRequest, queryset) -> None:
        for kind in sorted(set(queryset.values_list("kind", flat=True))):
            try:
                run = services.training_request(kind=kind)
            except services.TrainingError as exc:
                self.message_user(request, f"{kind}: {exc}", messages.ERROR)
                continue
            self.message_user(request, f"{kind}: training run #{run.pk} is {run.status}.")

    @admin.action(description="Fail the selected queued or running runs (stuck ones)")
    def fail_runs(self, request: HttpRequest, queryset) -> None:
        count = recovery.training_runs_fail(run_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} run(s) failed; their kinds can train again.")
