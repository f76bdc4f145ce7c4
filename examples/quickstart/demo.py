"""A two-minute tour of webhook_guard's core, with nothing to set up.

Run:  python examples/quickstart/demo.py
"""

from __future__ import annotations

import json
from pathlib import Path

from webhook_guard import Guard, WebhookRequest
from webhook_guard.testing import FakeClock, sign

CONFIG = Path(__file__).with_name("webhook-guard.yaml")


def show(label: str, guard: Guard, req: WebhookRequest) -> None:
    verdict = guard.check(req)
    if verdict.ok and verdict.route is None:
        outcome = "not a webhook route: passed through"
    elif verdict.ok:
        outcome = "ACCEPTED"
    elif verdict.duplicate:
        outcome = f"ACKNOWLEDGED {verdict.status}, handler not run ({verdict.reason})"
    else:
        outcome = f"REFUSED {verdict.status} {verdict.reason}"
    print(f"{label:<44} {outcome}")
    if verdict.detail:
        print(f"{'':<44}   {verdict.detail}")
    if verdict.ok and verdict.route:
        print(f"{'':<44}   secret={verdict.secret_id} event={verdict.event_id}")
        guard.complete(verdict, status=200)  # the handler answered 200


def main() -> None:
    clock = FakeClock()
    guard = Guard.from_file(CONFIG, clock=clock)
    body = json.dumps({"order": 1234, "total": "9.99"}).encode()
    headers = sign(guard, "orders", body, event_id="msg_demo_1")

    def post(h: dict[str, str], b: bytes = body, path: str = "/hooks/orders") -> WebhookRequest:
        return WebhookRequest("POST", path, headers=h, body=b, peer="203.0.113.9")

    print(f"config: {CONFIG}\n")
    show("1. genuine Standard Webhooks delivery", guard, post(headers))
    show("2. the same delivery again (replay)", guard, post(headers))
    show("3. body tampered in transit", guard, post(headers, body.replace(b"9.99", b"0.01")))
    stale = sign(guard, "orders", body, event_id="msg_demo_2", timestamp=int(clock()) - 412)
    show("4. captured and replayed 412 s later", guard, post(stale))
    old = sign(
        guard,
        "orders",
        body,
        event_id="msg_demo_3",
        secret="whsec_dGhpcyBpcyB0aGUgb2xkIGRlbW8gc2VjcmV0",
    )
    show("5. signed with the previous secret", guard, post(old))
    show("6. path spelled /hooks//orders", guard, post(headers, path="/hooks//orders"))
    show("7. a path no route covers (passed through)", guard, post({}, path="/health"))

    build = json.dumps({"delivery": {"id": "d-77"}, "status": "green"}).encode()
    bh = sign(guard, "builds", build)
    req = WebhookRequest(
        "POST", "/hooks/builds/ci", query="token=demo-url-token", headers=bh, body=build
    )
    show("8. in-house sender with URL token", guard, req)
    req = WebhookRequest("POST", "/hooks/builds/ci", query="token=guess", headers=bh, body=build)
    show("9. same, wrong token", guard, req)


if __name__ == "__main__":
    main()
