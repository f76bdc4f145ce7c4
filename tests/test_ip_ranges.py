"""Provider IP range lists: shipped snapshots, the published formats, and `ip-ranges update`.

`update` is tested against a real local HTTP server (http.server on a free loopback port)
serving documents shaped like the providers' published JSON; nothing touches the network.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from webhook_guard import ConfigError, Guard, Reason, WebhookRequest, load_config
from webhook_guard.cli import main
from webhook_guard.ip_ranges import (
    PROVIDERS,
    PUBLISHED_URLS,
    RangeUpdateError,
    load_ranges,
    parse_published,
    provider_set,
    update_ranges,
)

# Public networks only, and each list at least half the size of the shipped one: an
# update refuses anything else as implausible unless forced (tested below).
GITHUB_META = {
    "verifiable_password_authentication": False,
    "hooks": ["192.30.252.0/22", "185.199.108.0/22", "2a0a:a440::/29"],
    "web": ["192.30.255.0/24"],
}
STRIPE_IPS = {
    "WEBHOOKS": [
        "3.18.12.63",
        "3.130.192.231",
        "13.235.14.237",
        "13.235.122.149",
        "18.211.135.69",
        "35.154.171.200",
    ]
}
CLOUDFLARE_IPS = {
    "result": {
        "ipv4_cidrs": [
            "173.245.48.0/20",
            "103.21.244.0/22",
            "103.22.200.0/22",
            "103.31.4.0/22",
            "141.101.64.0/18",
            "108.162.192.0/18",
            "190.93.240.0/20",
            "188.114.96.0/20",
            "197.234.240.0/22",
            "198.41.128.0/17",
        ],
        "ipv6_cidrs": ["2400:cb00::/32"],
        "etag": "x",
    },
    "success": True,
    "errors": [],
    "messages": [],
}


def _aws(prefix: str, region: str, service: str) -> dict[str, str]:
    return {
        "ip_prefix": prefix,
        "region": region,
        "service": service,
        "network_border_group": region,
    }


AWS_IPS = {
    "syncToken": "1700000000",
    "createDate": "2026-11-23-00-00-00",
    "prefixes": [
        _aws("54.240.197.0/25", "eu-west-1", "SNS"),
        _aws("54.240.197.128/25", "us-east-1", "SNS"),
        _aws("52.94.0.0/22", "us-east-1", "AMAZON"),
        # The rest of a (much longer) real list.
        *(_aws(f"52.95.{i}.0/24", "us-west-2", "AMAZON") for i in range(30)),
    ],
    "ipv6_prefixes": [
        {
            "ipv6_prefix": "2600:1f14:5::/48",
            "region": "us-east-1",
            "service": "SNS",
            "network_border_group": "us-east-1",
        }
    ],
}
PUBLISHED = {
    "github": GITHUB_META,
    "stripe": STRIPE_IPS,
    "cloudflare": CLOUDFLARE_IPS,
    "aws": AWS_IPS,
}


# -- shipped snapshots -----------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_shipped_snapshot_records_its_source_and_date(provider: str, tmp_path: Path) -> None:
    ranges = load_ranges(provider, tmp_path)  # empty dir: the shipped snapshot is used
    assert ranges.origin == "shipped"
    assert ranges.source == PUBLISHED_URLS[provider]
    assert len(ranges.snapshot_date) == 10
    assert ranges.snapshot_date.startswith("2026-")
    assert ranges.entries
    assert ranges.note


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        ("github", ["192.30.252.1", "140.82.112.9", "2a0a:a440::1"], ["192.30.251.255", "8.8.8.8"]),
        ("stripe", ["3.18.12.63", "54.187.216.72"], ["3.18.12.64", "54.187.216.71"]),
        ("cloudflare", ["173.245.48.1", "2606:4700::1"], ["173.245.64.1"]),
        ("aws:ROUTE53_HEALTHCHECKS", ["15.177.0.1", "107.23.255.1"], ["107.23.255.64"]),
        ("aws:route53_healthchecks/us-east-1", ["107.23.255.1"], ["54.228.16.1"]),
    ],
)
def test_provider_sets(spec: str, inside: list[str], outside: list[str], tmp_path: Path) -> None:
    ipset = provider_set(spec, tmp_path)
    for addr in inside:
        assert addr in ipset, addr
    for addr in outside:
        assert addr not in ipset, addr


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gitlab", "unknown provider 'gitlab'"),
        ("aws", "'aws' needs a service"),
        ("aws:", "is not aws:<SERVICE>"),
        ("aws:SNS/", "no AWS prefixes match"),
        ("aws:SNS/us-east-1/x", "is not aws:<SERVICE>"),
        ("aws:ROUTE53_HEALTHCHECKS/us-east-9", "regions of ROUTE53_HEALTHCHECKS"),
    ],
)
def test_provider_set_errors(spec: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        provider_set(spec, tmp_path)


# -- the published formats --------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_parse_published_formats(provider: str) -> None:
    entries = parse_published(provider, json.dumps(PUBLISHED[provider]).encode())
    prefixes = [p for p, _, _ in entries]
    if provider == "github":
        assert prefixes == GITHUB_META["hooks"]  # only `hooks`, never `web`
    elif provider == "aws":
        assert ("2600:1f14:5::/48", "SNS", "us-east-1") in entries
        assert len(entries) == 34
    else:
        assert prefixes


@pytest.mark.parametrize(
    ("provider", "document", "message"),
    [
        ("github", b"<html>rate limited</html>", "not JSON"),
        ("github", b"[]", "expected a JSON object"),
        ("github", b'{"web": []}', "expected a list under 'hooks'"),
        ("github", b'{"hooks": []}', "non-empty list"),
        ("github", b'{"hooks": ["192.30.252.0/22", "192.30.252.1/22"]}', "host bits set"),
        ("github", b'{"hooks": ["0.0.0.0/0"]}', "wider than /8"),
        ("github", b'{"hooks": ["::/0"]}', "wider than /16"),
        ("github", b'{"hooks": [42]}', "expected a string"),
        ("github", b'{"hooks": ["192.30.252.0/22 "]}', "invalid CIDR"),
        ("stripe", b'{"webhooks": ["3.18.12.63"]}', "expected a list under 'WEBHOOKS'"),
        ("stripe", b'{"WEBHOOKS": ["3.18.12.063"]}', "invalid CIDR"),
        ("cloudflare", b'{"success": false, "result": {}}', "'success': true"),
        ("cloudflare", b'{"success": true, "result": {"ipv4_cidrs": []}}', "'ipv6_cidrs'"),
        ("aws", b'{"prefixes": [], "ipv6_prefixes": []}', "non-empty list"),
        ("aws", b'{"prefixes": ["192.0.2.0/24"], "ipv6_prefixes": []}', "expected an object"),
        (
            "aws",
            b'{"prefixes": [{"ip_prefix": "192.0.2.0/24", "region": 1, "service": "X"}],'
            b' "ipv6_prefixes": []}',
            "service and region must be strings",
        ),
        ("aws", b'{"prefixes": []}', "'ipv6_prefixes'"),
    ],
)
def test_parse_published_refuses_the_whole_list_on_any_bad_entry(
    provider: str, document: bytes, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse_published(provider, document)


# -- `webhook-guard ip-ranges update` against a local HTTP server ---------------------------


class _Site:
    """What the local server answers: path -> (status, body)."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, bytes]] = {}
        self.requests: list[str] = []

    def publish(self, provider: str, document: Any, status: int = 200) -> None:
        from urllib.parse import urlsplit

        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.pages[urlsplit(PUBLISHED_URLS[provider]).path] = (status, body)


