"""Celery tasks of the generator app (routed to the ``ml`` queue by name)."""

from celery import shared_task

from generator import services


@shared_task(name="generator.run_generation_job", soft_time_limit=300, time_limit=360)
def run_generation_job(job_id: int) -> str:
    return services.generation_job_run(job_id=job_id).status


@shared_task(name="generator.fine_tune", soft_time_limit=3600, time_limit=3900)
def fine_tune() -> int | None:
    version = services.generator_fine_tune()
    return version.pk if version else None
