"""The Django project of tests/test_handshakes.py in one module, run by gunicorn in its own
process (``tests.handshake_django:wsgi``): Django's CSRF middleware on, as in a real
project. With ``WG_HANDSHAKE_PROTECT=1`` the views are decorated with ``protect(route)``
and the middleware checks nothing itself (``GUARD_ALL: False``); otherwise the middleware
guards every route. Importing it configures Django, so the test process never imports it."""

from __future__ import annotations

import json
import os

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

from tests.handshake_apps import APP_ANSWER, CONFIG, record
from tests.servers import django_settings

PROTECT = os.environ.get("WG_HANDSHAKE_PROTECT") == "1"
options = django_settings(__name__, CONFIG)
if PROTECT:
    options["WEBHOOK_GUARD"]["GUARD_ALL"] = False
settings.configure(**options)
django.setup()

from webhook_guard.adapters.django import protect  # noqa: E402 (needs settings)


def hook(request: HttpRequest, name: str = "") -> HttpResponse:
    query = request.META.get("QUERY_STRING", "")
    record(request.method or "", request.path + (f"?{query}" if query else ""), request.body)
    return HttpResponse(APP_ANSWER, content_type="text/plain")


if PROTECT:
    with open(CONFIG, encoding="utf-8") as file:
        names = [route["name"] for route in json.load(file)["routes"]]
    urlpatterns = [path(f"hooks/{name}", protect(name)(hook)) for name in names]
else:
    urlpatterns = [path("hooks/<str:name>", hook)]

from django.core.wsgi import get_wsgi_application  # noqa: E402

wsgi = get_wsgi_application()
