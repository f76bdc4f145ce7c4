"""Signature schemes: one generic HMAC scheme, and provider presets that configure it."""

from .base import ASYMMETRIC, HmacScheme, SignatureSpec
from .convoy import ConvoyScheme
from .presets import PRESETS, Preset
from .twilio import TwilioScheme


def make_scheme(spec: SignatureSpec) -> HmacScheme:
    """The scheme object that verifies ``spec`` (HMAC, public-key or a provider's own).

    Raises:
        ImportError: a public-key algorithm without the ``pubkey`` extra (config checks
            this first and reports it as a config error).
    """
    if spec.scheme == "twilio":
        return TwilioScheme(spec)
    if spec.scheme == "convoy":
        return ConvoyScheme(spec)
    if spec.algorithm in ASYMMETRIC:
        from .pubkey_scheme import PublicKeyScheme

        return PublicKeyScheme(spec)
    return HmacScheme(spec)


__all__ = ["PRESETS", "HmacScheme", "Preset", "SignatureSpec", "make_scheme"]
