"""The signature steps: the signed timestamp's window and the signature itself."""

from __future__ import annotations

from typing import Any, cast

from ..config import RouteConfig
from ..jsonid import MISSING, resolve
from ..request import WebhookRequest
from ..secrets import MAX_ACTIVE_SECRETS, Secret
from ..signatures.base import Failure, HmacScheme, ParsedSignature
from ..signatures.timestamps import TimestampForm, check_window, parse_timestamp
from ..verdict import Reason


class SignatureCheck:
    """A route's signature scheme with its secrets' HMAC keys prepared once.

    The scheme is the route's data (header names, signed-content template, encoding);
    this is the one place that decides whether its signature holds.
    """

    __slots__ = (
        "_expiring",
        "_id_header",
        "_keys",
        "_public_url",
        "_timestamp_form",
        "early",
        "fields",
        "in_body",
        "scheme",
        "tolerance",
    )

    def __init__(self, config: RouteConfig, scheme: HmacScheme) -> None:
        self.scheme = scheme
        self.fields = scheme.fields
        #: The window for the signed timestamp, or None when the scheme signs none.
        self.tolerance = config.tolerance if scheme.has_timestamp else None
        self._public_url = config.public_url
        self._timestamp_form = cast(TimestampForm, scheme.spec.timestamp_format)
        #: The pointer to a timestamp inside the body (checked after the signature).
        self.in_body = scheme.spec.timestamp_json
        #: Whether a header timestamp is checked before the signature.
        self.early = self.tolerance is not None and not self.in_body
        # HMAC key schedules are computed once; each request copies them.
        self._keys: list[tuple[Secret, Any]] = [(s, scheme.prepare(s)) for s in config.secrets]
        # Without expiry dates the active set never changes (config allows at most
        # MAX_ACTIVE_SECRETS then), so the per-request filter can be skipped.
        self._expiring = any(s.expires is not None for s in config.secrets)
        ids = scheme.spec.id_headers
        self._id_header = ids[0] if ids else "id"

    def timestamp(self, parsed: ParsedSignature, now: float) -> Failure | int:
        """The signed timestamp if it is within the route's tolerance, else the failure."""
        raw = parsed.timestamp
        if raw is None or parsed.ts_failure is not None:
            assert parsed.ts_failure is not None
            return parsed.ts_failure
        ts = parse_timestamp(raw, self._timestamp_form)
        if isinstance(ts, Failure):
            return ts
        tolerance = self.tolerance
        assert tolerance is not None
        return check_window(tolerance, ts, now)

    def body_timestamp(self, body: bytes, now: float) -> Failure | int:
        """The timestamp inside the (verified) body if it is within the route's
        tolerance, else the failure."""
        where = "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in self.in_body)
        value = resolve(body, self.in_body)
        if value is MISSING or value is None:
            return Failure(Reason.TIMESTAMP_MISSING, f"the body has no timestamp at {where}")
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return Failure(
                Reason.TIMESTAMP_MALFORMED,
                f"the timestamp at {where} is a JSON {type(value).__name__}, not an integer "
                "or string",
            )
        ts = parse_timestamp(str(value), self._timestamp_form)
        if isinstance(ts, Failure):
            return ts
        tolerance = self.tolerance
        assert tolerance is not None
        return check_window(tolerance, ts, now)

    def verify(
        self, parsed: ParsedSignature, req: WebhookRequest, now: float
    ) -> Failure | tuple[Secret, bytes]:
        """The (secret, digest) that verifies the request, or the failure."""
        if parsed.failure is not None:
            return parsed.failure
        values: dict[str, str] = {}
        if self.fields:
            found = self._values(parsed, req)
            if isinstance(found, Failure):
                return found
            values = found
        keys = self._keys
        if self._expiring:
            keys = [k for k in keys if k[0].active(now)][:MAX_ACTIVE_SECRETS]
            if not keys:
                return Failure(
                    Reason.SIGNATURE_MISMATCH,
                    "no active secret: every configured secret has expired",
                )
        matched = self.scheme.verify(parsed, req.body, values, keys)
        if isinstance(matched, Failure):
            return matched
        if matched is None:
            return Failure(
                Reason.SIGNATURE_MISMATCH,
                f"no signature matched ({min(parsed.seen, 10)} examined); check the secret "
                "and that the body is passed on unmodified",
            )
        parsed.signed = values  # for a content digest (pipeline/eventid.py decides)
        return matched

    def _values(self, parsed: ParsedSignature, req: WebhookRequest) -> Failure | dict[str, str]:
        """The placeholder values of the signed content, from the request."""
        fields = self.fields
        values: dict[str, str] = {}
        if "id" in fields:
            if parsed.event_id is None:
                return Failure(
                    Reason.SIGNATURE_MALFORMED,
                    f"the {self._id_header} header, which the signature covers, is missing "
                    "or repeated",
                )
            values["id"] = parsed.event_id
        if "timestamp" in fields:
            if parsed.timestamp is None:
                return Failure(Reason.SIGNATURE_MALFORMED, "the signed timestamp is missing")
            values["timestamp"] = parsed.timestamp
        values["method"] = req.method
        values["path"] = req.path
        if "url" in fields:
            query = f"?{req.query}" if req.query else ""
            values["url"] = f"{self._public_url}{req.path}{query}"
        return values
