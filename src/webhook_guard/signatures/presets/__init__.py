"""Provider presets: named, checked fill-ins for the generic ``signature:`` block.

One module per provider (``presets/stripe.py`` holds ``provider: stripe``), each with a
``PRESETS`` mapping of the names it defines. A preset is correct only when a request
signed by the provider's own SDK, or by its documented algorithm, verifies:
tests/test_presets.py signs with the real SDKs and the providers' published test vectors.
Each preset's ``summary`` feeds its docs page (docs/providers/NAME.md).
"""

from __future__ import annotations

from . import (
    bitbucket,
    box,
    calendly,
    checkout,
    coinbase_commerce,
    convoy,
    discord,
    generic,
    github,
    gitlab,
    google_pubsub,
    hubspot,
    intercom,
    lemonsqueezy,
    linear,
    mailgun,
    meta,
    msgraph,
    mux,
    okta,
    paddle,
    paypal,
    paystack,
    postmark,
    razorpay,
    sendgrid,
    sentry,
    shopify,
    slack,
    sns,
    square,
    standard,
    stripe,
    telegram,
    twilio,
    twitch,
    typeform,
    workos,
    zoom,
)
from .model import SUMMARY_KEYS, Preset

#: Every preset by the name a user types, in the order the docs list them.
PRESETS: dict[str, Preset] = {
    **generic.PRESETS,
    **standard.PRESETS,
    **stripe.PRESETS,
    **github.PRESETS,
    **gitlab.PRESETS,
    **slack.PRESETS,
    **shopify.PRESETS,
    **bitbucket.PRESETS,
    **convoy.PRESETS,
    **twilio.PRESETS,
    **paddle.PRESETS,
    **discord.PRESETS,
    **sendgrid.PRESETS,
    **sns.PRESETS,
    **google_pubsub.PRESETS,
    **paypal.PRESETS,
    **zoom.PRESETS,
    **twitch.PRESETS,
    **hubspot.PRESETS,
    **workos.PRESETS,
    **meta.PRESETS,
    **linear.PRESETS,
    **square.PRESETS,
    **intercom.PRESETS,
    **typeform.PRESETS,
    **calendly.PRESETS,
    **sentry.PRESETS,
    **paystack.PRESETS,
    **lemonsqueezy.PRESETS,
    **telegram.PRESETS,
    **postmark.PRESETS,
    **okta.PRESETS,
    **mailgun.PRESETS,
    **msgraph.PRESETS,
    **razorpay.PRESETS,
    **coinbase_commerce.PRESETS,
    **checkout.PRESETS,
    **mux.PRESETS,
    **box.PRESETS,
}

__all__ = ["PRESETS", "SUMMARY_KEYS", "Preset"]
