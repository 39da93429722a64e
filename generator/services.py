"""Writes of the generator app: create, run and cancel generation jobs; register, fine-tune and
promote generator versions. The only bridge between the database and ``generator.ml``.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import miditok
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Track
from generator.ml.checkpoint import load_checkpoint, read_meta
from generator.ml.compose import SongSpec, compose, safe_time_signature
from generator.ml.constraints import scale_pitch_classes
from generator.ml.sample import fresh_seed
from generator.ml.styles import STYLES
from generator.models import GenerationJob, GeneratorVersion
from generator.personalization import conditioning_for, track_prompt
from musicsite import jobs
from musicsite.waits import wait_of
from recommender.ml.device import resolve_device

logger = logging.getLogger(__name__)
Status = GenerationJob.Status
DEMO_CHECKPOINT = "generator/checkpoints/demo"


class GenerationError(Exception):
    """A request that cannot be served; the message is meant for the listener."""


class RateLimited(GenerationError):
    """Over ``GENERATOR_JOBS_PER_HOUR``; ``retry_after``: the wait the message states (s)."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueUnavailable(GenerationError):
    """The broker could not be reached: nothing was queued and the job was failed at once."""

    retry_after_s = 30


QUEUE_UNAVAILABLE = (
    "The music workers cannot be reached right now, so your song was not started. "
    "Please try again in a minute."
)


class SteeringError(GenerationError):
    """A steering choice (``field``: ``style`` or ``more_like``) that cannot be honoured."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class JobCancelled(Exception):
    """Raised inside the worker when the listener cancelled the job mid-way."""


def jobs_per_hour() -> int:
    return int(getattr(settings, "GENERATOR_JOBS_PER_HOUR", 5))


def resolve_artifact(path: str) -> Path:
    """A version's directory: absolute, else under MODEL_ROOT, else under the repository."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate
    under_models = Path(settings.MODEL_ROOT) / candidate
    return under_models if under_models.exists() else Path(settings.BASE_DIR) / candidate


def generator_version_register(
    *,
    name: str,
    artifact_path: str,
    parent: GeneratorVersion | None = None,
    activate: bool = False,
    notes: str = "",
) -> GeneratorVersion:
    """Index a checkpoint directory with its config and metrics; optionally make it active."""
    meta = read_meta(resolve_artifact(artifact_path))
    metrics = dict(meta.get("metrics") or {})
    metrics.setdefault("val_nll", meta.get("val_loss"))
    with transaction.atomic():
        if activate:
            GeneratorVersion.objects.filter(is_active=True).update(is_active=False)
        return GeneratorVersion.objects.create(
            name=name,
            artifact_path=artifact_path,
            config=meta["config"],
            metrics=metrics,
            parent=parent,
            is_active=activate,
            notes=notes,
        )


def generator_version_activate(*, version: GeneratorVersion) -> GeneratorVersion:
    """Make ``version`` the one new pieces are sampled from (its checkpoint must be there)."""
    try:
        read_meta(resolve_artifact(version.artifact_path))
    except (OSError, RuntimeError, KeyError) as exc:
        raise GenerationError(
            f"The checkpoint of “{version.name}” cannot be read ({exc}); it may have been pruned."
        ) from exc
    with transaction.atomic():
        GeneratorVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(
            is_active=False
        )
        GeneratorVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True
    _load.cache_clear()
    return version


def generator_version_active() -> GeneratorVersion:
    """The active version; the shipped demo checkpoint is registered on first use."""
    version = GeneratorVersion.objects.filter(is_active=True).first()
    if version is not None:
        return version
    existing = GeneratorVersion.objects.filter(name="demo").first()
    with transaction.atomic():
        if existing is not None:
            GeneratorVersion.objects.filter(pk=existing.pk).update(is_active=True)
            existing.is_active = True
            return existing
        return generator_version_register(
            name="demo",
            artifact_path=DEMO_CHECKPOINT,
            activate=True,
            notes="Shipped with the repository (see README).",
        )


@lru_cache(maxsize=2)
def _load(path: str):
    device = resolve_device(getattr(settings, "ML_DEVICE", "auto"))
    model, _config, tokenizer, _ = load_checkpoint(path, device)
    return model, tokenizer


