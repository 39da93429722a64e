"""Forms of the catalog's staff pages."""

from django import forms
from django.conf import settings

from catalog.models import Track


class MidiUploadForm(forms.Form):
    """A zip of MIDI files or one MIDI file, with the metadata every piece in it shares."""

    file = forms.FileField(
        label="MIDI file or zip",
        help_text="A .mid/.midi file or a .zip of them.",
        widget=forms.ClearableFileInput(attrs={"accept": ".mid,.midi,.zip"}),
    )
    collection = forms.CharField(max_length=200, required=False)
    artist = forms.CharField(max_length=200, required=False, label="Composer / artist")
    tags = forms.CharField(
        max_length=300, required=False, help_text="Comma-separated, e.g. “folk, jig”."
    )
    status = forms.ChoiceField(choices=Track.Status.choices, initial=Track.Status.DRAFT)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"{upload.name}: the upload is {upload.size / 2**20:.1f} MiB; "
                f"the limit is {limit / 2**20:g} MiB."
            )
        return upload

    def clean_tags(self) -> list[str]:
        raw = self.cleaned_data.get("tags") or ""
        return [tag.strip().lower() for tag in raw.split(",") if tag.strip()]
