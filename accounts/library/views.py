"""HTML pages of a listener's library: onboarding and playlists. Plain forms (POST, redirect)."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.library import onboarding, playlists
from accounts.models import TempoRange
from musicsite.htmx import HtmxHttpRequest
from musicsite.redirects import safe_next_url


class OnboardingForm(forms.Form):
    """What a new listener likes; choices come from the catalog."""

    collections = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    composers = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    tags = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Moods and styles"
    )
    tempo_ranges = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, choices=TempoRange.choices
    )

    def __init__(self, *args, choices: onboarding.OnboardingChoices, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        fields = cast(dict[str, forms.ChoiceField], self.fields)
        fields["collections"].choices = [(c.slug, c.name) for c in choices.collections]
        fields["composers"].choices = [(a.slug, a.name) for a in choices.composers]
        fields["tags"].choices = [(t.slug, t.name) for t in choices.tags]


class PlaylistForm(forms.Form):
    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=500, required=False)


class AddToPlaylistForm(forms.Form):
    track = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    playlist = forms.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    new_name = forms.CharField(max_length=100, required=False)


class MoveForm(forms.Form):
    track = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    position = forms.IntegerField(min_value=0, max_value=100_000)


@require_http_methods(["GET", "POST"])
@login_required
def onboarding_page(request: HttpRequest) -> HttpResponse:
    """Pick collections, composers, moods and tempos; the first feed is built from them."""
    choices = onboarding.onboarding_choices()
    profile = onboarding.profile_for(request.user)
    data = request.POST if request.method == "POST" else None
    form = OnboardingForm(data, initial=onboarding.onboarding_picks(profile), choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            onboarding.onboarding_complete(user=request.user, **form.cleaned_data)
        except onboarding.OnboardingError as exc:
            for field, errors in exc.fields.items():
                for error in errors:
                    form.add_error(None if field == "non_field_errors" else field, error)
        else:
            messages.success(request, "Thanks! Your feed is built from your picks.")
            return redirect("feed:feed")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "first_time": profile is None or not profile.is_onboarded}
    return render(request, "onboarding/onboarding.html", context, status=status)


@require_POST
@login_required
def onboarding_skip(request: HttpRequest) -> HttpResponse:
    onboarding.onboarding_skip(user=request.user)
    return redirect("feed:feed")


@require_http_methods(["GET", "POST"])
@login_required
def playlist_list(request: HttpRequest) -> HttpResponse:
    """Your playlists and "Liked"; create a new one."""
    form = PlaylistForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            playlist = playlists.playlist_create(user=request.user, **form.cleaned_data)
        except playlists.PlaylistError as exc:
            form.add_error(exc.field, str(exc))
        else:
            messages.success(request, f'Created "{playlist.name}".')
            return redirect("library:playlist", pk=playlist.pk)
    context = {
        "form": form,
        "playlists": playlists.playlists_for(request.user),
        "liked_count": playlists.liked_count(user=request.user),
    }
    return render(request, "playlists/list.html", context, status=400 if form.errors else 200)


def _play_query(tracks) -> str:
    return urlencode({"queue": ",".join(str(t.pk) for t in tracks), "context": "playlist"})


@require_GET
@login_required
def playlist_detail(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = playlists.playlist_get(user=request.user, pk=pk)
    tracks = playlists.playlist_tracks(user=request.user, playlist=playlist)
    context = {"playlist": playlist, "tracks": tracks, "queue_query": _play_query(tracks)}
    return render(request, "playlists/detail.html", context)


@require_GET
@login_required
def liked(request: HttpRequest) -> HttpResponse:
    tracks = playlists.liked_tracks(user=request.user)
    context = {"tracks": tracks, "queue_query": _play_query(tracks)}
    return render(request, "playlists/liked.html", context)


@require_POST
@login_required
def playlist_add(request: HtmxHttpRequest) -> HttpResponse:
    """Add a piece to a playlist (or to a new one named in the form): htmx swaps the form back
    with what happened; a plain post goes back to the page it came from."""
    form = AddToPlaylistForm(request.POST)
    back = safe_next_url(request, "/")
    playlist, error = None, ""
    if not form.is_valid():
        error = "Choose a playlist."
    else:
        data = form.cleaned_data
        try:
            if data.get("new_name"):
                playlist = playlists.playlist_add_to_new(
                    user=request.user, name=data["new_name"], track_id=data["track"]
                )
            elif data.get("playlist"):
                playlist = playlists.playlist_get(user=request.user, pk=data["playlist"])
                playlists.playlist_add(user=request.user, playlist=playlist, track_id=data["track"])
            else:
                raise playlists.PlaylistError("playlist", "Choose a playlist or name a new one.")
        except playlists.PlaylistError as exc:
            playlist, error = None, str(exc)
        except Http404:  # deleted meanwhile (another tab)
            playlist, error = None, "That playlist no longer exists."
    outcome = error or f'Added to "{playlist.name}".'  # type: ignore[union-attr]  # no error
    if request.htmx:
        context = {
            "track_id": request.POST.get("track", ""),
            "playlists": playlists.playlists_for(request.user),
            "selected": playlist.pk if playlist else form.cleaned_data.get("playlist"),
            "new_name": request.POST.get("new_name", "") if error else "",
            "next_url": back,
            "outcome": outcome,
            "error": bool(error),
            "swapped": True,
        }
        return render(
            request, "playlists/add_to_playlist.html", context, status=400 if error else 200
        )
    if error:
        messages.error(request, outcome)
    else:
        messages.success(request, outcome)
    return redirect(back)


@require_POST
@login_required
def playlist_remove(request: HttpRequest, pk: int, track_id: int) -> HttpResponse:
    playlist = playlists.playlist_get(user=request.user, pk=pk)
    try:
        playlists.playlist_remove(playlist=playlist, track_id=track_id)
    except playlists.PlaylistError as exc:
        messages.error(request, str(exc))
    return redirect("library:playlist", pk=pk)


@require_POST
@login_required
def playlist_move(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = playlists.playlist_get(user=request.user, pk=pk)
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            playlists.playlist_move(
                playlist=playlist,
                track_id=form.cleaned_data["track"],
                position=form.cleaned_data["position"],
            )
        except playlists.PlaylistError as exc:
            messages.error(request, str(exc))
    else:
        messages.error(request, "Choose a piece and a position.")
    return redirect("library:playlist", pk=pk)


@require_POST
@login_required
def playlist_delete(request: HttpRequest, pk: int) -> HttpResponse:
    playlist = playlists.playlist_get(user=request.user, pk=pk)
    playlists.playlist_delete(playlist=playlist)
    messages.success(request, f'Deleted "{playlist.name}".')
    return redirect("library:playlists")