def generation_job_create(
    *,
    user,
    seconds: float = 30.0,
    temperature: float | None = None,
    key: str | None = None,
    tempo_bpm: float | None = None,
    seed: int | None = None,
    style: str | None = None,
    more_like: int | None = None,
) -> GenerationJob:
    """Queue a new piece for ``user`` (rate-limited), conditioned on their taste, or steered:
    ``style`` (a generator style), ``more_like`` (the id of one of their finished songs)."""
    if not 5 <= seconds <= 180:
        raise GenerationError("The length must be between 5 and 180 seconds.")
    if temperature is not None and not 0.1 <= temperature <= 2.0:
        raise GenerationError("The temperature must be between 0.1 and 2.0.")
    if tempo_bpm is not None and not 40 <= tempo_bpm <= 200:
        raise GenerationError("The tempo must be between 40 and 200 BPM.")
    if key is not None:
        try:
            scale_pitch_classes(key)
        except ValueError as exc:
            raise GenerationError(f"Unknown key: {exc}") from exc
    if style is not None and style not in STYLES:
        raise SteeringError(
            "style", f"Unknown style “{style[:40]}”; choose one of {', '.join(STYLES)}."
        )
    like = _own_finished_job(user, more_like) if more_like is not None else None
    limit = jobs_per_hour()
    with transaction.atomic():
        # The listener's row, locked until this job is saved: racing requests count one by one
        # (each sees the jobs committed before it). SQLite serializes writing transactions.
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
        since = timezone.now() - timedelta(hours=1)
        recent = GenerationJob.objects.filter(user=user, created_at__gte=since).exclude(
            status__in=[Status.FAILED, Status.CANCELLED]
        )
        count = recent.count()
        if count >= limit:
            # A slot frees when the newest `limit` jobs are all that is left of the hour.
            freeing = recent.order_by("created_at")[count - limit].created_at
            wait = wait_of((freeing + timedelta(hours=1) - timezone.now()).total_seconds())
            raise RateLimited(
                f"You can make {limit} songs per hour. Try again in {wait.text}.",
                retry_after=wait.seconds,
            )
        seed = fresh_seed() if seed is None else seed  # stored: the row reproduces the piece
        cond = conditioning_for(
            user, seconds=seconds, seed=seed, style=style, like=like, tempo_bpm=tempo_bpm
        ).to_dict()
        overrides = {"temperature": temperature, "key": key, "tempo_bpm": tempo_bpm}
        cond.update({k: v for k, v in overrides.items() if v is not None})
        cond["seed"] = seed
        job = GenerationJob.objects.create(
            user=user,
            settings=cond,
            primer_track_id=cond["primer_track_id"],
            version=generator_version_active(),
        )
        transaction.on_commit(lambda: _queue(job.pk))
    logger.info("generation job %s queued for user %s", job.pk, user.pk)
    return job


def _own_finished_job(user, job_id: int) -> GenerationJob:
    """The listener's own finished song (another listener's is as unknown as a missing one)."""
    job = (
        GenerationJob.objects.filter(user=user, pk=job_id, status=Status.SUCCEEDED)
        .select_related("track")
        .first()
    )
    if job is None or job.track is None:
        raise SteeringError("more_like", f"You have no finished song {job_id}.")
    return job


def _queue(job_id: int) -> None:
    """Send the job to the ``ml`` queue. With the broker unreachable the job is failed at once
    (so it neither waits for ever nor counts toward the hourly limit) and QueueUnavailable
    is raised."""
    from generator.tasks import run_generation_job

    try:
        run_generation_job.delay(job_id)
    except Exception as exc:  # kombu's OperationalError and the like: nothing was sent
        logger.warning("generation job %s not queued: broker unreachable (%s)", job_id, exc)
        GenerationJob.objects.filter(pk=job_id, status=Status.QUEUED).update(
            status=Status.FAILED, finished_at=timezone.now(), error=QUEUE_UNAVAILABLE
        )
        raise QueueUnavailable(QUEUE_UNAVAILABLE) from exc