@contextlib.contextmanager
def published_site() -> Iterator[tuple[_Site, str]]:
    site = _Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(self.path)
            status, body = site.pages.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_update_all_from_a_mirror_then_used_by_the_guard(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with published_site() as (site, base):
        for provider, document in PUBLISHED.items():
            site.publish(provider, document)
        code = main(["ip-ranges", "update", "--base-url", base, "--dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert sorted(site.requests) == [
        "/client/v4/ips",
        "/files/ips/ips_webhooks.json",
        "/ip-ranges.json",
        "/meta",
    ]
    for provider in PROVIDERS:
        assert f"{provider}: " in out
        stored = json.loads((tmp_path / f"{provider}.json").read_text())
        assert stored["source"].startswith(base)
        assert stored["snapshot_date"]
    assert load_ranges("github", tmp_path).origin == str(tmp_path / "github.json")
    assert "185.199.108.9" in provider_set("github", tmp_path)
    assert "140.82.112.9" not in provider_set("github", tmp_path)  # the new list replaced it
    assert "54.240.197.1" in provider_set("aws:sns/eu-west-1", tmp_path)
    assert "54.240.197.129" not in provider_set("aws:sns/eu-west-1", tmp_path)

    # Config resolves provider names through the refreshed lists.
    monkeypatch.setenv("WEBHOOK_GUARD_IP_RANGES_DIR", str(tmp_path))
    guard = Guard.from_dict(
        {
            "version": 1,
            "routes": [
                {
                    "name": "gh",
                    "path": "/gh",
                    "token": {"header": "X-Token", "secrets": ["t0ken-value"]},
                    "allow_ips": ["github"],
                }
            ],
        }
    )
    ok = guard.check(
        WebhookRequest("POST", "/gh", headers={"X-Token": "t0ken-value"}, peer="185.199.108.9")
    )
    assert ok.ok, ok.detail
    old = guard.check(
        WebhookRequest("POST", "/gh", headers={"X-Token": "t0ken-value"}, peer="140.82.112.9")
    )
    assert old.reason is Reason.IP_NOT_ALLOWED

    code = main(["ip-ranges", "list", "--dir", str(tmp_path)])
    listing = capsys.readouterr().out
    assert code == 0
    assert str(tmp_path / "github.json") in listing
    code = main(["ip-ranges", "show", "github", "--dir", str(tmp_path)])
    shown = capsys.readouterr().out.splitlines()
    assert shown[1:] == ["185.199.108.0/22", "192.30.252.0/22", "2a0a:a440::/29"]


@pytest.mark.parametrize(
    ("status", "document", "message"),
    [
        (200, b"{not json", "not JSON"),
        (200, {"hooks": ["192.30.252.0/22", "10.0.0.0/33"]}, "entries[1]: invalid CIDR"),
        (200, {"hooks": ["0.0.0.0/0"]}, "wider than /8"),
        (200, {"hooks": []}, "non-empty list"),
        (503, {"message": "try later"}, "HTTP Error 503"),
    ],
)
def test_failed_update_keeps_the_last_good_list(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    status: int,
    document: Any,
    message: str,
) -> None:
    with published_site() as (site, base):
        site.publish("github", GITHUB_META)
        assert (
            main(["ip-ranges", "update", "github", "--base-url", base, "--dir", str(tmp_path)]) == 0
        )
        good = (tmp_path / "github.json").read_bytes()
        capsys.readouterr()
        site.publish("github", document, status)
        code = main(["ip-ranges", "update", "github", "--base-url", base, "--dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert message in err
    assert "keeping the last good list" in err
    assert (tmp_path / "github.json").read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["github.json"]  # no temp file left


def test_one_failed_provider_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with published_site() as (site, base):
        site.publish("stripe", STRIPE_IPS)  # github is not published: 404
        code = main(
            ["ip-ranges", "update", "github", "stripe", "--base-url", base, "--dir", str(tmp_path)]
        )
    captured = capsys.readouterr()
    assert code == 1
    assert "github: cannot fetch" in captured.err
    assert "stripe: 6 prefixes" in captured.out
    assert not (tmp_path / "github.json").exists()
    assert load_ranges("github", tmp_path).origin == "shipped"


def test_source_url_for_one_provider(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with published_site() as (site, base):
        site.pages["/custom/stripe.json"] = (200, json.dumps(STRIPE_IPS).encode())
        code = main(
            [
                "ip-ranges",
                "update",
                "stripe",
                "--source-url",
                f"{base}/custom/stripe.json",
                "--dir",
                str(tmp_path),
            ]
        )
    assert code == 0, capsys.readouterr().err
    assert load_ranges("stripe", tmp_path).source == f"{base}/custom/stripe.json"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ip-ranges", "update", "--source-url", "http://127.0.0.1:9/x"], "exactly one provider"),
        (["ip-ranges", "update", "gitlab"], "unknown provider(s) gitlab"),
        (["ip-ranges", "show", "aws:NOPE"], "no AWS prefixes match"),
    ],
)
def test_cli_usage_errors_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--dir", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err


def test_update_refuses_non_http_urls(tmp_path: Path) -> None:
    secret = tmp_path / "file.json"
    secret.write_text(json.dumps(GITHUB_META))
    with pytest.raises(RangeUpdateError, match="is not an http"):
        update_ranges("github", url=f"file://{secret}", directory=tmp_path)


def test_corrupted_refreshed_list_is_a_loud_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stripe.json").write_text('{"provider": "stripe"')
    monkeypatch.setenv("WEBHOOK_GUARD_IP_RANGES_DIR", str(tmp_path))
    config = {
        "version": 1,
        "routes": [
            {
                "name": "s",
                "path": "/s",
                "token": {"header": "X-Token", "secrets": ["t0ken-value"]},
                "allow_ips": ["192.0.2.0/24", "stripe"],
            }
        ],
    }
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert info.value.errors[0].startswith("routes[0].allow_ips[1]: ")
    assert "stripe.json: cannot read the refreshed stripe list" in info.value.errors[0]


# -- implausible lists: well-formed, but not what the provider publishes ------------------


@pytest.mark.parametrize(
    ("hooks", "message"),
    [
        (["192.30.252.0/22", "10.0.0.0/8", "2a0a:a440::/29"], "entries[1]: 10.0.0.0/8 is not"),
        (["192.30.252.0/22", "127.0.0.0/8", "2a0a:a440::/29"], "entries[1]: 127.0.0.0/8 is not"),
        (["169.254.0.0/16", "192.30.252.0/22", "2a0a:a440::/29"], "169.254.0.0/16 is not"),
        (["192.30.252.0/22", "100.64.0.0/10", "2a0a:a440::/29"], "100.64.0.0/10 is not"),
        (["192.30.252.0/22", "224.0.0.0/8", "2a0a:a440::/29"], "224.0.0.0/8 is not"),
        (["192.30.252.0/22", "185.199.108.0/22", "fd00:1::/48"], "fd00:1::/48 is not"),
        (["192.30.252.0/22", "203.0.113.0/24", "2a0a:a440::/29"], "203.0.113.0/24 is not"),
        (["192.30.252.0/22"], "1 prefixes, less than half of the 3 in use"),
    ],
)
def test_update_refuses_an_implausible_list_and_keeps_the_last_good_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hooks: list[str], message: str
) -> None:
    update = ["ip-ranges", "update", "github", "--dir", str(tmp_path)]
    with published_site() as (site, base):
        site.publish("github", GITHUB_META)
        assert main([*update, "--base-url", base]) == 0
        good = (tmp_path / "github.json").read_bytes()
        capsys.readouterr()
        site.publish("github", {"hooks": hooks})
        code = main([*update, "--base-url", base])
        err = capsys.readouterr().err
        assert code == 1
        assert message in err
        assert "--force" in err
        assert "keeping the last good list" in err
        assert (tmp_path / "github.json").read_bytes() == good
        # The reader has checked the list: --force takes it.
        assert main([*update, "--base-url", base, "--force"]) == 0
    assert [p for p, _, _ in load_ranges("github", tmp_path).entries] == hooks


def test_update_compares_with_the_shipped_list_when_none_was_refreshed(tmp_path: Path) -> None:
    shipped = len(load_ranges("stripe", tmp_path).entries)
    assert shipped >= 4
    with published_site() as (site, base):
        site.publish("stripe", {"WEBHOOKS": ["3.18.12.63"]})
        with pytest.raises(RangeUpdateError, match=f"less than half of the {shipped} in use"):
            update_ranges("stripe", url=f"{base}/files/ips/ips_webhooks.json", directory=tmp_path)
    assert load_ranges("stripe", tmp_path).origin == "shipped"
