"""gunicorn's configuration: the image and compose's ``web`` run it, and so do the HTTP benchmarks
(bench/server.py), so what is deployed is what was measured.

``gunicorn -c gunicorn.conf.py musicsite.wsgi:application``. GUNICORN_WORKERS, GUNICORN_THREADS
and GUNICORN_BIND adjust it (README "Configuration"); the benchmarks pass their own
``--bind``, ``--workers`` and ``--threads`` on the command line, which win over this file.
"""

import os
import tempfile
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Threaded workers: a request waiting on PostgreSQL or Redis leaves the process to another.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
keepalive = 30  # seconds: mobile clients and a proxy reuse their connections
accesslog = "-"  # stdout, one line a request
# gunicorn's access line, its duration, and the request's id that its log lines carry
# (musicsite/observability.py).
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms '
    "request=%({x-request-id}o)s"
)
errorlog = "-"  # stderr

# Prometheus (musicsite/metrics.py): each worker writes its request-latency samples to files in
# this folder and /metrics adds up every worker's. Emptied at each start: counts begin at zero,
# as Prometheus expects of a restarted process.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="musicsite-metrics-")


def on_starting(server) -> None:
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
