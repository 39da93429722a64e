"""``/health/``: whether the database, the cache and Celery's broker answer (django-health-check).

Containers probe it from inside (``curl http://127.0.0.1:8000/health/``), where the Host header
is no production host name and the request is plain HTTP. ``LoopbackHealthMiddleware`` serves
that probe before the host check and the HTTPS redirect; every other request, a probe from any
other address included, goes through both as usual.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from ipaddress import ip_address

from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

HEALTH_PATH = "/health/"


@dataclasses.dataclass
class Broker(HealthCheck):
    """Check that Celery's broker accepts a connection (where every task is queued)."""

    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=3), repr=False
    )

    def run(self) -> None:
        from musicsite.celery import app

        try:
            with app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=0, timeout=self.timeout.total_seconds())
        except Exception as exc:  # kombu's OperationalError, a transport's own, a bad URL
            raise ServiceUnavailable("The broker does not answer") from exc


class HealthView(HealthCheckView):
    """django-health-check's page, answering 503 (not 500) while a service is down: the site is
    unavailable, not broken, and load balancers and monitors read it so."""

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503
        return response


health = HealthView.as_view(checks=[Database, Cache, Broker])


def _from_loopback(request: HttpRequest) -> bool:
    try:
        return ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


class LoopbackHealthMiddleware:
    """Answer ``GET /health/`` from a loopback address at once, whatever its Host header."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == HEALTH_PATH and request.method == "GET" and _from_loopback(request):
            response = async_to_sync(health)(request)  # django-health-check's view is async
            if hasattr(response, "render"):  # its HTML page: rendered here, as a view's would be
                response.render()
            return response
        return self.get_response(request)
