"""What docker-compose.yml, the image and .dockerignore promise an operator (no image is pulled:
the files are read as compose and Docker read them)."""

import re
import runpy
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "worker-ml", "worker-ml-cpu", "beat"]


def _words(service: str) -> list[str]:
    command = SERVICES[service].get("command", [])
    return command if isinstance(command, list) else command.split()


def _queues(service: str) -> set[str]:
    words = _words(service)
    if words[:4] != ["celery", "-A", "musicsite", "worker"]:
        return set()
    return set(words[words.index("-Q") + 1].split(","))


def _active(profiles: set[str]) -> list[str]:
    return [name for name, s in SERVICES.items() if set(s.get("profiles", [])) <= profiles]


def test_migrate_runs_no_demo_setup_and_demo_mode_is_off():
    script = " ".join(_words("migrate"))
    for demo in ("setup_demo", "seed_demo_listeners", "import_demo_catalog", "demo"):
        assert demo not in script
    assert "migrate --noinput" in script and "bootstrap_accounts" in script
    for name in ["migrate", *APP_SERVICES]:
        env = SERVICES[name]["environment"]
        assert env["DJANGO_DEMO_MODE"] == "false" and env["DJANGO_DEBUG"] == "false", name


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_start_after_migrate_completes(service):
    assert SERVICES[service]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }


@pytest.mark.parametrize("service", ["db", "redis", *APP_SERVICES])
def test_every_long_running_service_has_a_health_check(service):
    assert SERVICES[service]["healthcheck"]["test"]


def test_web_probes_the_database_cache_and_broker_check():
    assert "http://127.0.0.1:8000/health/" in " ".join(SERVICES["web"]["healthcheck"]["test"])


def test_beat_answers_its_health_check():
    assert "--enable-remote-control" in _words("beat")
    assert "celerybeat@$$HOSTNAME" in SERVICES["beat"]["healthcheck"]["test"][1]


@pytest.mark.parametrize("profile", ["gpu", "cpu"])
def test_each_profile_serves_every_queue_once(profile):
    active = _active({profile})
    ml = [name for name in active if "ml" in _queues(name)]
    assert len(ml) == 1, ml
    assert set().union(*(_queues(name) for name in active)) >= {"ml", "interactive", "default"}
    needs_nvidia = "devices" in str(SERVICES[ml[0]].get("deploy", {}))
    assert needs_nvidia == (profile == "gpu")
    assert SERVICES[ml[0]]["environment"]["ML_DEVICE"] == ("cuda" if profile == "gpu" else "cpu")


def test_env_file_urls_are_not_silently_overridden():
    env = SERVICES["web"]["environment"]
    for var in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"):
        assert re.fullmatch(rf"\$\{{{var}:-[^}}]+\}}", env[var]), env[var]


def test_compose_the_image_and_the_benchmarks_run_one_gunicorn_configuration():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread" and config["keepalive"] == 30
    assert _words("web")[:3] == ["gunicorn", "--config", "gunicorn.conf.py"]
    dockerfile = (ROOT / ".docker" / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "--config", "gunicorn.conf.py"' in dockerfile
    bench = (ROOT / "bench" / "server.py").read_text()
    assert '"--config", str(GUNICORN_CONFIG)' in bench
    for setting in ("--worker-class", "--keep-alive", "--access-logfile"):
        assert setting not in bench  # the benchmarks run the file's, not their own


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    lines = set((ROOT / ".dockerignore").read_text().split("\n"))
    for entry in (".env", ".git", ".venv", "var", "bench/results", "**/__pycache__"):
        assert entry in lines
    assert "!.env.example" in lines
