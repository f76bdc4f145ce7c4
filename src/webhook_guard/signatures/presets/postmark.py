"""Postmark (HTTP basic auth in the webhook URL, plus its published source addresses).

Sources: postmarkapp.com/developer/webhooks/webhooks-overview (no signature: protect the
URL with basic auth, ``https://<username>:<password>@example.com/webhook``, and/or a
firewall on Postmark's webhook IPs); postmarkapp.com/support/article/800-ips-for-firewalls
(the webhook addresses, shipped as the ``postmark`` list of ``allow_ips``).
"""

from __future__ import annotations

from .model import Preset

PRESETS: dict[str, Preset] = {
    "postmark": Preset(
        signature={},
        token_header="authorization",  # noqa: S106 (a header name)
        token_source="basic",  # noqa: S106 (where the token is, not a password)
        summary={
            "headers": "`Authorization: Basic <base64 user:password>` (from the webhook URL)",
            "signature": "none: basic-auth credentials, the password compared in constant time",
            "signed bytes": "none: the credentials authenticate the sender, not the body",
            "key": "the password you put in the webhook URL (route `secrets`); the user "
            "name is not checked",
            "event id": "none is sent: a digest of the body",
            "timestamp": "none",
            "tolerance": "none: no timestamp is signed, so replays are stopped by dedup alone",
            "quirks": "nothing is signed: use HTTPS, and `allow_ips: [postmark]` for "
            "Postmark's published webhook addresses",
        },
    ),
}
