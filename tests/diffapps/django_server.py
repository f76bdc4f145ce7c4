"""Django's WSGI and ASGI applications for tests/diffapps/django_app.py."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.diffapps.django_app")

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

from . import rewrite_asgi, rewrite_wsgi

wsgi = rewrite_wsgi(get_wsgi_application())
asgi = rewrite_asgi(get_asgi_application())
