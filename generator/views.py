"""HTML pages of the generator app: "Make me a song", a job's page (polled), cancel."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from generator import selectors, services
from generator.ml.styles import STYLES
from generator.personalization import listener_styles
from musicsite.htmx import HtmxHttpRequest, wants_partial

# The job page's player: one piece, its plays recorded in the "generated" context.
GENERATED_PLAYER = {"player_context": "generated", "queue_params": "context=generated"}


MOODS = {"slow": 70.0, "moderate": 100.0, "lively": 132.0, "fast": 168.0}


class GenerateForm(forms.Form):
    """Length, and optional steering: a style (the listener's own first), a mood, or more like
    one of their songs."""

    style = forms.ChoiceField(required=False, label="Style")
    mood = forms.ChoiceField(
        required=False,
        label="Tempo",
        choices=[
            ("", "As my taste says"),
            ("slow", "Slow (70 BPM)"),
            ("moderate", "Moderate (100 BPM)"),
            ("lively", "Lively (132 BPM)"),
            ("fast", "Fast (168 BPM)"),
        ],
    )
    more_like = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="More like"
    )
    seconds = forms.TypedChoiceField(
        choices=[
            (20, "20 seconds"),
            (30, "30 seconds"),
            (60, "1 minute"),
            (120, "2 minutes"),
            (180, "3 minutes"),
        ],
        coerce=int,
        initial=30,
        label="Length",
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        own = listener_styles(user)
        rest = [key for key in STYLES if key not in own]
        style = self.fields["style"]
        assert isinstance(style, forms.ChoiceField)
        style.choices = [
            ("", "As my taste says"),
            *((key, f"{STYLES[key].heading} (you love these)") for key in own),
            *((key, STYLES[key].heading) for key in rest),
        ]
        songs = selectors.job_list_for_user(user=user).filter(
            status="succeeded", track__isnull=False
        )[:10]
        more_like = self.fields["more_like"]
        assert isinstance(more_like, forms.ChoiceField)
        more_like.choices = [("", "—")] + [
            (str(j.pk), j.track.title) for j in songs if j.track is not None
        ]

    def steering(self) -> dict:
        """The service's keyword arguments for what was chosen."""
        data = self.cleaned_data
        return {
            "seconds": float(data["seconds"]),
            "style": data.get("style") or None,
            "tempo_bpm": MOODS.get(data.get("mood") or ""),
            "more_like": data.get("more_like"),
        }


@require_http_methods(["GET", "POST"])
@login_required
def create(request: HttpRequest) -> HttpResponse:
    form = GenerateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.generation_job_create(user=request.user, **form.steering())
        except services.QueueUnavailable as exc:  # the job was failed at once; say so
            messages.error(request, str(exc))
            response = render(
                request, "generator/create.html", _create_context(request, form), status=503
            )
            response["Retry-After"] = str(exc.retry_after_s)
            return response
        except services.GenerationError as exc:
            messages.error(request, str(exc))
            limited = isinstance(exc, services.RateLimited)
            response = render(
                request,
                "generator/create.html",
                _create_context(request, form),
                status=429 if limited else 400,
            )
            if isinstance(exc, services.RateLimited):  # narrowed for the type checker
                response["Retry-After"] = str(exc.retry_after)  # the wait the message states
            return response
        return redirect("generator:job_detail", job_id=job.pk)
    return render(request, "generator/create.html", _create_context(request, form))


def _create_context(request: HttpRequest, form: GenerateForm) -> dict:
    return {
        "form": form,
        "jobs": selectors.job_list_for_user(user=request.user)[:10],
        "per_hour": services.jobs_per_hour(),
    }


def _job_or_404(request: HttpRequest, job_id: int):
    job = selectors.job_get_for_user(user=request.user, job_id=job_id)
    if job is None:
        raise Http404("No such generation job.")
    return job


@require_GET
@login_required
def job_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = _job_or_404(request, job_id)
    context = {"job": job, "track": job.track, **GENERATED_PLAYER}
    if wants_partial(request):
        response = render(request, "generator/job_detail.html#job-status", context)
        if job.is_finished:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "generator/job_detail.html", context)


@require_POST
@login_required
def job_cancel(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    job = services.generation_job_cancel(job=_job_or_404(request, job_id))
    if request.htmx:
        context = {"job": job, "track": job.track}
        response = render(request, "generator/job_detail.html#job-status", context)
        response.status_code = HttpResponseStopPolling.status_code
        return response
    return redirect("generator:job_detail", job_id=job.pk)
