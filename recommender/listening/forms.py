"""Forms of the listening pages: the rating controls and pausing history."""

from django import forms

_FLAG = [("1", "yes"), ("0", "no")]


class RatingForm(forms.Form):
    """Any of: ``stars`` (1-5, or empty to remove), ``liked`` and ``not_interested`` (1/0)."""

    stars = forms.TypedChoiceField(
        choices=[("", "none")] + [(str(n), str(n)) for n in range(1, 6)],
        coerce=int,
        empty_value=None,
        required=False,
    )
    liked = forms.ChoiceField(choices=_FLAG, required=False)
    not_interested = forms.ChoiceField(choices=_FLAG, required=False)

    def changes(self) -> dict:
        """The service arguments for the fields that were sent."""
        changes: dict = {}
        if "stars" in self.data:
            changes["stars"] = self.cleaned_data["stars"]
        for name in ("liked", "not_interested"):
            if self.data.get(name) not in (None, ""):
                changes[name] = self.cleaned_data[name] == "1"
        return changes

    def clean(self) -> dict | None:
        cleaned = super().clean()
        if not any(
            self.data.get(name) is not None for name in ("stars", "liked", "not_interested")
        ):
            raise forms.ValidationError("Choose stars, like or not interested.")
        return cleaned


class PauseForm(forms.Form):
    paused = forms.ChoiceField(choices=_FLAG)