def generation_job_cancel(*, job: GenerationJob) -> GenerationJob:
    """Cancel a queued or running job (a finished one is left as it is)."""
    with transaction.atomic():
        GenerationJob.objects.filter(pk=job.pk, status__in=[Status.QUEUED, Status.RUNNING]).update(
            status=Status.CANCELLED, finished_at=timezone.now(), error="Cancelled by you."
        )
    job.refresh_from_db()
    return job


def _set_progress(job_id: int, progress: int) -> None:
    if not GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING).update(progress=progress):
        raise JobCancelled


def worker_died_message(attempts: int) -> str:
    """The reason a job whose worker died on its last try is failed with."""
    tries = "once" if attempts == 1 else f"{attempts} times"
    return (
        f"The music worker stopped while writing this piece ({tries}: it was restarted or "
        "ran out of memory). Please try again."
    )


def _claim(job_id: int, *, wait: bool) -> bool:
    """Mark the job running for this worker: a queued job, or a running one whose worker died
    (silent for ``JOBS_STALE_SECONDS``) with tries left. A dead job with none left is failed.

    ``wait``: the message was redelivered after its worker was lost, so the dead run's last
    heartbeat may still look fresh; keep trying for up to ``JOBS_STALE_SECONDS``.
    """
    limits = jobs.bounds()
    deadline = time.monotonic() + (limits.stale_s + limits.heartbeat_s if wait else 0.0)
    while True:
        now = timezone.now()
        dead = Q(status=Status.RUNNING) & jobs.silent_since(
            limits.stale_before(now), since="started_at"
        )
        claimed = (
            GenerationJob.objects.filter(Q(status=Status.QUEUED) | dead, pk=job_id)
            .filter(attempts__lt=limits.max_attempts)
            .update(
                status=Status.RUNNING,
                started_at=now,
                heartbeat_at=now,
                progress=1,
                error="",
                attempts=F("attempts") + 1,
            )
        )
        if claimed:
            return True
        exhausted = GenerationJob.objects.filter(dead, pk=job_id).first()
        if exhausted is not None:
            GenerationJob.objects.filter(dead, pk=job_id).update(
                status=Status.FAILED,
                finished_at=now,
                error=worker_died_message(exhausted.attempts),
            )
            discard_unfinished(exhausted)
            return False
        if (
            time.monotonic() >= deadline
            or not GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING).exists()
        ):
            return False
        time.sleep(limits.heartbeat_s)


def discard_unfinished(job: GenerationJob) -> None:
    """Delete the half-made piece of a run of ``job`` that died (never linked to the job)."""
    for track in Track.objects.filter(
        origin=Track.Origin.GENERATED,
        owner_id=job.user_id,
        source=f"generation job {job.pk}",
        generation_job__isnull=True,
    ):
        _discard(track)


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        return "Writing this piece took too long, so it was stopped. Please try a shorter one."
    return f"The piece could not be written ({type(exc).__name__}: {exc})."


def generation_job_run(*, job_id: int, redelivered: bool = False) -> GenerationJob:
    """The worker's side: claim the job, sample, write MIDI, ingest a private Track, render it;
    record the end. The running row beats every ``JOBS_HEARTBEAT_SECONDS``; a job whose
    worker died is run again when its message is redelivered (``redelivered``) or the reaper
    queues it, ``JOBS_MAX_ATTEMPTS`` runs in all.
    """
    started = _claim(job_id, wait=redelivered)
    job = GenerationJob.objects.select_related("user", "version", "primer_track").get(pk=job_id)
    if not started:
        logger.info("generation job %s is %s; not running it", job_id, job.status)
        return job
    discard_unfinished(job)  # what a dead earlier run left (the same seed writes the same piece)
    with jobs.heartbeat(GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING)):
        try:
            track = _write_piece(job)
        except JobCancelled:
            logger.info("generation job %s cancelled while running", job_id)
        except Exception as exc:
            logger.exception("generation job %s failed", job_id)
            GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
                status=Status.FAILED, finished_at=timezone.now(), error=_failure_message(exc)
            )
        else:
            with transaction.atomic():
                done = GenerationJob.objects.filter(pk=job_id, status=Status.RUNNING).update(
                    status=Status.SUCCEEDED, progress=100, track=track, finished_at=timezone.now()
                )
                if not done:  # cancelled (or failed by staff) at the last moment: not kept
                    _discard(track)
            if done:  # the song plays (Ogg); its MP3, for phones, right after, in this task
                from catalog.services import track_encode_mp3

                track_encode_mp3(track_id=track.pk)
    job.refresh_from_db()
    return job


