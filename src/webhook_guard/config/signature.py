"""A route's ``signature`` block, over its provider's preset -> :class:`SignatureSpec`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..signatures import make_scheme
from ..signatures.base import ASYMMETRIC, JWT_SCHEMES, SignatureSpec
from ..signatures.presets import PRESETS
from .route_keys import SIGNATURE
from .values import Invalid, headers, listing, mapping, pointer, read, string


def signature_spec(
    provider: str, raw: object, route_where: str, public_url: str | None
) -> SignatureSpec:
    """The scheme of a route with ``provider`` (a known preset) and ``signature: raw``."""
    where = f"{route_where}.signature"
    preset = PRESETS[provider]
    merged: dict[str, Any] = dict(preset.signature)
    user: Mapping[str, Any] = {} if raw is None else mapping(raw, where, SIGNATURE)
    merged.update(user)
    if merged.get("algorithm") == "jwt" and merged.get("scheme") not in JWT_SCHEMES:
        raise Invalid(
            f"{where}.algorithm",
            "jwt verifies a bearer token against its issuer's published keys, which only "
            "provider: google-pubsub knows today",
        )
    if merged.get("algorithm") in ASYMMETRIC:
        _require_pubkey_extra(f"{where}.algorithm", merged["algorithm"], merged.get("scheme"))
        merged.update({k: v for k, v in preset.ed25519.items() if k not in user})
    if provider == "generic" and "header" not in merged:
        raise Invalid(
            f"{where}.header" if raw is not None else where,
            "missing: the generic provider needs 'signature.header'",
        )
    spec = _spec(merged, where)
    _check_template(spec, where, route_where, public_url)
    return spec


def _spec(merged: Mapping[str, Any], where: str) -> SignatureSpec:
    def value(name: str) -> Any:
        key = SIGNATURE[name]
        given = merged.get(name, key.default)
        return read(key, given, f"{where}.{name}")

    header_names = headers(merged["header"], f"{where}.header")
    optional = {
        name: headers(merged[name], f"{where}.{name}") if merged.get(name) else ()
        for name in ("timestamp_header", "id_header")
    }
    for name, names in optional.items():
        if len(names) not in (0, 1, len(header_names)):
            raise Invalid(
                f"{where}.{name}", f"give 1 name, or one per signature header ({len(header_names)})"
            )
    fmt = value("format")
    timestamp_key = merged.get("timestamp_key")
    if timestamp_key is not None:
        timestamp_key = value("timestamp_key")
        if fmt != "kv":
            raise Invalid(f"{where}.timestamp_key", "only applies to format: kv")
    stamp_json: tuple[str, ...] = ()
    if merged.get("timestamp_json") is not None:
        stamp_json = pointer(merged["timestamp_json"], f"{where}.timestamp_json")
        if optional["timestamp_header"] or timestamp_key is not None:
            raise Invalid(
                f"{where}.timestamp_json",
                "the timestamp is either in the body or in a header, not both: drop "
                "timestamp_header/timestamp_key",
            )
    # The one default that depends on another key, so the declaration cannot hold it.
    separator = merged.get("separator", "," if fmt == "kv" else " ")
    fetched = _fetched_key_settings(merged, where)
    return SignatureSpec(
        headers=header_names,
        algorithm=value("algorithm"),
        encoding=value("encoding"),
        prefix=value("prefix"),
        format=fmt,
        separator=read(SIGNATURE["separator"], separator, f"{where}.separator"),
        version=value("version"),
        timestamp_key=timestamp_key,
        signed_content=value("signed_content"),
        timestamp_headers=optional["timestamp_header"],
        id_headers=optional["id_header"],
        secret_prefix=value("secret_prefix"),
        secret_encoding=value("secret_encoding"),
        timestamp_format=value("timestamp_format"),
        timestamp_json=stamp_json,
        # A preset's own canonicalisation (twilio); else SignatureSpec's default.
        **({"scheme": merged["scheme"]} if "scheme" in merged else {}),
        **fetched,
    )


#: The settings each scheme with fetched keys requires, and what they are for.
_FETCHED_KEY_SETTINGS = {
    "sns": {
        "topics": "the TopicArn values to accept: AWS signs every account's topics with "
        "the same certificates, so a signature alone proves nothing about the sender",
    },
    "google-oidc": {
        "audience": "the audience set on the push subscription (by default its endpoint URL)",
        "emails": "the service accounts the push subscription authenticates as: Google "
        "signs tokens for anyone's service account",
    },
    "paypal": {
        "webhook_id": "the webhook's ID from the PayPal developer dashboard (PayPal signs "
        "it: a delivery for another account's webhook does not verify)",
    },
}
_OWNERS = {"topics": "sns", "audience": "google-pubsub", "emails": "google-pubsub"}
_OWNERS["webhook_id"] = "paypal"


def _fetched_key_settings(merged: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``topics``, ``audience``, ``emails`` and ``webhook_id``: required by the scheme
    they are for, refused elsewhere."""
    needed = _FETCHED_KEY_SETTINGS.get(merged.get("scheme", ""), {})
    out: dict[str, Any] = {}
    for name in _OWNERS:
        value = merged.get(name)
        if value is None:
            if name in needed:
                raise Invalid(f"{where}.{name}", f"missing: {needed[name]}")
            continue
        if name not in needed:
            raise Invalid(f"{where}.{name}", f"only applies to provider {_OWNERS[name]}")
        if name in ("audience", "webhook_id"):
            out[name] = string(value, f"{where}.{name}")
            continue
        items = listing(value, f"{where}.{name}")
        if not items:
            raise Invalid(f"{where}.{name}", "is empty, which would refuse every request")
        out[name] = tuple(string(v, f"{where}.{name}[{i}]") for i, v in enumerate(items))
    return out


