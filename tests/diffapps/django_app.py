"""Django settings, URLs and views, under gunicorn, runserver or uvicorn (ASGI).

The views are ``csrf_exempt``, as views taking webhooks often are, so that only the guard
stands between an unsigned request and them.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from . import CONFIG, ran

DEBUG = False
SECRET_KEY = "test-only-not-secret"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
WSGI_APPLICATION = "tests.diffapps.django_server.wsgi"  # runserver's
INSTALLED_APPS = ["webhook_guard.adapters.django"]
MIDDLEWARE = [
    "webhook_guard.adapters.django.WebhookGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
WEBHOOK_GUARD = {"CONFIG": CONFIG}
USE_TZ = True


@csrf_exempt
def orders(request: HttpRequest) -> HttpResponse:
    return HttpResponse(ran("orders"))


@csrf_exempt
def builds(request: HttpRequest, rest: str) -> HttpResponse:
    return HttpResponse(ran("builds"))


def public(request: HttpRequest, rest: str) -> HttpResponse:
    return HttpResponse("public")


urlpatterns = [
    path("hooks/orders", orders),
    path("hooks/builds/<path:rest>", builds),
    path("public/<path:rest>", public),
]
