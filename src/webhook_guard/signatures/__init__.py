"""Signature schemes: one generic HMAC scheme, and provider presets that configure it."""

from .base import HmacScheme, SignatureSpec
from .convoy import ConvoyScheme
from .mailgun import MailgunScheme
from .presets import PRESETS, Preset
from .twilio import TwilioScheme


def make_scheme(spec: SignatureSpec) -> HmacScheme:
    """The scheme object that verifies ``spec`` (HMAC, Ed25519 or a provider's own).

    Raises:
        ImportError: ``algorithm: ed25519`` without the ``ed25519`` extra (config checks
            this first and reports it as a config error).
    """
    if spec.scheme == "twilio":
        return TwilioScheme(spec)
    if spec.scheme == "convoy":
        return ConvoyScheme(spec)
    if spec.scheme == "mailgun":
        return MailgunScheme(spec)
    if spec.algorithm == "ed25519":
        from .ed25519 import Ed25519Scheme

        return Ed25519Scheme(spec)
    return HmacScheme(spec)


__all__ = ["PRESETS", "HmacScheme", "Preset", "SignatureSpec", "make_scheme"]
