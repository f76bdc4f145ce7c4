"""A Django project in one module for tests/test_peer_rewrite.py, run by real servers in
their own processes (``tests.rewrite_django:wsgi`` / ``:asgi``). Importing it configures
Django, so the test process never imports it."""

from __future__ import annotations

import django
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path

from tests.rewrite_apps import CONFIG
from tests.servers import django_settings

settings.configure(**django_settings(__name__, CONFIG))
django.setup()


def github(request: HttpRequest) -> JsonResponse:
    verdict = request.webhook  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "ok": verdict.ok,
            "client_ip": verdict.client_ip,
            "framework_addr": request.META.get("REMOTE_ADDR"),
        }
    )


urlpatterns = [path("hooks/github", github)]

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from werkzeug.middleware.proxy_fix import ProxyFix  # noqa: E402

wsgi = get_wsgi_application()
asgi = get_asgi_application()
# Django has no ProxyFix of its own; werkzeug's is what deployments put around it.
wsgi_proxyfix = ProxyFix(wsgi, x_for=1)


def runserver(port: str) -> None:
    """``manage.py runserver`` for this project (no autoreloader: one process to stop)."""
    from django.core.management import call_command

    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
