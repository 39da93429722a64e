"""Admin: generator versions with their metrics (activate one), and generation jobs (read-only,
with actions to fail or retry a stuck one)."""

from django.contrib import admin, messages

from generator.models import GenerationJob, GeneratorVersion
from generator.services import GenerationError, generator_version_activate
from generator.services_recovery import generation_jobs_fail, generation_jobs_retry


@admin.register(GeneratorVersion)
class GeneratorVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "val_nll_display", "parent", "created_at")
    list_filter = ("is_active",)
    readonly_fields = ("config", "metrics", "parent", "created_at", "is_active")
    actions = ["activate"]

    @admin.display(description="validation NLL (nats/token)")
    def val_nll_display(self, obj: GeneratorVersion) -> str:
        return f"{obj.val_nll:.4f}" if obj.val_nll is not None else "—"

    @admin.action(description="Make the selected version active")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        try:
            generator_version_activate(version=queryset.get())
        except GenerationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, "Version activated.")


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "user",
        "status",
        "progress",
        "attempts",
        "version",
        "created_at",
        "heartbeat_at",
        "finished_at",
    )
    list_filter = ("status",)
    list_select_related = ("user", "version")
    readonly_fields = [f.name for f in GenerationJob._meta.fields]
    actions = ["fail_jobs", "retry_jobs"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Fail the selected queued or running jobs")
    def fail_jobs(self, request, queryset):
        count = generation_jobs_fail(job_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} job(s) failed.")

    @admin.action(description="Retry the selected failed, cancelled or stuck jobs")
    def retry_jobs(self, request, queryset):
        count = generation_jobs_retry(job_ids=list(queryset.values_list("pk", flat=True)))
        skipped = queryset.count() - count
        note = f" ({skipped} left: running on a live worker, or succeeded)" if skipped else ""
        self.message_user(request, f"{count} job(s) queued again{note}.")