def _write_piece(job: GenerationJob) -> Track:
    from catalog.ingest.sources import DuplicateError
    from catalog.services import content_key, track_ingest, track_render

    cond: dict[str, Any] = job.settings
    version = job.version or generator_version_active()
    model, tokenizer = _load(str(resolve_artifact(version.artifact_path)))
    _set_progress(job.pk, 5)
    generated = compose(
        model,
        tokenizer,
        modelled_spec(cond, job.primer_track, tokenizer),
        on_progress=lambda f: _set_progress(job.pk, 5 + int(75 * f)),
    )
    _set_progress(job.pk, 82)
    midi = generated.score.dumps_midi()
    number = Track.objects.filter(owner=job.user, origin=Track.Origin.GENERATED).count() + 1
    title = f"Made for {job.user.get_username()} · no. {number}"
    try:  # only the listener's own pieces can be duplicates of it (catalog.services.content_key)
        track = track_ingest(
            filename=f"generated-{job.pk}.mid",
            data=bytes(midi),
            title=title,
            artist_name="musicsite generator",
            status=Track.Status.PUBLISHED,
            origin=Track.Origin.GENERATED,
            owner=job.user,
            source=f"generation job {job.pk}",
            queue_render=False,  # rendered just below, in this job, so it plays when it ends
        )
    except DuplicateError as exc:
        same = Track.objects.filter(content_hash=content_key(bytes(midi), owner=job.user)).first()
        raise GenerationError(
            f"it came out the same as your “{same.title}”; please try again"
            if same is not None
            else exc.reason
        ) from exc
    try:
        _set_progress(job.pk, 88)
        track = track_render(track_id=track.pk, queue_mp3=False)  # encoded once it plays
        if track.render_status != Track.RenderStatus.READY:
            raise GenerationError(f"rendering failed: {track.render_error}")
    except BaseException:  # cancelled or failed after the row was written: keep nothing
        _discard(track)
        raise
    return track


def _discard(track: Track) -> None:
    """Delete a generated track and its stored files."""
    for field in (track.midi_file, track.audio_file, track.audio_mp3_file, track.pianoroll_image):
        if field:
            field.storage.delete(field.name)
    track.delete()


def modelled_spec(
    cond: dict[str, Any], model_piece: Track | None, tokenizer: miditok.REMI
) -> SongSpec:
    """The spec of a song's stored settings and the catalog piece it is modelled on (the
    job's ``primer_track``): that piece's metre when the settings name none, and its first
    ``prompt_bars`` bars as the prompt (``personalization.track_prompt``: of its tune alone
    when the song gets chords)."""
    bars = int(cond.get("prompt_bars") or 0)
    tune_only = bool(cond.get("accompaniment"))
    return song_spec(
        cond,
        fallback_metre=model_piece.time_signature if model_piece else "",
        prompt=track_prompt(model_piece, tokenizer, bars, tune_only=tune_only),
    )


def song_spec(
    cond: dict[str, Any], *, fallback_metre: str = "", prompt: list[int] | None = None
) -> SongSpec:
    """The sampler's spec from a job's stored settings (jobs stored before styles had none)
    and a prompt (REMI ids the model reads before it writes)."""
    return SongSpec(
        style=cond.get("style"),
        key=cond.get("key") or None,
        tempo_bpm=float(cond.get("tempo_bpm") or 100.0),
        time_signature=safe_time_signature(cond.get("time_signature") or fallback_metre),
        seconds=float(cond.get("seconds", 30)),
        temperature=float(cond.get("temperature", 1.0)),
        max_polyphony=int(cond.get("max_polyphony", 4)),
        seed=cond.get("seed"),
        density_bias=float(cond.get("density_bias") or 0.0),
        form_source=str(cond.get("form_source") or ""),
        prompt=prompt or None,
        accompaniment=cond.get("accompaniment") or None,
    )


