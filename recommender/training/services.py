"""Writes of the model registry: queue, run and record trainings; activate and roll back versions.

A training reads the event log, holds out each listener's most recent item, trains, evaluates
the new model and the active one on those held-out items (full ranking, seen items filtered)
and activates the new version only if it was evaluated on at least ``RECOMMENDER_MIN_EVAL_USERS``
listeners (``min_eval_users``; fewer measure nothing, and popularity serves meanwhile), its
NDCG@10 is not worse and, for a sequence model, beats the serving matrix factorisation's. Each
training searches its settings on the validation items (``recommender.ml.search``) within
``RECOMMENDER_SEARCH_BUDGET_S``; the version keeps what was tried and chosen. Staff cannot
activate an under-evaluated version either. A failure leaves the active version in place and
records the error on the run. The database allows one
open (queued or running) run per kind, so two trainings of one kind never overlap; a run whose
worker died (its heartbeat silent, see ``musicsite.jobs``) is failed so that the next one can
start.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from musicsite import jobs
from recommender.listening import hub
from recommender.ml.base import Recommender
from recommender.ml.data import Interactions, LeaveOneOut, leave_one_out
from recommender.ml.evaluate import evaluate_split, reference_vectors
from recommender.ml.kinds import SEQUENCE_KINDS, family
from recommender.ml.registry import default_config
from recommender.ml.search import MAX_TRIALS, pinned_settings, search_model
from recommender.models import ModelKind, ModelVersion, RunStatus, RunTrigger, TrainingRun
from recommender.training.dataset import dedupe_latest, event_log_interactions
from recommender.training.recovery import training_run_fail_if_dead
from recommender.training.serving import RemappedModel, load_version

__all__ = [
    "DEFAULT_MIN_EVAL_USERS",
    "TrainingError",
    "activation_refusal",
    "evaluated_users",
    "min_eval_users",
    "model_config",
    "training_execute",
    "training_request",
    "training_trigger_on_feedback",
    "version_activate",
    "version_rollback",
]

logger = logging.getLogger(__name__)

# Site defaults: one thread per training, so a worker leaves the other core to the site.
SITE_CONFIG: dict[str, dict[str, Any]] = {
    "sasrec": {"threads": 1},
}
# Seconds of search and training per run (``RECOMMENDER_SEARCH_BUDGET_S``), within the task's
# time limit; trials at most (``RECOMMENDER_SEARCH_TRIALS``).
DEFAULT_SEARCH_BUDGET_S = 1800.0


# Listeners a version must be evaluated on before it may serve (``RECOMMENDER_MIN_EVAL_USERS``).
DEFAULT_MIN_EVAL_USERS = 20

# After a failed run, the feedback trigger waits this long before it queues the kind again.
FEEDBACK_RETRY_AFTER_FAILURE_S = 60


class TrainingError(RuntimeError):
    """A training could not be queued or run; the message says why."""


class TrainingStopped(Exception):
    """The run was failed from outside (staff, the reaper) while this worker ran it."""


def min_eval_users() -> int:
    """``RECOMMENDER_MIN_EVAL_USERS``: listeners with a held-out play a version must have been
    evaluated on before it is activated (default 20, at least 1)."""
    return max(1, int(getattr(settings, "RECOMMENDER_MIN_EVAL_USERS", DEFAULT_MIN_EVAL_USERS)))


def evaluated_users(version: ModelVersion) -> int:
    """How many listeners ``version`` was evaluated on (its held-out users; for a version
    recorded before that count was kept, the listeners it was trained on)."""
    users = (version.metrics or {}).get("users")
    return int(users) if users is not None else int(version.n_users)


def activation_refusal(version: ModelVersion) -> str | None:
    """Why ``version`` may not be activated (too few listeners evaluated it), or None."""
    evaluated, minimum = evaluated_users(version), min_eval_users()
    if evaluated >= minimum:
        return None
    return (
        f"evaluated on {evaluated} listener{'s' if evaluated != 1 else ''}, fewer than the "
        f"{minimum} RECOMMENDER_MIN_EVAL_USERS asks"
    )


def search_budget() -> float:
    """``RECOMMENDER_SEARCH_BUDGET_S``: seconds a training may spend on its search and fit."""
    return float(getattr(settings, "RECOMMENDER_SEARCH_BUDGET_S", DEFAULT_SEARCH_BUDGET_S))


def model_config(kind: str) -> Any:
    """Config of ``kind``: ml defaults, then site defaults, then ``RECOMMENDER_MODEL_CONFIG``."""
    config = default_config(kind)
    overrides = {**SITE_CONFIG.get(kind, {})}
    overrides.update(getattr(settings, "RECOMMENDER_MODEL_CONFIG", {}).get(kind, {}))
    fields = {f.name for f in dataclasses.fields(config)}
    if "device" in fields:
        overrides.setdefault("device", getattr(settings, "ML_DEVICE", "auto"))
    return dataclasses.replace(config, **{k: v for k, v in overrides.items() if k in fields})


def training_request(*, kind: str, trigger: str = RunTrigger.MANUAL) -> TrainingRun:
    """Queue a training of ``kind``; if one is already queued or running, return that one."""
    if kind not in ModelKind.values:
        raise TrainingError(f"unknown model kind {kind!r}; expected one of {ModelKind.values}")
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(kind=kind, trigger=trigger)
    except IntegrityError:
        existing = TrainingRun.objects.filter(
            kind=kind, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).first()
        # It finished between our insert and this read, or its worker died: try once more.
        if existing is None or training_run_fail_if_dead(run=existing):
            return training_request(kind=kind, trigger=trigger)
        return existing
    transaction.on_commit(lambda: _send(run))
    logger.info("training run %s (%s) queued by %s", run.pk, kind, trigger)
    return run


def _send(run: TrainingRun) -> None:
    """Queue the run on ``ml``; with the broker unreachable fail it at once (so it does not
    block its kind) and raise TrainingError."""
    from recommender.tasks import train_model  # late: tasks import this module

    try:
        train_model.delay(run.pk)
    except Exception as exc:  # kombu's OperationalError and the like: nothing was sent
        error = f"The broker could not be reached, so the training was not queued ({exc})."
        TrainingRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=error
        )
        run.status, run.error = RunStatus.FAILED, error
        raise TrainingError(error) from exc


def _claim(run_id: int) -> TrainingRun | None:
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            logger.warning("training run %s does not exist; nothing to do", run_id)
            return None
        if run.status != RunStatus.QUEUED:
            # A redelivered message of a run whose worker died: fail it (not run again).
            if run.status == RunStatus.RUNNING and training_run_fail_if_dead(run=run):
                logger.warning("training run %s: its worker died; failed", run_id)
            else:
                logger.warning("training run %s is %s; nothing to do", run_id, run.status)
            return None
        run.status, run.started_at, run.stage = RunStatus.RUNNING, timezone.now(), "reading"
        run.heartbeat_at = run.started_at
        run.save(update_fields=["status", "started_at", "stage", "heartbeat_at"])
    return run


def _progress(run: TrainingRun, progress: float, stage: str, **fields: Any) -> None:
    fields.update(progress=progress, stage=stage)
    if not TrainingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(**fields):
        raise TrainingStopped
    for key, value in fields.items():
        setattr(run, key, value)


def _split(data: Interactions) -> LeaveOneOut:
    sequences = [dedupe_latest(s) for s in data.sequences()]
    return leave_one_out(sequences, data.n_items)


def _fit(kind: str, split: LeaveOneOut) -> Recommender:
    """The model of ``kind`` with settings searched on the validation items (those given in
    ``RECOMMENDER_MODEL_CONFIG`` stay as given)."""
    given = getattr(settings, "RECOMMENDER_MODEL_CONFIG", {}).get(kind, {})
    model, _ = search_model(
        kind,
        split,
        budget=search_budget(),
        base=model_config(kind),
        pinned=pinned_settings(given),
        max_trials=int(getattr(settings, "RECOMMENDER_SEARCH_TRIALS", MAX_TRIALS)),
    )
    return model


def _evaluate_active(
    kind: str, data: Interactions, split: LeaveOneOut, vectors: np.ndarray
) -> tuple[ModelVersion | None, float | None]:
    """The active version of ``kind`` and its NDCG@10 on this run's held-out items."""
    active = ModelVersion.objects.filter(kind=kind, is_active=True).first()
    if active is None:
        return None, None
    try:
        loaded = load_version(active)
        remapped = RemappedModel(loaded, user_ids=data.user_ids, item_ids=data.item_ids)
        metrics = evaluate_split(
            remapped, split.test_history, split.test_target, item_vectors=vectors
        )
        return active, metrics["NDCG@10"]
    except Exception:  # an unreadable active model is compared by its recorded metrics
        logger.warning("active %s v%s cannot be re-evaluated", kind, active.version, exc_info=True)
        return active, active.ndcg10


