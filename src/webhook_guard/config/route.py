"""One ``routes[i]`` entry -> :class:`RouteConfig`: its authentication (signature,
secrets, token), event ID, settings and address rules."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..ipset import IPSet
from ..routes import pattern_error
from ..secrets import MAX_ACTIVE_SECRETS, Secret, load_secret
from ..signatures import make_scheme
from ..signatures.base import FETCHED_KEY_SCHEMES, HmacScheme, SignatureSpec
from ..signatures.presets import PRESETS
from .addresses import ip_list
from .model import ClientCertRule, EventIdConfig, HandshakeConfig, RouteConfig, TokenConfig
from .route_keys import (
    CLIENT_CERT_RULE,
    EVENT_ID_WORDS,
    HANDSHAKE,
    HTTP_METHODS,
    NAME_PATTERN,
    ROUTE,
    SETTINGS,
    TOKEN,
    TOKEN_SOURCES,
)
from .signature import signature_spec
from .values import (
    Collector,
    Invalid,
    did_you_mean,
    get,
    header,
    kind,
    listing,
    mapping,
    pointer,
    read,
    string,
    unknown_keys,
)

_NAME = re.compile(NAME_PATTERN)
_METHOD = re.compile(r"^[A-Z]+$")
_ONE_OF_EVENT_ID = "expected 'auto', 'none', {header: NAME} or {json: /pointer}"


def setting(key: str, value: object, where: str) -> Any:
    """A ``defaults`` key, also given on a route."""
    if key == "tolerance" and value == 0 and not isinstance(value, bool):
        raise Invalid(
            where,
            "0 is not allowed: tolerance is the replay window in seconds (e.g. 300); "
            "it cannot be turned off",
        )
    if key != "methods":
        return read(SETTINGS[key], value, where)
    methods = listing(value, where)
    if not methods:
        raise Invalid(where, "expected at least one method")
    out = []
    for i, m in enumerate(methods):
        text = string(m, f"{where}[{i}]").upper()
        if not _METHOD.match(text):
            raise Invalid(f"{where}[{i}]", f"{m!r} is not an HTTP method")
        if text not in HTTP_METHODS:
            raise Invalid(
                f"{where}[{i}]", f"unknown HTTP method {m!r}{did_you_mean(text, HTTP_METHODS)}"
            )
        out.append(text)
    return out


class RouteParser(Collector):
    """Reads route entries, recording every problem (see :class:`Collector`)."""

    def __init__(self, env: Mapping[str, str], now: float) -> None:
        super().__init__()
        self.env = env
        self.now = now

    def route(self, raw: object, where: str, defaults: Mapping[str, Any]) -> RouteConfig:
        if not isinstance(raw, Mapping):
            raise Invalid(where, f"expected a mapping, got {kind(raw)}")
        before = len(self.errors)
        # A misspelt key is reported with the route's other problems, not in a round of
        # its own; the route is skipped all the same.
        self.errors += [
            f"{place}: {message}" for place, message in unknown_keys(raw, where, ROUTE.names)
        ]
        block = {k: v for k, v in raw.items() if k in ROUTE.names}
        name = self.guard(_route_name, block, where)
        path = self.guard(_route_path, block, where)
        settings: dict[str, Any] = {
            key: self.guard(setting, key, block[key], f"{where}.{key}") if key in block else value
            for key, value in defaults.items()
        }
        allow_ips: tuple[str, ...] = ()
        allow_set: IPSet | None = None
        if block.get("allow_ips") is not None:
            allow_ips, allow_set = self.guard(_allow_ips, block["allow_ips"], where) or ((), None)
        client_cert = None
        if block.get("client_cert") is not None:
            client_cert = self.guard(
                _client_cert_rule, block["client_cert"], f"{where}.client_cert"
            )
        public_url = None
        if block.get("public_url") is not None:
            public_url = self.guard(_public_url, block["public_url"], f"{where}.public_url")
        provider, signature, secrets, token = self._authentication(block, where, public_url)
        forward = get(ROUTE, block, "forward_credentials", where)
        if forward and token is None:
            raise Invalid(
                f"{where}.forward_credentials",
                "this route verifies no token, so there is no credential to forward",
            )
        preset = PRESETS.get(provider) if isinstance(provider, str) else None
        event_id = self.guard(
            _event_id,
            block.get("event_id", preset.event_id if preset else ROUTE.default("event_id")),
            f"{where}.event_id",
        )
        handshake: HandshakeConfig | None = None
        if block.get("handshake") is not None:
            handshake = self.guard(self._handshake, block["handshake"], f"{where}.handshake")
        self.settle(before)
        assert name is not None
        assert path is not None
        assert event_id is not None
        commit_on = get(ROUTE, block, "commit_on", where)
        if preset is not None and preset.tolerance is not None and "tolerance" not in block:
            settings["tolerance"] = preset.tolerance  # the provider's documented window
        # A provider's endpoint check may use another method (Meta verifies with GET).
        settings["methods"] = frozenset(settings["methods"]) | set(preset.methods if preset else ())
        return RouteConfig(
            name=name,
            path=path,
            provider=provider,
            signature=signature,
            secrets=secrets,
            token=token,
            event_id=event_id,
            **settings,
            public_url=public_url,
            allow_ips=allow_ips,
            allow_set=allow_set,
            forward_credentials=forward,
            commit_on=commit_on,
            client_cert=client_cert,
            handshake=handshake or HandshakeConfig(),
        )

    def _authentication(
        self, block: Mapping[str, Any], where: str, public_url: str | None
    ) -> tuple[str | None, SignatureSpec | None, tuple[Secret, ...], TokenConfig | None]:
        """(provider, signature, its secrets, token) of a route; its problems recorded."""
        provider = block.get("provider")
        signature: SignatureSpec | None = None
        token = None
        failed = False
        preset = PRESETS.get(provider) if isinstance(provider, str) else None
        if preset is not None and (preset.token_header or preset.token_source != "header"):
            # A token preset (GitLab): the secrets are tokens compared with a header.
            carrier = preset.token_header or "the body"
            for key in ("signature", "token"):
                if key in block:
                    raise Invalid(
                        f"{where}.{key}",
                        f"provider {provider!r} sends a plain token in "
                        f"{carrier}, so it takes only 'secrets'",
                    )
            tokens = self.guard(self.secrets, block.get("secrets"), f"{where}.secrets", None)
            failed = tokens is None
            if tokens is not None:
                basic = preset.token_source == "basic"  # Postmark: any user name
                name = None if basic else preset.token_header
                token = TokenConfig(source=preset.token_source, name=name, secrets=tokens)
        elif provider is not None or "signature" in block:
            provider = string(provider, f"{where}.provider") if provider is not None else "generic"
            if provider not in PRESETS:
                self.errors.append(
                    f"{where}.provider: unknown provider {provider!r}"
                    + did_you_mean(provider, sorted(PRESETS))
                )
                # Still read the secrets: a missing one is reported in the same run.
                self.guard(self.secrets, block.get("secrets"), f"{where}.secrets", None)
            else:
                signature = self.guard(
                    signature_spec, provider, block.get("signature"), where, public_url
                )
            failed = signature is None
        secrets: tuple[Secret, ...] = ()
        if signature is not None and signature.scheme in FETCHED_KEY_SCHEMES:
            if "secrets" in block:
                raise Invalid(
                    f"{where}.secrets",
                    f"provider {provider!r} verifies with "
                    f"{FETCHED_KEY_SCHEMES[signature.scheme]}: it takes no secrets",
                )
        elif signature is not None:
            secrets = (
                self.guard(self.secrets, block.get("secrets"), f"{where}.secrets", signature) or ()
            )
        elif "secrets" in block and token is None and not failed:
            raise Invalid(
                f"{where}.secrets", "secrets need a provider or signature block to verify with"
            )
        if block.get("token") is not None:
            token = self.guard(self._token, block["token"], f"{where}.token")
            failed = failed or token is None
        if signature is None and token is None and not failed:
            raise Invalid(
                where,
                "no authentication configured: set 'provider' (or 'signature') with "
                "'secrets', and/or 'token'",
            )
        return provider, signature, secrets, token

    def secrets(self, raw: object, where: str, spec: SignatureSpec | None) -> tuple[Secret, ...]:
        if raw is None:
            raise Invalid(where, "missing; at least one secret is required")
        items = listing(raw, where)
        if not items:
            raise Invalid(where, "at least one secret is required")
        scheme = make_scheme(spec) if spec is not None else None
        secrets = []
        labels: dict[str, int] = {}
        before = len(self.errors)
        for i, item in enumerate(items):
            item_where = f"{where}[{i}]"
            secret = self.guard(self._secret, item, item_where, scheme)
            if secret is None:
                continue
            if secret.label in labels:
                self.errors.append(
                    f"{item_where}: label {secret.label!r} is already used by "
                    f"{where}[{labels[secret.label]}]"
                )
                continue
            labels[secret.label] = i
            secrets.append(secret)
        self.settle(before)
        active = [s for s in secrets if s.active(self.now)]
        if len(active) > MAX_ACTIVE_SECRETS:
            raise Invalid(
                where,
                f"{len(active)} active secrets; at most {MAX_ACTIVE_SECRETS} are examined per "
                "request, so retire old ones (set 'expires')",
            )
        return tuple(secrets)

    def _secret(self, item: object, where: str, scheme: HmacScheme | None) -> Secret:
        secret = load_secret(item, where, env=self.env, now=self.now)
        try:
            if scheme is not None:
                scheme.prepare(secret)
        except ValueError as exc:
            raise Invalid(where, str(exc)) from None
        return secret

    def _handshake(self, raw: object, where: str) -> HandshakeConfig:
        block = mapping(raw, where, HANDSHAKE)
        verify_token = None
        if block.get("verify_token") is not None:
            verify_token = load_secret(
                block["verify_token"], f"{where}.verify_token", env=self.env, now=self.now
            )
        return HandshakeConfig(
            verify_token=verify_token, confirm=get(HANDSHAKE, block, "confirm", where)
        )

    def _token(self, raw: object, where: str) -> TokenConfig:
        block = mapping(raw, where, TOKEN)
        sources = [k for k in TOKEN_SOURCES if k in block]
        if len(sources) != 1:
            raise Invalid(where, "set exactly one of 'query', 'header' or 'basic'")
        source = sources[0]
        name: str | None
        if source != "basic":
            name = read(TOKEN[source], block[source], f"{where}.{source}")
        elif block["basic"] is True:
            name = None
        elif isinstance(block["basic"], str) and block["basic"] and ":" not in block["basic"]:
            name = block["basic"]
        else:
            raise Invalid(
                f"{where}.basic", "expected true (any username) or a username without ':'"
            )
        secrets = self.secrets(block.get("secrets"), f"{where}.secrets", None)
        return TokenConfig(source=source, name=name, secrets=secrets)


def _route_name(block: Mapping[str, Any], where: str) -> str:
    if "name" not in block:
        raise Invalid(where, "missing 'name'")
    name = string(block["name"], f"{where}.name")
    if not _NAME.match(name):
        raise Invalid(
            f"{where}.name", f"{name!r} must be letters, digits, '_', '.' or '-' (max 64)"
        )
    return name


def _route_path(block: Mapping[str, Any], where: str) -> str:
    if "path" not in block:
        raise Invalid(where, "missing 'path'")
    path = string(block["path"], f"{where}.path")
    problem = pattern_error(path)
    if problem:
        raise Invalid(f"{where}.path", f"{path!r}: {problem}")
    return path


def _allow_ips(raw: object, where: str) -> tuple[tuple[str, ...], IPSet]:
    allow_ips, allow_set = ip_list(raw, f"{where}.allow_ips", providers=True)
    if not allow_ips:
        raise Invalid(
            f"{where}.allow_ips",
            "is empty, which would refuse every request; omit it to allow any address",
        )
    return allow_ips, allow_set


def _client_cert_rule(raw: object, where: str) -> ClientCertRule:
    block = mapping(raw, where, CLIENT_CERT_RULE)
    if "subjects" not in block:
        raise Invalid(where, "missing 'subjects' (the certificate names to accept)")
    items = listing(block["subjects"], f"{where}.subjects")
    if not items:
        raise Invalid(f"{where}.subjects", "is empty, which would refuse every request")
    return ClientCertRule(
        tuple(string(v, f"{where}.subjects[{i}]").lower() for i, v in enumerate(items))
    )


def _public_url(raw: object, where: str) -> str:
    text = string(raw, where)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise Invalid(where, f"{text!r} must be an absolute http(s) URL")
    if parts.query or parts.fragment:
        raise Invalid(where, "must not contain a query or fragment")
    return text.rstrip("/")


def _event_id(raw: object, where: str) -> EventIdConfig:
    if raw in EVENT_ID_WORDS:
        return EventIdConfig(source=str(raw))
    if not isinstance(raw, Mapping):
        raise Invalid(where, f"{_ONE_OF_EVENT_ID}; got {raw!r}")
    unknown = unknown_keys(raw, where, ("header", "json"))
    if unknown:
        raise Invalid(*unknown[0])
    if len(raw) != 1:
        raise Invalid(where, _ONE_OF_EVENT_ID)
    if "header" in raw:
        return EventIdConfig(source="header", header=header(raw["header"], f"{where}.header"))
    return EventIdConfig(source="json", pointer=pointer(raw["json"], f"{where}.json"))
