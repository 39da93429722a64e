"""Admin of accounts: signed-in devices (API tokens), which staff can see and revoke.

No page shows a token: the rows hold only its digest and first characters, and neither is
displayed either.
"""

from django.contrib import admin

from accounts.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created", "last_used_at", "expiry")
    list_select_related = ("user",)
    search_fields = ("name", "user__username")
    fields = ("user", "name", "created", "last_used_at", "expiry")
    readonly_fields = fields
    ordering = ("-created",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # a token is issued by signing in (API) or on the profile page

    def has_change_permission(self, request, obj=None) -> bool:
        return False
