"""Signature schemes: one generic HMAC scheme, and provider presets that configure it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import ASYMMETRIC, HmacScheme, SignatureSpec
from .convoy import ConvoyScheme
from .hubspot import HubSpotScheme
from .mailgun import MailgunScheme
from .mandrill import MandrillScheme
from .presets import PRESETS, Preset
from .twilio import TwilioScheme

if TYPE_CHECKING:
    from .keyfetch import KeyFetcher


def make_scheme(spec: SignatureSpec, fetcher: KeyFetcher | None = None) -> HmacScheme:
    """The scheme object that verifies ``spec`` (HMAC, public-key or a provider's own).

    Args:
        fetcher: where schemes with fetched keys (``sns``, ``google-oidc``) get them;
            without one they refuse with ``key_unavailable`` (config checks need none).

    Raises:
        ImportError: a public-key algorithm without the ``pubkey`` extra (config checks
            this first and reports it as a config error).
    """
    if spec.scheme == "sns":
        from .sns import SnsScheme

        return SnsScheme(spec, fetcher)
    if spec.scheme == "google-oidc":
        from .jwt_oidc import GoogleOidcScheme

        return GoogleOidcScheme(spec, fetcher)
    if spec.scheme == "paypal":
        from .paypal import PaypalScheme

        return PaypalScheme(spec, fetcher)
    if spec.scheme == "twilio":
        return TwilioScheme(spec)
    if spec.scheme == "mandrill":
        return MandrillScheme(spec)
    if spec.scheme == "convoy":
        return ConvoyScheme(spec)
    if spec.scheme == "mailgun":
        return MailgunScheme(spec)
    if spec.scheme == "hubspot":
        return HubSpotScheme(spec)
    if spec.algorithm in ASYMMETRIC:
        from .pubkey_scheme import PublicKeyScheme

        return PublicKeyScheme(spec)
    return HmacScheme(spec)


__all__ = ["PRESETS", "HmacScheme", "Preset", "SignatureSpec", "make_scheme"]
