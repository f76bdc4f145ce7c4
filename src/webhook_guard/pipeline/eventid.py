"""The event-ID rule: which ID a delivery reports, and which key its replay check uses
(see docs/architecture.md, "Event IDs and replay keys")."""

from __future__ import annotations

import hashlib
import re

from ..config import EventIdConfig
from ..jsonid import find_pointer
from ..request import WebhookRequest
from ..signatures.base import HmacScheme, ParsedSignature

_PRINTABLE_ID = re.compile(r"[\x21-\x7e]{1,128}")


class EventIdRule:
    """A route's ``event_id:`` setting, compiled against its signature scheme."""

    __slots__ = (
        "_by_content",
        "_header",
        "_key_prefix",
        "_pointer",
        "_scheme",
        "_source",
        "_transmissions",
        "headers",
        "keys_on_signature",
    )

    def __init__(self, name: str, ids: EventIdConfig, scheme: HmacScheme | None) -> None:
        self._key_prefix = name + ":"
        self._scheme = scheme
        # Where the header may carry several signatures (kv, list), a replay stripped to
        # one of them matches another secret, with another HMAC: a delivery the digest
        # identifies is identified by its signed content instead.
        self._by_content = (
            scheme is not None and scheme.digest_is_match and scheme.spec.format != "plain"
        )
        self._pointer = ids.pointer
        self._header = (ids.header or "").lower().encode("latin-1", "replace")
        signs_id = scheme is not None and "id" in scheme.fields
        scheme_ids = scheme.spec.id_headers if scheme is not None else ()
        # A route naming one of its scheme's ID headers (``svix-id`` on the standard
        # preset) takes the ID the signature covered, from the header family that verified:
        # a sender signing ``webhook-*`` leaves ``svix-id`` unsigned, and a captured
        # delivery resent with a fresh one would otherwise be processed again.
        signed_header = (
            signs_id
            and ids.source == "header"
            and (ids.header or "").lower() in (h.lower() for h in scheme_ids)
        )
        self._source = "auto" if signed_header else ids.source
        #: A delivery ID in a header the signature does not cover can be rewritten by
        #: anyone replaying a captured delivery (GitHub, Shopify, Bitbucket, Twilio...), so
        #: such a route keys its replay check on the verified signature instead: provider
        #: retries resend the same signed bytes, a replay under a fresh ID does too. The
        #: header ID is still reported as the verdict's event_id.
        self.keys_on_signature = (
            scheme is not None
            and ids.source in ("auto", "header")
            and not (signs_id and (ids.source == "auto" or signed_header))
        )
        #: A body the signature covers only through a checksum (PayPal's CRC32) can be
        #: rewritten to another event ID under a captured delivery's signature: the
        #: signed transmission ID is then reserved too, so each is used once (the space
        #: keeps it apart from every event key: IDs are printable without spaces).
        self._transmissions = (
            name + ":transmission "
            if signs_id and scheme is not None and scheme.weak_body and ids.source == "json"
            else None
        )
        #: The headers delivery IDs come from (none for JSON pointers or no IDs).
        self.headers: tuple[str, ...] = ()
        if ids.source == "header" and ids.header:
            self.headers = (ids.header,)
        elif ids.source == "auto" and scheme is not None:
            self.headers = tuple(h for h in scheme_ids if h)

    @property
    def replays(self) -> bool:
        """Whether deliveries are checked against the replay store at all."""
        return self._source != "none"

    def second_key(self, parsed: ParsedSignature | None) -> str | None:
        """The key reserved beside the replay key: the signed transmission ID where the
        body is covered only by a checksum, else None."""
        if self._transmissions is None or parsed is None or parsed.event_id is None:
            return None
        return self._transmissions + _shown_id(parsed.event_id)

    def find(
        self, req: WebhookRequest, parsed: ParsedSignature | None, digest: bytes | None
    ) -> tuple[str | None, str | None, str | None]:
        """The (event ID reported, replay key, second key: see :meth:`second_key`) of an
        authenticated request; all None for a route with ``event_id: none``."""
        source = self._source
        if source == "none":
            return None, None, None
        found: str | None
        if source == "auto":
            found = parsed.event_id if parsed is not None else None
        elif source == "header":
            lines = req.values(self._header)
            found = lines[0] if lines is not None and len(lines) == 1 and lines[0] else None
        else:
            found = find_pointer(req.body, self._pointer)
        if self._by_content and digest is not None and (found is None or self.keys_on_signature):
            assert self._scheme is not None
            assert parsed is not None  # a digest comes from a verified signature
            digest = self._scheme.content_digest(parsed, req.body)
        event_id: str
        if found is not None:
            event_id = _shown_id(found)
        elif digest is not None:
            # No ID from the provider: the verified signature itself identifies the
            # delivery (a replay carries the same one).
            event_id = digest_id(digest)
        else:
            # Token-only routes fall back to the body.
            event_id = "body:" + hashlib.sha256(req.body).hexdigest()
        second = None if self._transmissions is None else self.second_key(parsed)
        if self.keys_on_signature and digest is not None:
            return event_id, self._key_prefix + digest_id(digest), second
        return event_id, self._key_prefix + event_id, second


def _shown_id(found: str) -> str:
    """``found`` as reported and keyed: itself when 1 to 128 printable ASCII characters,
    else its SHA-256."""
    if _PRINTABLE_ID.fullmatch(found):
        return found
    return "sha256:" + hashlib.sha256(found.encode("utf-8", "surrogatepass")).hexdigest()


def digest_id(digest: bytes) -> str:
    """The replay ID of a delivery identified by its verified signature."""
    return "sig:" + digest.hex()[:64]
