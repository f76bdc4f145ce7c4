"""Send real-looking GitHub, GitLab and Bitbucket push deliveries, and some attacks.

Each delivery is signed the way the provider itself signs it (HMAC-SHA256 of the exact
body bytes, hex, in the provider's header), with the provider's other headers and a
trimmed but genuine-shaped push payload. The script also plays the load balancer in front
of the guard: it adds ``X-Forwarded-For`` with an address from the provider's published
range (or an attacker's address).

Prints one line per delivery and exits 1 if any outcome differs from what the guard in
``webhook-guard.yaml`` should do.

Run:  python examples/flexdeploy_like/send_deliveries.py --url http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

# The secrets in webhook-guard.yaml (the provider side of each shared secret).
GITHUB_SECRET = "flexdeploy-github-secret"
GITHUB_URL_TOKEN = "flexdeploy-url-token"
GITLAB_TOKEN = "flexdeploy-gitlab-token"
BITBUCKET_SECRET = "flexdeploy-bitbucket-secret"

GITHUB_IP = "140.82.115.10"  # in GitHub's `hooks` range, https://api.github.com/meta
GITLAB_IP = "34.74.90.66"  # in GitLab.com's 34.74.90.64/28
BITBUCKET_IP = "104.192.137.5"  # in Atlassian's 104.192.136.0/21
ATTACKER_IP = "198.51.100.23"

BASE = "/flexdeploy/webhooks/v1/git"
SHA_BEFORE = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"


def github_push(after: str) -> bytes:
    payload = {
        "ref": "refs/heads/main",
        "before": SHA_BEFORE,
        "after": after,
        "repository": {
            "id": 186853002,
            "name": "release-pipeline",
            "full_name": "acme/release-pipeline",
            "private": True,
            "owner": {"login": "acme", "id": 21031067, "type": "Organization"},
            "html_url": "https://github.com/acme/release-pipeline",
            "clone_url": "https://github.com/acme/release-pipeline.git",
            "default_branch": "main",
        },
        "pusher": {"name": "mona", "email": "mona@example.com"},
        "sender": {"login": "mona", "id": 583231, "type": "User"},
        "created": False,
        "deleted": False,
        "forced": False,
        "compare": f"https://github.com/acme/release-pipeline/compare/{SHA_BEFORE[:12]}...{after[:12]}",
        "head_commit": {
            "id": after,
            "message": "Bump service to 2.4.1 \u2014 r\u00e9lease notes",
            "timestamp": "2026-11-23T15:02:11+01:00",
            "author": {"name": "Mona Lisa", "email": "mona@example.com", "username": "mona"},
            "added": [],
            "removed": [],
            "modified": ["deploy/values.yaml"],
        },
    }
    payload["commits"] = [payload["head_commit"]]
    # GitHub sends compact-ish JSON with raw UTF-8; the signature covers these exact bytes.
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def gitlab_push(after: str) -> bytes:
    return json.dumps(
        {
            "object_kind": "push",
            "event_name": "push",
            "before": SHA_BEFORE,
            "after": after,
            "ref": "refs/heads/main",
            "ref_protected": True,
            "checkout_sha": after,
            "user_id": 4,
            "user_name": "John Smith",
            "user_username": "jsmith",
            "project_id": 15,
            "project": {
                "id": 15,
                "name": "release-pipeline",
                "path_with_namespace": "acme/release-pipeline",
                "web_url": "https://gitlab.com/acme/release-pipeline",
                "git_http_url": "https://gitlab.com/acme/release-pipeline.git",
                "default_branch": "main",
            },
            "commits": [
                {
                    "id": after,
                    "message": "Bump service to 2.4.1\n",
                    "timestamp": "2026-11-23T14:02:11+00:00",
                    "author": {"name": "John Smith", "email": "jsmith@example.com"},
                    "modified": ["deploy/values.yaml"],
                }
            ],
            "total_commits_count": 1,
        }
    ).encode()


def bitbucket_push(after: str) -> bytes:
    return json.dumps(
        {
            "actor": {"display_name": "Ada Byron", "type": "user", "nickname": "ada"},
            "repository": {
                "type": "repository",
                "full_name": "acme/release-pipeline",
                "name": "release-pipeline",
                "uuid": "{3f0b7c1e-6b5a-4f1e-9a52-0c7e1b2a9d44}",
                "is_private": True,
            },
            "push": {
                "changes": [
                    {
                        "new": {"type": "branch", "name": "main", "target": {"hash": after}},
                        "old": {"type": "branch", "name": "main", "target": {"hash": SHA_BEFORE}},
                        "created": False,
                        "closed": False,
                        "forced": False,
                    }
                ]
            },
        }
    ).encode()


def hex_hmac(secret: str, body: bytes, algorithm: str = "sha256") -> str:
    return hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).hexdigest()


def github_headers(body: bytes, delivery: str, secret: str = GITHUB_SECRET) -> dict[str, str]:
    # docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers
    return {
        "User-Agent": "GitHub-Hookshot/044aadd",
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "292430182",
        "X-GitHub-Hook-Installation-Target-Type": "repository",
        "X-GitHub-Hook-Installation-Target-ID": "186853002",
        "X-Hub-Signature": "sha1=" + hex_hmac(secret, body, "sha1"),
        "X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body),
    }


def gitlab_headers(delivery: str, token: str = GITLAB_TOKEN) -> dict[str, str]:
    # docs.gitlab.com/user/project/integrations/webhooks/#delivery-headers
    return {
        "User-Agent": "GitLab/17.6.0",
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Instance": "https://gitlab.com",
        "X-Gitlab-Webhook-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e",
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "Idempotency-Key": delivery,
        "X-Gitlab-Token": token,
    }


def bitbucket_headers(body: bytes, delivery: str) -> dict[str, str]:
    # support.atlassian.com/bitbucket-cloud/docs/event-payloads/ (HTTP headers)
    return {
        "User-Agent": "Bitbucket-Webhooks/2.0",
        "Content-Type": "application/json",
        "X-Event-Key": "repo:push",
        "X-Hook-UUID": "{9cf1a2b7-3d3e-4e8f-8b1a-5f0c2e7d6a13}",
        "X-Request-UUID": delivery,
        "X-Attempt-Number": "1",
        "X-Hub-Signature": "sha256=" + hex_hmac(BITBUCKET_SECRET, body),
    }


@dataclass
class Delivery:
    label: str
    path: str
    expect: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    reason: str | None = None
    proxy_only: bool = False
    """Resource matching: only the proxy refuses paths outside the configured routes."""


def deliveries() -> list[Delivery]:
    # Each run is a new push (a new commit), as it would be for real: the guard remembers
    # deliveries it has processed, so a second run with the same bodies and IDs would be
    # answered as a redelivery.
    after = os.urandom(20).hex()
    gh_body, gl_body, bb_body = github_push(after), gitlab_push(after), bitbucket_push(after)
    gh_url = f"{BASE}/github?token={GITHUB_URL_TOKEN}"
    gl_url = f"{BASE}/gitlab"

    def gh(secret: str = GITHUB_SECRET, xff: str = GITHUB_IP) -> dict[str, str]:
        return {**github_headers(gh_body, str(uuid.uuid4()), secret), "X-Forwarded-For": xff}

    def gl(token: str = GITLAB_TOKEN, xff: str = GITLAB_IP) -> dict[str, str]:
        return {**gitlab_headers(str(uuid.uuid4()), token), "X-Forwarded-For": xff}

    bb = {**bitbucket_headers(bb_body, str(uuid.uuid4())), "X-Forwarded-For": BITBUCKET_IP}
    first = gh()
    tampered = gh_body.replace(b"refs/heads/main", b"refs/heads/prod")
    # The attacker claims GitHub's address; the load balancer appends the real one.
    spoofed = f"{GITHUB_IP}, {ATTACKER_IP}"
    to_admin = f"{BASE}/github/../../../../admin"
    encoded = f"{BASE}/github/%2e%2e/%2e%2e/%2e%2e/%2e%2e/admin"
    return [
        Delivery("GitHub push", gh_url, 202, gh_body, first),
        Delivery("GitLab push (classic token)", gl_url, 202, gl_body, gl()),
        Delivery("Bitbucket Cloud push", f"{BASE}/bitbucket", 202, bb_body, bb),
        Delivery("GitHub redelivery (same delivery ID)", gh_url, 200, gh_body, first,
                 reason="duplicate_event"),
        Delivery("GitHub push, body tampered", gh_url, 401, tampered, gh(),
                 reason="signature_mismatch"),
        Delivery("GitHub push, no URL token", f"{BASE}/github", 401, gh_body, gh(),
                 reason="token_missing"),
        Delivery("GitHub push, wrong secret", gh_url, 401, gh_body, gh(secret="guessed"),
                 reason="signature_mismatch"),
        Delivery("GitLab push, wrong token", gl_url, 401, gl_body, gl(token="guessed"),
                 reason="token_invalid"),
        Delivery(f"{ATTACKER_IP} posing as GitHub", gh_url, 403, gh_body, gh(xff=spoofed),
                 reason="ip_not_allowed"),
        Delivery("GitLab push from GitHub's range", gl_url, 403, gl_body, gl(xff=GITHUB_IP),
                 reason="ip_not_allowed"),
        Delivery("GET the push endpoint", gh_url, 405, method="GET",
                 headers={"X-Forwarded-For": GITHUB_IP}, reason="method_not_allowed"),
        Delivery("the FlexDeploy application itself", "/flexdeploy", 404, method="GET",
                 reason="route_not_found", proxy_only=True),
        Delivery("its admin page", "/flexdeploy/admin", 404, method="GET",
                 reason="route_not_found", proxy_only=True),
        Delivery("an unexposed webhook endpoint", "/flexdeploy/webhooks/v1/jenkins", 404, b"{}",
                 reason="route_not_found", proxy_only=True),
        Delivery("admin via ../ from a webhook path", to_admin, 404, method="GET",
                 reason="route_not_found", proxy_only=True),
        Delivery("admin via %2e%2e", encoded, 404, method="GET", reason="route_not_found",
                 proxy_only=True),
        Delivery("webhook path with %2F", f"{BASE}%2Fgithub?token={GITHUB_URL_TOKEN}", 404,
                 gh_body, gh(), reason="route_not_found"),
    ]  # fmt: skip


def send(base: str, d: Delivery) -> tuple[int, dict[str, Any]]:
    parts = urlsplit(base)
    # http.client sends the path exactly as written; most clients would resolve "..".
    conn = http.client.HTTPConnection(parts.netloc, timeout=15)
    try:
        conn.request(d.method, d.path, d.body or None, d.headers)
        response = conn.getresponse()
        text = response.read()
    finally:
        conn.close()
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {"text": text.decode(errors="replace")}
    return response.status, data if isinstance(data, dict) else {"json": data}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url", default="http://127.0.0.1:8080", help="the guard (default: %(default)s)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="the app is protected by GuardMiddleware (app_middleware.py), not the proxy: "
        "skip the paths outside the configured routes, which only the proxy refuses",
    )
    args = parser.parse_args(argv)
    failures = 0
    for d in deliveries():
        if args.in_process and d.proxy_only:
            continue
        status, data = send(args.url, d)
        reason = data.get("reason")
        ok = status == d.expect and (d.reason is None or reason == d.reason)
        failures += not ok
        got = f"{status} {reason or data.get('build') or ''}".strip()
        mark = "ok  " if ok else "FAIL"
        want = f" (expected {d.expect} {d.reason or ''})" if not ok else ""
        print(f"{mark} {d.label:<44} {got}{want}")
    print(f"\n{failures} unexpected outcome(s)" if failures else "\nevery outcome as expected")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