def training_execute(*, run_id: int) -> TrainingRun | None:
    """Run a queued training to the end; the run row says how it went."""
    run = _claim(run_id)
    if run is None:
        return None
    with jobs.heartbeat(TrainingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING)):
        _execute(run)
    run.refresh_from_db()
    return run


def _execute(run: TrainingRun) -> None:
    folder: Path | None = None
    try:
        run.feedback_taken = hub.feedback_take(family(run.kind))
        TrainingRun.objects.filter(pk=run.pk).update(feedback_taken=run.feedback_taken)
        data = event_log_interactions()
        _progress(
            run, 0.1, "splitting", n_users=data.n_users, n_items=data.n_items, n_events=len(data)
        )
        split = _split(data)
        _progress(run, 0.2, "searching")
        start = time.perf_counter()
        model = _fit(run.kind, split)
        train_seconds = time.perf_counter() - start
        _progress(run, 0.8, "evaluating", train_seconds=train_seconds)
        vectors = reference_vectors(split.train_matrix(test=True))
        metrics = evaluate_split(model, split.test_history, split.test_target, item_vectors=vectors)
        metrics["train_seconds"] = round(train_seconds, 2)
        if "search" in model.meta:
            metrics["valid_NDCG@10"] = model.meta["search"]["valid_ndcg10"]
        active, active_ndcg = _evaluate_active(run.kind, data, split, vectors)
        floor = None
        if run.kind in SEQUENCE_KINDS:  # no collapse: it must beat the serving factorisation
            floor = _evaluate_active(settings.RECOMMENDER_MF_KIND, data, split, vectors)
        version_no = (
            ModelVersion.objects.filter(kind=run.kind).aggregate(n=Max("version"))["n"] or 0
        ) + 1
        relative = f"{run.kind}/{version_no}"
        folder = Path(settings.MODEL_ROOT) / relative
        if folder.exists():
            shutil.rmtree(folder)  # left over from a crashed run that never registered it
        model.meta.update(user_ids=data.user_ids, item_ids=data.item_ids, trained_at=time.time())
        model.save(folder)
        _register(run, model, metrics, relative, version_no, active, active_ndcg, floor)
    except Exception as exc:
        stopped = isinstance(exc, TrainingStopped)
        if stopped:
            logger.warning("training run %s (%s) was stopped from outside", run.pk, run.kind)
        else:
            logger.exception("training run %s (%s) failed", run.pk, run.kind)
        if (
            folder is not None
            and not ModelVersion.objects.filter(
                kind=run.kind, artifact_path=f"{run.kind}/{folder.name}"
            ).exists()
        ):
            shutil.rmtree(folder, ignore_errors=True)
        if not stopped:
            TrainingRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
                stage="failed",
                status=RunStatus.FAILED,
                error=_failure_message(exc),
                finished_at=timezone.now(),
            )