def generator_fine_tune(
    *, time_budget_s: float | None = None, max_epochs: int = 5, seed: int = 0
) -> GeneratorVersion | None:
    """Fine-tune the active version on the catalog plus loved generated pieces, with the
    generated pieces listeners disliked as examples of what not to write (unlikelihood).

    The candidate is registered either way (with its metrics); it becomes active only if
    ``generator.evaluation.promotion_gate`` passes it: validation NLL on the same held-out
    pieces no worse than the active version's, and the music-quality OA mean of short songs
    each writes from the same seeds no worse, within the gate's tolerance. Both sets of figures
    go into the version's metrics and its notes.
    """
    from generator.evaluation import promotion_gate
    from generator.ml.config import TrainConfig
    from generator.ml.data import evaluate_nll, split_by_piece, tokenize_pieces
    from generator.ml.tokenizer import control_ids
    from generator.ml.train import fit
    from generator.selectors import (
        catalog_pieces,
        disliked_generated_pieces,
        loved_generated_pieces,
    )

    active = generator_version_active()
    catalog_paths, loved = catalog_pieces(), loved_generated_pieces()
    disliked = disliked_generated_pieces()
    paths = [(p.path, p.style) for p in catalog_paths + loved]
    if len(paths) < 3:
        logger.info("fine-tune skipped: %d pieces", len(paths))
        return None
    budget = time_budget_s or float(getattr(settings, "GENERATOR_FINE_TUNE_SECONDS", 600))
    base_dir = resolve_artifact(active.artifact_path)
    model, config, tokenizer, _ = load_checkpoint(base_dir, "cpu")
    split = split_by_piece(paths, val_fraction=0.1, test_fraction=0.0, seed=seed)
    train = tokenize_pieces(tokenizer, split["train"] + split["test"])
    val = tokenize_pieces(tokenizer, split["val"])
    negatives = tokenize_pieces(tokenizer, [(p.path, p.style) for p in disliked])
    if not train or not val:
        logger.info("fine-tune skipped: no usable pieces")
        return None
    base_val, _ = evaluate_nll(
        model,
        val,
        max_len=config.max_len,
        device=next(model.parameters()).device,
        header=control_ids(tokenizer),
    )
    name = f"ft-{timezone.now():%Y%m%d-%H%M%S}"
    out_rel = f"generator/{name}"
    out = Path(settings.MODEL_ROOT) / out_rel
    train_config = TrainConfig(
        lr=3e-4,
        max_epochs=max_epochs,
        time_budget_s=budget,
        seed=seed,
        patience=3,
        device=getattr(settings, "ML_DEVICE", "auto"),
    )
    train_config.seq_len = min(train_config.seq_len, config.max_len)
    candidate, step, new_val = fit(
        model_config=config,
        train_config=train_config,
        tokenizer=tokenizer,
        train_seqs=train,
        val_seqs=val,
        out_dir=out,
        init_weights=model.state_dict(),
        progress=False,
        negative_seqs=negatives,
    )
    gate = promotion_gate(
        parent=model,
        candidate=candidate,
        tokenizer=tokenizer,
        val_pieces=split["val"],
        parent_val_nll=base_val,
        val_nll=new_val,
        trained=step > 0,
    )
    version = generator_version_register(
        name=name,
        artifact_path=str(out) if out.is_absolute() else out_rel,
        parent=active,
        activate=gate.promoted,
        notes=f"Fine-tuned on {len(catalog_paths)} catalog and {len(loved)} loved generated "
        f"pieces, {len(negatives)} disliked as negatives; {gate.summary()}.",
    )
    version.metrics.update(
        gate.metrics()
        | {
            "catalog_pieces": len(catalog_paths),
            "generated_pieces": len(loved),
            "disliked_pieces": len(negatives),
        }
    )
    version.save(update_fields=["metrics"])
    _load.cache_clear()
    return version
