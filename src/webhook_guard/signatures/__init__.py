"""Signature schemes: one generic HMAC scheme, and provider presets that configure it."""

from .base import HmacScheme, SignatureSpec
from .presets import PRESETS

__all__ = ["PRESETS", "HmacScheme", "SignatureSpec"]
