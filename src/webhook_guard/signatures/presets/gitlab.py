"""GitLab (a shared token, not a signature).

Sources: docs.gitlab.com webhooks (delivery headers), MR !160952.
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "gitlab": Preset(
        signature={},
        token_header="x-gitlab-token",  # noqa: S106 (a header name, not a password)
        event_id={"header": "idempotency-key"},
        summary={
            "signature": "none: a shared token, compared in constant time",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "headers": "`X-Gitlab-Token: <token>` (plaintext), `Idempotency-Key`",
            "signed bytes": "none: the token authenticates the sender, not the body",
            "key": "the route's `secrets` are the accepted tokens (constant-time compare)",
            "event id": "`Idempotency-Key` (GitLab 17.4+, the same on retry and resend); "
            "not `X-Gitlab-Event-UUID`, which recursive hooks share; without it, a digest "
            "of the body",
            "timestamp": "none",
            "quirks": "GitLab 19 signing tokens are Standard Webhooks: use "
            "`provider: standard` for those; a 4xx disables the hook permanently",
        },
    ),
}
