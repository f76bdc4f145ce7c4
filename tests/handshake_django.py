"""The Django project of tests/test_handshakes.py in one module, run by gunicorn in its own
process (``tests.handshake_django:wsgi``): WebhookGuardMiddleware before Django's CSRF
middleware, as django_settings() sets it up. Importing it configures Django, so the test
process never imports it."""

from __future__ import annotations

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

from tests.handshake_apps import APP_ANSWER, CONFIG, record
from tests.servers import django_settings

settings.configure(**django_settings(__name__, CONFIG))
django.setup()


def hook(request: HttpRequest, name: str) -> HttpResponse:
    query = request.META.get("QUERY_STRING", "")
    record(request.method or "", request.path + (f"?{query}" if query else ""), request.body)
    return HttpResponse(APP_ANSWER, content_type="text/plain")


urlpatterns = [path("hooks/<str:name>", hook)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

wsgi = get_wsgi_application()