def _failure_message(exc: Exception) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        return "The training ran past its time limit and was stopped."
    return f"{type(exc).__name__}: {exc}"


@transaction.atomic
def _register(
    run: TrainingRun,
    model: Recommender,
    metrics: dict[str, float],
    relative: str,
    version_no: int,
    active: ModelVersion | None,
    active_ndcg: float | None,
    floor: tuple[ModelVersion | None, float | None] | None = None,
) -> ModelVersion:
    if (
        not TrainingRun.objects.select_for_update()
        .filter(pk=run.pk, status=RunStatus.RUNNING)
        .exists()
    ):
        raise TrainingStopped
    new_ndcg = metrics["NDCG@10"]
    better = active is None or active_ndcg is None or new_ndcg >= active_ndcg
    evaluated, minimum = int(metrics.get("users", 0)), min_eval_users()
    if evaluated < minimum:
        better = False
        serves = f"v{active.version} still serves" if active else "popularity serves meanwhile"
        reason = (
            f"not activated: evaluated on {evaluated} listener{'s' if evaluated != 1 else ''}, "
            f"fewer than the {minimum} RECOMMENDER_MIN_EVAL_USERS asks; {serves}"
        )
    elif active is None:
        reason = "first version of this kind"
    elif better:
        reason = f"NDCG@10 {new_ndcg:.4f} ≥ active v{active.version}'s {active_ndcg:.4f}"
    else:
        reason = (
            f"not activated: NDCG@10 {new_ndcg:.4f} < active v{active.version}'s "
            f"{active_ndcg:.4f} on the same held-out events"
        )
    floor_version, floor_ndcg = floor or (None, None)
    if better and floor_version is not None and floor_ndcg is not None and new_ndcg <= floor_ndcg:
        better = False
        reason = (
            f"not activated: NDCG@10 {new_ndcg:.4f} does not beat the serving "
            f"{floor_version.kind} v{floor_version.version}'s {floor_ndcg:.4f} on the same "
            "held-out plays (a sequence model that does not beat matrix factorisation is not "
            "promoted)"
        )
    config = model._config()
    if "search" in model.meta:
        config["search"] = model.meta["search"]  # what was tried and chosen, for the admin
    version = ModelVersion.objects.create(
        kind=run.kind,
        version=version_no,
        artifact_path=relative,
        config=config,
        n_users=run.n_users,
        n_items=run.n_items,
        n_events=run.n_events,
        metrics={k: float(v) for k, v in metrics.items()},
        ndcg10=new_ndcg,
        hr10=metrics["HR@10"],
        reason=reason,
    )
    if better:
        _activate(version)
    run.status, run.progress, run.stage = RunStatus.SUCCEEDED, 1.0, "done"
    run.finished_at, run.version = timezone.now(), version
    run.save(update_fields=["status", "progress", "stage", "finished_at", "version"])
    logger.info("training run %s → %s v%s: %s", run.pk, run.kind, version_no, reason)
    return version


