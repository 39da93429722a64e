"""Celery tasks of the generator app (routed to the ``ml`` queue by name; the reaper to
``interactive``, see settings)."""

from celery import shared_task

from generator import services, services_recovery

# A worker lost mid-job (its process killed) gives the message back to the queue: the job's
# claim is safe to repeat (see services.generation_job_run).
RUN_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(
    bind=True,
    name="generator.run_generation_job",
    soft_time_limit=300,
    time_limit=360,
    **RUN_OPTIONS,
)
def run_generation_job(self, job_id: int) -> str:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return services.generation_job_run(job_id=job_id, redelivered=redelivered).status


@shared_task(name="generator.fine_tune", soft_time_limit=3600, time_limit=3900)
def fine_tune() -> int | None:
    version = services.generator_fine_tune()
    return version.pk if version else None


@shared_task(name="generator.reap_jobs", soft_time_limit=60, time_limit=90)
def reap_jobs() -> dict[str, int]:
    """Beat entry: retry or fail generation jobs whose worker died or never came."""
    return services_recovery.generation_jobs_reap()
