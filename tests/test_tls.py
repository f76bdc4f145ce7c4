"""Client certificates: the route rule in the guard, the terminator headers it believes
only from trusted proxies, and `webhook-guard serve` terminating TLS itself (real
uvicorn over real TLS, certificates made here)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.servers import free_port, run_process, serve_asgi
from tests.test_proxy import Upstream, serve_args
from tests.tlscerts import CA, Issued
from webhook_guard import Guard, Reason, WebhookRequest, load_config
from webhook_guard.clientcert import (
    ClientCert,
    ClientCertHeaders,
    ClientCertInvalid,
    from_asgi,
    from_headers,
)
from webhook_guard.errors import ConfigError

TOKEN = "t0ken-for-tls-tests"


def route(**extra: Any) -> dict[str, Any]:
    return {
        "name": "partner",
        "path": "/hooks/partner",
        "token": {"header": "X-Token", "secrets": [TOKEN]},
        "event_id": "none",
        "client_cert": {"subjects": ["Hooks.Partner.example"]},
        **extra,
    }


def config(**top: Any) -> dict[str, Any]:
    return {"version": 1, "routes": [route()], **top}


def request(
    cert: ClientCert | None = None, peer: str = "203.0.113.9", **headers: str
) -> WebhookRequest:
    return WebhookRequest(
        "POST",
        "/hooks/partner",
        headers={"X-Token": TOKEN, **headers},
        body=b"{}",
        peer=peer,
        client_cert=cert,
    )


# -- the rule --------------------------------------------------------------------------------


def test_the_route_rule_needs_a_matching_certificate() -> None:
    guard = Guard.from_dict(config())
    missing = guard.precheck(request())
    assert (missing.ok, missing.reason, missing.status) == (False, Reason.CLIENT_CERT_MISSING, 403)
    wrong = guard.check(request(ClientCert(dns_names=("evil.example",))))
    assert wrong.reason is Reason.CLIENT_CERT_INVALID
    assert "'evil.example'" in wrong.detail
    # DNS names are matched case-insensitively; they win over the CN (RFC 6125).
    assert guard.check(request(ClientCert(dns_names=("hooks.partner.EXAMPLE",)))).ok
    cn_only = ClientCert(dns_names=("other.example",), common_name="hooks.partner.example")
    assert guard.check(request(cn_only)).reason is Reason.CLIENT_CERT_INVALID
    assert guard.check(request(ClientCert(common_name="hooks.partner.example"))).ok
    unverified = ClientCert(error="the TLS layer could not verify it ('bad')")
    assert guard.check(request(unverified)).reason is Reason.CLIENT_CERT_INVALID


def test_a_wildcard_certificate_is_not_a_wildcard_match() -> None:
    guard = Guard.from_dict(config())
    assert not guard.check(request(ClientCert(dns_names=("*.partner.example",)))).ok


def test_the_rule_is_checked_before_the_token_and_in_report_mode_only_reported() -> None:
    guard = Guard.from_dict({"version": 1, "routes": [route(mode="report")]})
    verdict = guard.check(request())
    assert verdict.ok
    assert verdict.reported == (Reason.CLIENT_CERT_MISSING,)
    strict = Guard.from_dict(config())
    no_token = WebhookRequest("POST", "/hooks/partner", body=b"{}", peer="203.0.113.9")
    assert strict.check(no_token).reason is Reason.CLIENT_CERT_MISSING


def test_a_route_with_the_rule_checks_the_certificate_before_the_body() -> None:
    steps = Guard.from_dict(config()).plan("partner").steps
    assert steps.index("client_cert") < steps.index("body")


@pytest.mark.parametrize(
    ("rule", "place"),
    [
        ({}, "routes[0].client_cert: missing 'subjects'"),
        ({"subjects": []}, "routes[0].client_cert.subjects: is empty"),
        ({"subjects": [""]}, "routes[0].client_cert.subjects[0]: must not be empty"),
        ({"subject": ["a"]}, "routes[0].client_cert.subject: unknown key"),
    ],
)
def test_rule_config_errors_name_the_place(rule: dict[str, Any], place: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config({"version": 1, "routes": [route(client_cert=rule)]})
    assert exc.value.errors[0].startswith(place)


# -- a TLS terminator's headers ------------------------------------------------------------------


NGINX = {"trusted_proxies": ["10.0.0.0/8"], "client_cert": {}}


def test_terminator_headers_need_trusted_proxies() -> None:
    with pytest.raises(ConfigError, match=r"network.client_cert: needs network.trusted_proxies"):
        load_config(config(network={"client_cert": {}}))


def test_headers_from_a_trusted_proxy_carry_the_certificate(tmp_path: Path) -> None:
    ca = CA(tmp_path)
    good = ca.issue("good", common_name="ignored-cn", dns=("hooks.partner.example",))
    wrong = ca.issue("wrong", common_name="hooks.partner.example", dns=("evil.example",))
    guard = Guard.from_dict(config(network=NGINX))
    via = "10.1.2.3"

    def sent(**headers: str) -> Any:
        return guard.check(request(peer=via, **headers))

    ok = sent(**{"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-Cert": quote(good.pem())})
    assert ok.ok
    # The certificate's DNS names win over a subject header that says otherwise.
    refused = sent(
        **{
            "X-SSL-Client-Verify": "SUCCESS",
            "X-SSL-Client-Cert": quote(wrong.pem()),
            "X-SSL-Client-S-DN": "CN=hooks.partner.example",
        }
    )
    assert refused.reason is Reason.CLIENT_CERT_INVALID
    dn = "CN=hooks.partner.example,O=P"
    only_dn = sent(**{"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": dn})
    assert only_dn.ok
    assert sent(**{"X-SSL-Client-Verify": "NONE"}).reason is Reason.CLIENT_CERT_MISSING
    assert sent().reason is Reason.CLIENT_CERT_MISSING
    failed = sent(**{"X-SSL-Client-Verify": "FAILED:certificate has expired"})
    assert failed.reason is Reason.CLIENT_CERT_INVALID
    assert "could not verify" in failed.detail


def test_the_same_headers_from_anyone_else_are_ignored() -> None:
    guard = Guard.from_dict(config(network=NGINX))
    forged = guard.check(
        request(
            peer="198.51.100.7",
            **{"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "CN=hooks.partner.example"},
        )
    )
    assert forged.reason is Reason.CLIENT_CERT_MISSING
    assert "believed only from network.trusted_proxies" in forged.detail


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({"X-SSL-Client-Verify": "success"}, "is malformed"),
        ({"X-SSL-Client-Verify": "SUCCESS"}, "no header names the certificate"),
        ({"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-Cert": "not a pem"}, "cannot be read"),
        ({"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "O=x"}, "0 common names"),
        (
            {
                "X-SSL-Client-Verify": "SUCCESS",
                "X-SSL-Client-S-DN": "CN=a,CN=hooks.partner.example",
            },
            "2 common names",
        ),
        ({"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "/CN=x"}, "legacy"),
        ({"X-SSL-Client-Verify": "SUCCESS", "X-SSL-Client-S-DN": "garbage"}, "not a distinguished"),
    ],
)
def test_malformed_terminator_headers_fail_closed(headers: dict[str, str], fragment: str) -> None:
    guard = Guard.from_dict(config(network=NGINX))
    verdict = guard.check(request(peer="10.0.0.1", **headers))
    assert verdict.reason is Reason.CLIENT_CERT_INVALID
    assert fragment in verdict.detail


def test_a_repeated_header_fails_closed() -> None:
    guard = Guard.from_dict(config(network=NGINX))
    req = WebhookRequest(
        "POST",
        "/hooks/partner",
        headers=[
            ("X-Token", TOKEN),
            ("X-SSL-Client-Verify", "SUCCESS"),
            ("X-SSL-Client-S-DN", "CN=evil.example"),
            ("X-SSL-Client-S-DN", "CN=hooks.partner.example"),
        ],
        peer="10.0.0.1",
    )
    verdict = guard.check(req)
    assert verdict.reason is Reason.CLIENT_CERT_INVALID
    assert "sent 2 times" in verdict.detail


def test_rfc4514_escapes_in_the_subject() -> None:
    lines = {"v": ["SUCCESS"], "s": [r"O=Acme\, Inc.,CN=hooks.partner.example\2B"]}
    headers = ClientCertHeaders(verify_header="v", subject_header="s", cert_header=None)
    cert = from_headers(headers, lines.get)
    assert cert == ClientCert(common_name="hooks.partner.example+")
    lines["s"] = [r"CN=caf\C3\A9.example"]
    assert from_headers(headers, lines.get) == ClientCert(common_name="café.example")
    lines["s"] = [r"CN=caf\E9.example"]
    with pytest.raises(ClientCertInvalid, match="not UTF-8"):
        from_headers(headers, lines.get)


def test_envoy_xfcc(tmp_path: Path) -> None:
    guard = Guard.from_dict(
        config(network={"trusted_proxies": ["10.0.0.0/8"], "client_cert": {"xfcc": True}})
    )
    xfcc = 'By=spiffe://me;Hash=abc;Subject="CN=x,O=Partner, Inc.";DNS=hooks.partner.example'

    def sent(value: str, peer: str = "10.0.0.1") -> Any:
        return guard.check(request(peer=peer, **{"x-forwarded-client-cert": value}))

    assert sent(xfcc).ok
    pem = CA(tmp_path).issue("c", common_name="c", dns=("hooks.partner.example",)).pem()
    assert sent(f'Hash=abc;Cert="{quote(pem)}"').ok
    assert sent('Subject="CN=hooks.partner.example"').ok
    two = sent(xfcc + ",By=x;DNS=evil.example")
    assert two.reason is Reason.CLIENT_CERT_INVALID
    assert "SANITIZE_SET" in two.detail
    assert sent("By=x;Hash=y").reason is Reason.CLIENT_CERT_INVALID
    assert sent('Subject="CN=x').reason is Reason.CLIENT_CERT_INVALID
    assert sent(xfcc, peer="198.51.100.7").reason is Reason.CLIENT_CERT_MISSING


def test_asgi_tls_extension_from_another_server(tmp_path: Path) -> None:
    pem = CA(tmp_path).issue("c", common_name="cn", dns=("a.example", "b.example")).pem()
    assert from_asgi({"client_cert_chain": [pem]}) == ClientCert(
        dns_names=("a.example", "b.example"), common_name="cn"
    )
    assert from_asgi({"client_cert_chain": pem}) == from_asgi({"client_cert_chain": [pem]})
    assert from_asgi({"client_cert_chain": []}) is None
    failed = from_asgi({"client_cert_chain": [pem], "client_cert_error": "expired"})
    assert failed is not None
    assert failed.error is not None
    with pytest.raises(ClientCertInvalid):
        ClientCert.from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")


# -- webhook-guard serve over TLS ------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("pki")
    ca = CA(base)
    other = CA(base, name="someone else's CA")
    return {
        "ca": ca,
        "server": ca.server(),
        "good": ca.issue("good", common_name="partner", dns=("hooks.partner.example",)),
        "wrong": ca.issue("wrong", common_name="hooks.partner.example", dns=("evil.example",)),
        "cn_only": ca.issue("cn_only", common_name="hooks.partner.example"),
        "foreign": other.issue("foreign", common_name="x", dns=("hooks.partner.example",)),
    }


@pytest.fixture
def upstream() -> Iterator[tuple[Upstream, str]]:
    app = Upstream()
    with serve_asgi(app) as url:
        yield app, url


def client_context(ca: CA, cert: Issued | None = None, **versions: Any) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.path))
    if cert is not None:
        context.load_cert_chain(str(cert.cert), str(cert.key))
    for name, value in versions.items():
        setattr(context, name, value)
    return context


def post(url: str, context: ssl.SSLContext) -> httpx.Response:
    headers = {"X-Token": TOKEN, "content-type": "application/json"}
    with httpx.Client(verify=context, timeout=10) as client:
        return client.post(f"{url}/hooks/partner", content=b"{}", headers=headers)


def start(tmp_path: Path, upstream_url: str, data: dict[str, Any], *extra: str) -> Any:
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    port = free_port()
    return run_process(serve_args(path, upstream_url, port, *extra), port), port


def test_serve_terminates_tls_with_tls_1_2_or_newer(
    pki: dict[str, Any], upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    app, upstream_url = upstream
    server = pki["server"]
    plain = {"version": 1, "routes": [route(client_cert=None)]}
    runner, port = start(
        tmp_path, upstream_url, plain, "--certfile", str(server.cert), "--keyfile", str(server.key)
    )
    with runner:
        url = f"https://127.0.0.1:{port}"
        assert post(url, client_context(pki["ca"])).status_code == 202
        tls12 = client_context(pki["ca"], maximum_version=ssl.TLSVersion.TLSv1_2)
        assert post(url, tls12).status_code == 202
        with pytest.raises(httpx.HTTPError):  # plain HTTP to a TLS port
            httpx.post(f"http://127.0.0.1:{port}/hooks/partner", content=b"{}", timeout=10)
    assert app.seen[0]["headers"].count(("x-forwarded-proto", "https")) == 1


def test_tls_min_version_from_the_config(
    pki: dict[str, Any], upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    _, upstream_url = upstream
    server = pki["server"]
    data = {
        "version": 1,
        "routes": [route(client_cert=None)],
        "tls": {"certfile": str(server.cert), "keyfile": str(server.key), "min_version": "1.3"},
    }
    runner, port = start(tmp_path, upstream_url, data)
    with runner:
        url = f"https://127.0.0.1:{port}"
        assert post(url, client_context(pki["ca"])).status_code == 202
        tls12 = client_context(pki["ca"], maximum_version=ssl.TLSVersion.TLSv1_2)
        with pytest.raises(httpx.ConnectError):
            post(url, tls12)


def test_client_ca_required_refuses_in_the_handshake(
    pki: dict[str, Any], upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    app, upstream_url = upstream
    server, ca = pki["server"], pki["ca"]
    plain = {"version": 1, "routes": [route(client_cert=None)]}
    runner, port = start(
        tmp_path, upstream_url, plain,
        "--certfile", str(server.cert), "--keyfile", str(server.key), "--client-ca", str(ca.path),
    )  # fmt: skip
    with runner:
        url = f"https://127.0.0.1:{port}"
        assert post(url, client_context(ca, pki["good"])).status_code == 202
        for refused in (None, pki["foreign"]):
            with pytest.raises(httpx.HTTPError):
                post(url, client_context(ca, refused))
    assert len(app.seen) == 1


def test_route_rule_on_serve_with_optional_client_certificates(
    pki: dict[str, Any], upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    app, upstream_url = upstream
    server, ca = pki["server"], pki["ca"]
    data = {
        "version": 1,
        "routes": [route()],
        "tls": {
            "certfile": str(server.cert),
            "keyfile": str(server.key),
            "client_ca": str(ca.path),
            "client_cert": "optional",
        },
    }
    runner, port = start(tmp_path, upstream_url, data)
    with runner:
        url = f"https://127.0.0.1:{port}"
        assert post(url, client_context(ca, pki["good"])).status_code == 202
        missing = post(url, client_context(ca))
        assert (missing.status_code, missing.json()["reason"]) == (403, "client_cert_missing")
        wrong = post(url, client_context(ca, pki["wrong"]))
        assert (wrong.status_code, wrong.json()["reason"]) == (403, "client_cert_invalid")
        assert "evil.example" in wrong.json()["detail"]
        assert post(url, client_context(ca, pki["cn_only"])).status_code == 202
        with pytest.raises(httpx.HTTPError):  # another CA's certificate: no handshake
            post(url, client_context(ca, pki["foreign"]))

        # Refused before the body is read: the answer comes while the body is unsent.
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_context(ca, pki["wrong"]).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            tls.sendall(
                b"POST /hooks/partner HTTP/1.1\r\nHost: x\r\nX-Token: " + TOKEN.encode()
                + b"\r\nContent-Length: 1000000\r\n\r\n"
            )  # fmt: skip
            answer = tls.recv(65536)
            while b"}" not in answer:  # the problem body may come in a record of its own
                more = tls.recv(65536)
                assert more, answer
                answer += more
        assert answer.startswith(b"HTTP/1.1 403 ")
        assert b"client_cert_invalid" in answer
    assert len(app.seen) == 2  # the good and the CN-only certificate


def test_serve_tls_options_errors_exit_2(pki: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps({"version": 1, "routes": [route(client_cert=None)]}))
    cases = [
        (("--certfile", str(tmp_path / "nope.pem")), "--certfile: cannot read"),
        (("--client-ca", str(pki["ca"].path)), "--client-ca: needs --certfile"),
        (("--certfile", str(pki["server"].cert)), "--certfile: cannot load"),  # no key
    ]
    for extra, message in cases:
        result = subprocess.run(
            serve_args(path, "http://127.0.0.1:9", free_port(), *extra),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
    # A route requiring a certificate, and nothing to verify one: refused at start-up.
    path.write_text(json.dumps({"version": 1, "routes": [route()]}))
    result = subprocess.run(
        serve_args(path, "http://127.0.0.1:9", free_port()),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "routes[0].client_cert: nothing verifies client certificates" in result.stderr
    bad = {"version": 1, "routes": [route()], "tls": {"certfile": str(tmp_path / "x.pem")}}
    with pytest.raises(ConfigError, match=r"^tls.certfile: cannot read"):
        load_config(bad)


def test_check_lists_the_certificate_a_route_requires(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from webhook_guard.cli import main

    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(config()), encoding="utf-8")
    assert main(["check", str(path)]) == 0
    assert "client certificate hooks.partner.example" in capsys.readouterr().out


def test_sighup_reloads_a_renewed_server_certificate(
    upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    _, upstream_url = upstream
    ca = CA(tmp_path)
    first, renewed = ca.server("first"), ca.server("renewed")
    cert, key = tmp_path / "live.crt", tmp_path / "live.key"
    shutil.copy(first.cert, cert)
    shutil.copy(first.key, key)
    plain = {"version": 1, "routes": [route(client_cert=None)]}
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(plain), encoding="utf-8")
    port = free_port()
    log = tmp_path / "serve.log"
    args = serve_args(path, upstream_url, port, "--certfile", str(cert), "--keyfile", str(key))

    def served() -> str:
        return ssl.get_server_certificate(("127.0.0.1", port))

    def until(condition: Any) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)

    with run_process(args, port, output=log) as proc:
        assert served() == first.pem()
        shutil.copy(renewed.cert, cert)
        shutil.copy(renewed.key, key)
        proc.send_signal(signal.SIGHUP)
        until(lambda: served() == renewed.pem())
        assert post(f"https://127.0.0.1:{port}", client_context(ca)).status_code == 202

        shutil.copy(first.key, key)  # a key that does not match: kept as it was
        proc.send_signal(signal.SIGHUP)
        until(lambda: "TLS certificate does not load" in log.read_text())
        assert served() == renewed.pem()


def test_handshakes_during_certificate_reloads_all_complete(
    upstream: tuple[Upstream, str], tmp_path: Path
) -> None:
    """A provider's connection that arrives while SIGHUP swaps the certificate must get a
    whole one, old or new: never a handshake that fails because the new certificate was
    paired with the old key for a moment."""
    import threading

    _, upstream_url = upstream
    ca = CA(tmp_path)
    pairs = [ca.server("first"), ca.server("renewed")]
    cert, key = tmp_path / "live.crt", tmp_path / "live.key"
    shutil.copy(pairs[0].cert, cert)
    shutil.copy(pairs[0].key, key)
    plain = {"version": 1, "routes": [route(client_cert=None)]}
    path = tmp_path / "c.yaml"
    path.write_text(json.dumps(plain), encoding="utf-8")
    port = free_port()
    log = tmp_path / "serve.log"
    args = serve_args(path, upstream_url, port, "--certfile", str(cert), "--keyfile", str(key))
    context = client_context(ca)
    failures: list[str] = []
    done = threading.Event()
    handshakes = 0

    def connect() -> None:
        nonlocal handshakes
        while not done.is_set():
            try:
                with (
                    socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
                    context.wrap_socket(raw, server_hostname="localhost"),
                ):
                    handshakes += 1
            except (OSError, ssl.SSLError) as exc:
                failures.append(repr(exc))

    with run_process(args, port, output=log) as proc:
        threads = [threading.Thread(target=connect) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for i in range(40):
                pair = pairs[(i + 1) % 2]
                # Each file replaced whole, as a renewal tool does; the pair on disk may
                # still be mismatched for a moment, which the reload refuses and keeps.
                for src, dst in ((pair.cert, cert), (pair.key, key)):
                    shutil.copy(src, dst.with_suffix(".tmp"))
                    dst.with_suffix(".tmp").replace(dst)
                proc.send_signal(signal.SIGHUP)
                time.sleep(0.05)
        finally:
            done.set()
            for t in threads:
                t.join()
    assert handshakes > 40
    assert failures == [], f"{len(failures)} of {handshakes} handshakes failed: {failures[:3]}"
