"""Provider presets: named, checked fill-ins for the generic ``signature:`` block.

A preset is correct only when a request signed by the provider's own SDK, or by its
documented algorithm, verifies; tests/test_standard_preset.py signs with the real
``standardwebhooks`` and ``svix`` packages.
"""

from __future__ import annotations

from typing import Any

#: name -> defaults for the ``signature:`` block. ``generic`` has none: the user says it all.
PRESETS: dict[str, dict[str, Any]] = {
    "generic": {},
    # Standard Webhooks v1 (https://www.standardwebhooks.com/, spec v1.0.0) and Svix, which
    # is the same scheme under svix-* names. Secret: "whsec_" + base64 of the key bytes.
    "standard": {
        "header": ["webhook-signature", "svix-signature"],
        "timestamp_header": ["webhook-timestamp", "svix-timestamp"],
        "id_header": ["webhook-id", "svix-id"],
        "algorithm": "sha256",
        "encoding": "base64",
        "format": "list",
        "separator": " ",
        "version": "v1",
        "signed_content": "{id}.{timestamp}.{body}",
        "secret_prefix": "whsec_",
        "secret_encoding": "base64",
    },
}