def _activate(version: ModelVersion) -> None:
    ModelVersion.objects.filter(kind=version.kind, is_active=True).exclude(pk=version.pk).update(
        is_active=False
    )
    version.is_active, version.activated_at = True, timezone.now()
    version.save(update_fields=["is_active", "activated_at"])


@transaction.atomic
def version_activate(*, version: ModelVersion, reason: str = "activated by staff") -> ModelVersion:
    """Make ``version`` the active one of its kind: its artifact must be loadable
    (``ArtifactError``) and it must have been evaluated on ``min_eval_users`` listeners
    (``TrainingError``)."""
    load_version(version)  # raises ArtifactError for a missing or corrupt folder
    version = ModelVersion.objects.select_for_update().get(pk=version.pk)
    refusal = activation_refusal(version)
    if refusal is not None:
        raise TrainingError(f"{version.kind} v{version.version} cannot serve: {refusal}")
    _activate(version)
    version.reason = reason
    version.save(update_fields=["reason"])
    return version


def version_rollback(*, kind: str) -> ModelVersion:
    """Activate the newest version of ``kind`` older than the active one that may serve."""
    active = ModelVersion.objects.filter(kind=kind, is_active=True).first()
    older = ModelVersion.objects.filter(kind=kind)
    if active is not None:
        older = older.filter(version__lt=active.version)
    candidates = list(older.order_by("-version"))
    previous = next((v for v in candidates if activation_refusal(v) is None), None)
    if previous is None:
        if candidates:
            raise TrainingError(
                f"no earlier {kind} version to roll back to: each was evaluated on fewer than "
                f"{min_eval_users()} listeners (RECOMMENDER_MIN_EVAL_USERS)"
            )
        raise TrainingError(f"no earlier {kind} version to roll back to")
    reason = f"rolled back from v{active.version}" if active else "rolled back"
    return version_activate(version=previous, reason=reason)


def training_trigger_on_feedback(signals: list) -> None:
    """Listening hub subscriber: queue a retraining once a model has enough new feedback.

    ``RECOMMENDER_RETRAIN_AFTER_FEEDBACK`` signals (default 500) since the last training of the
    MF kind (``RECOMMENDER_MF_KIND``) or the sequence kind (``RECOMMENDER_SEQUENCE_KIND``).
    Runs once per committed write: one query for both counters, and one more only when a
    counter is over the threshold (a queued or running run of that kind already covers it).
    """
    threshold = int(getattr(settings, "RECOMMENDER_RETRAIN_AFTER_FEEDBACK", 500))
    if threshold <= 0:
        return
    model_kinds = (
        getattr(settings, "RECOMMENDER_MF_KIND", "als"),
        getattr(settings, "RECOMMENDER_SEQUENCE_KIND", "sasrec"),
    )
    counts = hub.feedback_counts([family(kind) for kind in model_kinds])
    due = [kind for kind in model_kinds if counts[family(kind)] >= threshold]
    if not due:
        return
    # A run open, or one failed within FEEDBACK_RETRY_AFTER_FAILURE_S (the broker down: each
    # write would otherwise add a failed run), covers the kind.
    failed_since = timezone.now() - timedelta(seconds=FEEDBACK_RETRY_AFTER_FAILURE_S)
    covered = set(
        TrainingRun.objects.filter(kind__in=due)
        .filter(
            Q(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
            | Q(status=RunStatus.FAILED, finished_at__gte=failed_since)
        )
        .values_list("kind", flat=True)
    )
    for model_kind in due:
        if model_kind not in covered:
            training_request(kind=model_kind, trigger=RunTrigger.FEEDBACK)
