"""The catalog's browse filters, parsed once for the page and the API so they cannot drift.

``TrackFilterForm`` validates query parameters (a bad tempo or an unknown collection is a clear
error naming the parameter) and turns them into a ``TrackFilters`` value for
``catalog.selectors.track_list``. It offers, and accepts, only the collections, composers and
tags that hold a piece the visitor may see (``Track.objects.visible_to``): one holding only
hidden, draft or another listener's pieces is "unknown", as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django import forms

from catalog.models import Artist, Collection, Tag

TEMPO_MIN_BPM = 1
TEMPO_MAX_BPM = 400


@dataclass(frozen=True)
class TrackFilters:
    """What a listener asked the catalog for; every field is optional."""

    q: str = ""
    collection: Collection | None = None
    composer: Artist | None = None
    tag: Tag | None = None
    key: str = ""
    tempo_min: int | None = None
    tempo_max: int | None = None

    @property
    def is_active(self) -> bool:
        return any((self.q, self.collection, self.composer, self.tag, self.key)) or any(
            v is not None for v in (self.tempo_min, self.tempo_max)
        )


class TrackFilterForm(forms.Form):
    """Query parameters of the browse page and of ``GET /api/v1/tracks/``."""

    q = forms.CharField(label="Search", max_length=100, required=False, strip=True)
    collection = forms.ModelChoiceField(
        queryset=Collection.objects.none(),  # set per visitor in __init__
        to_field_name="slug",
        required=False,
        empty_label="All collections",
        error_messages={"invalid_choice": "Unknown collection."},
    )
    composer = forms.ModelChoiceField(
        queryset=Artist.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="All composers",
        error_messages={"invalid_choice": "Unknown composer."},
    )
    tag = forms.ModelChoiceField(
        queryset=Tag.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="All tags",
        error_messages={"invalid_choice": "Unknown tag."},
    )
    key = forms.CharField(label="Key", max_length=20, required=False, strip=True)
    tempo_min = forms.IntegerField(
        label="Tempo from (bpm)",
        required=False,
        min_value=TEMPO_MIN_BPM,
        max_value=TEMPO_MAX_BPM,
        error_messages={"invalid": "Enter the tempo as a whole number of beats per minute."},
    )
    tempo_max = forms.IntegerField(
        label="Tempo to (bpm)",
        required=False,
        min_value=TEMPO_MIN_BPM,
        max_value=TEMPO_MAX_BPM,
        error_messages={"invalid": "Enter the tempo as a whole number of beats per minute."},
    )

    def __init__(
        self, *args, user: Any = None, key_choices: list[str] | None = None, **kwargs
    ) -> None:
        """``user``: the visitor (None or anonymous: public pieces only)."""
        from catalog import selectors  # selectors import this module

        super().__init__(*args, **kwargs)
        fields = cast(dict[str, forms.ModelChoiceField], self.fields)
        fields["collection"].queryset = selectors.collections_visible_to(user)
        fields["composer"].queryset = selectors.composers_visible_to(user)
        fields["tag"].queryset = selectors.tags_visible_to(user)
        if key_choices is not None:
            # On the page the key is a select of the keys that actually occur.
            self.fields["key"].widget = forms.Select(
                choices=[("", "Any key"), *((k, k) for k in key_choices)]
            )
        for name in ("tempo_min", "tempo_max"):
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "placeholder": "bpm"})
        self.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": "Title, composer, collection or tag"}
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("tempo_min"), cleaned.get("tempo_max")
        if low is not None and high is not None and low > high:
            self.add_error("tempo_max", "The upper tempo must not be below the lower one.")
        return cleaned

    def to_filters(self) -> TrackFilters:
        """The filters whose values are valid (call after ``is_valid()``; bad ones are left out)."""
        data = self.cleaned_data
        return TrackFilters(
            q=data.get("q") or "",
            collection=data.get("collection"),
            composer=data.get("composer"),
            tag=data.get("tag"),
            key=data.get("key") or "",
            tempo_min=data.get("tempo_min"),
            tempo_max=data.get("tempo_max"),
        )
