"""Slack.

Sources: slack_sdk signature/__init__.py, docs test vector.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "slack": Preset(
        issued=True,
        signature={
            "header": "x-slack-signature",
            "timestamp_header": "x-slack-request-timestamp",
            "algorithm": "sha256",
            "encoding": "hex",
            "prefix": "v0=",
            "signed_content": "v0:{timestamp}:{body}",
        },
        # Slack re-signs retries (new timestamp, new signature), so only the body's ID
        # recognises them; forms (slash commands) have none and fall back to the digest.
        event_id={"json": "/event_id"},
        handshake="slack",
        summary={
            "signature": "HMAC-SHA256, hex, prefix `v0=`",
            "tolerance": "the route's `tolerance` (default 300 s), in both directions",
            "headers": "`X-Slack-Signature: v0=<hex>`, `X-Slack-Request-Timestamp`",
            "signed bytes": "`v0:{timestamp}:{body}`",
            "key": "the signing secret's UTF-8 bytes",
            "event id": "the body's `event_id` (Events API: the same on Slack's re-signed "
            "retries), else a digest of the verified signature (slash commands, "
            "interactivity)",
            "timestamp": "`X-Slack-Request-Timestamp`, Unix seconds, both ways",
            "quirks": "slash-command and interactivity bodies are forms: verified raw; the "
            "signed `url_verification` request is answered by the guard with its `challenge`",
        },
    ),
}
