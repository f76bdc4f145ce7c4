"""Flask under werkzeug or gunicorn, guarded by the extension (every route)."""

from __future__ import annotations

from flask import Flask

from webhook_guard.adapters.flask import WebhookGuard

from . import CONFIG, ran, rewrite_wsgi

flask = Flask(__name__)
WebhookGuard(flask, config=CONFIG)


@flask.post("/hooks/orders")
def orders() -> bytes:
    return ran("orders")


@flask.post("/hooks/builds/<path:rest>")
def builds(rest: str) -> bytes:
    return ran("builds")


@flask.route("/public/<path:rest>", methods=["GET", "POST"])
def public(rest: str) -> str:
    return "public"


app = rewrite_wsgi(flask)

if __name__ == "__main__":  # werkzeug's own server, as `flask run` uses it
    import sys

    from werkzeug.serving import run_simple

    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
