"""Signal receivers of accounts, connected in ``AccountsConfig.ready``."""

from __future__ import annotations

from accounts import services


def on_user_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    """``post_save`` of the user model: a password change revokes every API token.

    ``set_password`` leaves the new password on ``_password`` until the save; Django calls the
    validators' ``password_changed`` on the same condition, and a sign-in's hash upgrade clears
    it first (no revocation). Setting an unusable password (the admin's "disable password-based
    authentication") revokes them too. Sessions need nothing: Django signs out every session
    whose password hash changed, except the one that changed it.
    """
    if created or (update_fields is not None and "password" not in update_fields):
        return
    if instance._password is not None or not instance.has_usable_password():
        services.api_tokens_revoke_all(user=instance)