def _check_template(
    spec: SignatureSpec, where: str, route_where: str, public_url: str | None
) -> None:
    """Refuse a ``signed_content`` whose fields the configuration cannot fill."""
    try:
        scheme = make_scheme(spec)
    except ValueError as exc:
        # Formatter's own messages ("Single '}' encountered") need the context.
        raise Invalid(
            f"{where}.signed_content", f"invalid template {spec.signed_content!r}: {exc}"
        ) from None
    if "timestamp" in scheme.fields and not scheme.has_timestamp:
        raise Invalid(
            f"{where}.signed_content",
            "uses {timestamp} but no timestamp_header or timestamp_key says where it is",
        )
    if (spec.timestamp_headers or spec.timestamp_key) and "timestamp" not in scheme.fields:
        # The window would be checked on a value anyone may rewrite.
        raise Invalid(
            f"{where}.signed_content",
            "does not use {timestamp}, so the timestamp the route checks would be unsigned",
        )
    if "timestamp" in scheme.fields and spec.timestamp_json:
        raise Invalid(
            f"{where}.signed_content",
            "uses {timestamp}, but timestamp_json reads it from the body, which is only "
            "trusted once the signature verified",
        )
    if "id" in scheme.fields and not spec.id_headers:
        raise Invalid(f"{where}.signed_content", "uses {id} but no id_header is set")
    if "url" in scheme.fields and public_url is None:
        raise Invalid(
            f"{route_where}.public_url",
            "missing: this signature covers the URL the provider calls, so set "
            "public_url (e.g. https://hooks.example.com)",
        )


def _require_pubkey_extra(where: str, algorithm: str, scheme: str | None) -> None:
    package = "cryptography"
    try:
        import cryptography  # noqa: F401

        if scheme == "google-oidc":
            package = "PyJWT"
            import jwt  # noqa: F401
    except ImportError:
        raise Invalid(
            where,
            f"{algorithm} needs the '{package}' package: "
            "pip install 'webhook-guard-middleware[pubkey]'",
        ) from None
