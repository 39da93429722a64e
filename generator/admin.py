"""Admin: generator versions with their metrics (activate one), and generation jobs (read-only)."""

from django.contrib import admin, messages

from generator.models import GenerationJob, GeneratorVersion
from generator.services import generator_version_activate


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
        generator_version_activate(version=queryset.get())
        self.message_user(request, "Version activated.")


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "status", "progress", "version", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("user", "version")
    readonly_fields = [f.name for f in GenerationJob._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
