"""The inspector page (``webhook-guard inspect``, ``serve --inspect-port``), loaded,
filtered and read in Debian's headless Chromium."""

from __future__ import annotations

import base64
import contextlib
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from webhook_guard import Guard, MemoryReplayStore
from webhook_guard.audit import DeliveryLog, report
from webhook_guard.audit.inspect import render_page
from webhook_guard.config import AuditConfig
from webhook_guard.testing import FakeClock, sign

from .conftest import BODY, SW_SECRET, SW_SECRET_OLD, post, sw_route
from .servers import chromium, free_port, run_process

ROOT = Path(__file__).resolve().parent.parent
# Hostile text a sender controls: an event ID (printable ASCII, so the guard keeps it as
# sent) and a path on a prefix route.
XSS_ID = '"><svg/onload=alert(1)><script>alert(2)</script>'
# No spaces: a path with a space or control character is refused before any route.
XSS_PATH = "/hooks/any/<img/src=x/onerror=alert(3)>"
TOKEN = "inspect-t0ken"


def populate(path: Path, seed: int = 7) -> dict[str, int]:
    """A day of deliveries on three routes; returns the counts per route."""
    rng = random.Random(seed)  # noqa: S311 (repeatable test data, not a secret)
    now = time.time()
    wall = FakeClock(now - 23 * 3600)
    log = DeliveryLog(AuditConfig(path=str(path)), clock=wall)
    clock = FakeClock(now)
    routes = [
        sw_route(name="orders", path="/hooks/orders"),
        sw_route(name="billing", path="/hooks/billing", secrets=[SW_SECRET, SW_SECRET_OLD]),
        sw_route(name="any", path="/hooks/any/*"),
    ]
    guard = Guard.from_dict(
        {"version": 1, "routes": routes},
        store=MemoryReplayStore(10_000, clock=clock),
        clock=clock,
        audit=log,
    )
    counts = {"orders": 0, "billing": 0, "any": 0}
    n = 0
    for hour in range(24):
        for _ in range(rng.randint(2, 9)):
            n += 1
            route = rng.choice(["orders", "orders", "billing"])
            roll = rng.random()
            secret = SW_SECRET_OLD if roll < 0.15 else SW_SECRET
            headers = sign(guard, route, BODY, secret=secret, event_id=f"evt_{n}")
            body = BODY + b" " if 0.15 <= roll < 0.2 else BODY
            verdict = guard.check(post(f"/hooks/{route}", headers, body=body))
            guard.complete(verdict, 200)
            counts[route] += 1
            if roll > 0.95:  # the provider retries: a duplicate
                guard.check(post(f"/hooks/{route}", headers))
                counts[route] += 1
        if hour < 23:
            wall.advance(3600)
    guard.check(post("/hooks/any/x", sign(guard, "any", BODY, event_id=XSS_ID)))
    guard.check(post(XSS_PATH, {}))
    counts["any"] += 2
    log.close()
    return counts


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("inspect") / "deliveries.db"
    return path, populate(path)


def inspector(db: Path, *extra: str) -> tuple[list[str], int]:
    port = free_port()
    args = [sys.executable, "-m", "webhook_guard.cli", "inspect", "--audit", str(db)]
    return [*args, "--port", str(port), *extra], port


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), **extra}


def cli_run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = cli_env()
    env.pop("WEBHOOK_GUARD_INSPECT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "webhook_guard.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_page_shows_filters_and_escapes_in_chromium(db: tuple[Path, dict[str, int]]) -> None:
    path, counts = db
    args, port = inspector(path)
    with run_process(args, port, env=cli_env()), chromium() as browser:
        browser.get(f"http://127.0.0.1:{port}/")
        assert browser.title == "webhook-guard deliveries"
        rows = browser.find_elements(By.CSS_SELECTOR, "#deliveries tr.delivery")
        assert len(rows) == 100  # the default limit
        # Counts per route and reason add up to every delivery of the day.
        total = 0
        for group in browser.find_elements(By.CSS_SELECTOR, "#counts tr.group"):
            total += int(group.find_elements(By.TAG_NAME, "td")[4].text)
        assert total == sum(counts.values())
        # The chart: one bar per outcome and hour, its counts summing to the same total.
        bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
        assert len({b.get_attribute("x") for b in bars}) >= 20
        assert sum(int(b.get_attribute("data-count") or 0) for b in bars) == total

        # Hostile text is shown as text: no element, no script, no dialog.
        cells = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#deliveries code")]
        assert XSS_ID in cells
        assert "POST " + XSS_PATH in cells
        assert browser.find_elements(By.CSS_SELECTOR, "#deliveries svg, #deliveries img") == []
        assert browser.find_elements(By.TAG_NAME, "script") == []
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018 (raises when no dialog is open)

        # Filter with the form, as a user would (a plain GET form: no JavaScript needed).
        Select(browser.find_element(By.ID, "f-route")).select_by_value("billing")
        Select(browser.find_element(By.ID, "f-reason")).select_by_value("accepted")
        submit(browser, "route=billing")
        assert "reason=accepted" in browser.current_url
        rows = browser.find_elements(By.CSS_SELECTOR, "#deliveries tr.delivery")
        assert rows
        for row in rows:
            cells = row.find_elements(By.TAG_NAME, "td")
            assert (cells[1].text, cells[2].text, cells[3].text) == ("billing", "accepted", "-")
        # Counts per secret: the old one (secrets[1]) still verifies some deliveries.
        groups = browser.find_elements(By.CSS_SELECTOR, "#counts tr.group")
        cells = [[c.text for c in g.find_elements(By.TAG_NAME, "td")[:4]] for g in groups]
        assert sorted(cells) == [
            ["billing", "accepted", "-", "secrets[0]"],
            ["billing", "accepted", "-", "secrets[1]"],
        ]
        secrets = {r.find_elements(By.TAG_NAME, "td")[7].text for r in rows}
        assert secrets <= {"secrets[0]", "secrets[1]"}

        # The counts table links to its own filter.
        browser.get(f"http://127.0.0.1:{port}/?since=1h&route=orders&outcome=rejected")
        for row in browser.find_elements(By.CSS_SELECTOR, "#deliveries tr.delivery"):
            assert row.find_elements(By.TAG_NAME, "td")[2].text == "rejected"
        browser.get(f"http://127.0.0.1:{port}/?route=nope")
        assert browser.find_element(By.ID, "none").text == "No delivery matches these filters."


def submit(browser: Any, expected: str) -> None:
    """Press the filter form's button and wait for the page it loads: click() returns
    when the click is dispatched, and the form's navigation may still be under way
    (CI saw the old URL once)."""
    browser.find_element(By.ID, "apply").click()
    WebDriverWait(browser, 10).until(lambda b: expected in b.current_url)
    WebDriverWait(browser, 10).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )


def test_filters_work_without_javascript(db: tuple[Path, dict[str, int]]) -> None:
    path, counts = db
    args, port = inspector(path)
    with run_process(args, port, env=cli_env()), chromium(javascript=False) as browser:
        browser.get(f"http://127.0.0.1:{port}/?limit=500")
        assert len(browser.find_elements(By.CSS_SELECTOR, "tr.delivery")) == sum(counts.values())
        Select(browser.find_element(By.ID, "f-route")).select_by_value("any")
        Select(browser.find_element(By.ID, "f-outcome")).select_by_value("rejected")
        submit(browser, "route=any")
        assert "limit=500" in browser.current_url  # the form keeps the page size
        [row] = browser.find_elements(By.CSS_SELECTOR, "tr.delivery")
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        assert cells[1:5] == ["any", "rejected", "signature_missing", "401"]
        assert cells[8] == "POST " + XSS_PATH
        # The filters are read back into the form.
        chosen = Select(browser.find_element(By.ID, "f-route")).first_selected_option
        assert chosen.get_attribute("value") == "any"


def test_page_headers_forbid_scripts_and_framing(db: tuple[Path, dict[str, int]]) -> None:
    path, _ = db
    args, port = inspector(path)
    with run_process(args, port, env=cli_env()):
        page = httpx.get(f"http://127.0.0.1:{port}/?route=%3Cscript%3E")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "script" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<script" not in page.text
        assert XSS_ID not in page.text  # only its escaped form is there
        # A rebinding page reaches the loopback port under its own host name.
        rebound = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": "evil.example"})
        assert rebound.status_code == 421
        assert httpx.post(f"http://127.0.0.1:{port}/").status_code == 501  # read-only
        assert httpx.get(f"http://127.0.0.1:{port}/other").status_code == 404


def test_token_is_required_when_given_and_checked(
    db: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    path, _ = db
    (tmp_path / "token").write_text(TOKEN + "\n")
    args, port = inspector(path, "--token-file", str(tmp_path / "token"))
    url = f"http://127.0.0.1:{port}/"
    with run_process(args, port, env=cli_env()):
        refused = httpx.get(url)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Basic ")
        assert "Deliveries" not in refused.text
        assert httpx.get(url, auth=("any", TOKEN + "x")).status_code == 401
        assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(url, auth=("any", TOKEN)).status_code == 200
        ok = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert "Deliveries" in ok.text
        basic = base64.b64encode(b"x:" + TOKEN.encode()).decode()
        # The token works under any host name (it is what protects a non-loopback bind).
        assert (
            httpx.get(url, headers={"Authorization": f"Basic {basic}", "Host": "a.example"})
        ).status_code == 200


def test_non_loopback_without_token_is_refused_before_binding(
    db: tuple[Path, dict[str, int]],
) -> None:
    path, _ = db
    loopback_only = "0.0.0.0"  # noqa: S104 (refused before binding: the point)
    result = cli_run("inspect", "--audit", str(path), "--host", loopback_only, "--port", "1")
    assert result.returncode == 2
    assert "not loopback" in result.stderr


def test_no_log_yet_is_a_page_not_an_error(tmp_path: Path) -> None:
    args, port = inspector(tmp_path / "later.db")
    with run_process(args, port, env=cli_env()):
        page = httpx.get(f"http://127.0.0.1:{port}/")
    assert page.status_code == 200
    assert "No deliveries recorded yet." in page.text


def test_serve_inspect_port_shows_the_proxy_deliveries(tmp_path: Path) -> None:
    config: dict[str, Any] = {
        "version": 1,
        "routes": [sw_route()],
        "audit": {"path": str(tmp_path / "d.db")},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    port, inspect_port = free_port(), free_port()
    args = [sys.executable, "-m", "webhook_guard.cli", "serve", "--config", "c.yaml"]
    args += ["--upstream", f"http://127.0.0.1:{free_port()}", "--port", str(port)]
    args += ["--inspect-port", str(inspect_port)]
    with run_process(args, port, env=cli_env(), cwd=tmp_path):
        forged = sign("standard", BODY, secret=SW_SECRET_OLD, event_id="msg_f")
        assert httpx.post(f"http://127.0.0.1:{port}/hooks/sw", content=BODY, headers=forged)
        deadline = time.monotonic() + 10
        page = ""
        while "signature_mismatch" not in page and time.monotonic() < deadline:
            time.sleep(0.1)
            page = httpx.get(f"http://127.0.0.1:{inspect_port}/").text
    assert "signature_mismatch" in page
    assert "127.0.0.1" in page


def test_serve_inspect_port_needs_an_audit_section(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"version": 1, "routes": [sw_route()]}))
    upstream, inspect = "http://127.0.0.1:9", str(free_port())
    result = cli_run(
        "serve",
        "--config",
        "c.yaml",
        "--upstream",
        upstream,
        "--inspect-port",
        inspect,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "has no audit: section" in result.stderr


def test_bodies_are_shown_only_when_stored_and_escaped(tmp_path: Path) -> None:
    hostile = b'{"x":"</pre><script>alert(4)</script>"}'
    pages = {}
    for store_bodies in (False, True):
        path = tmp_path / f"{store_bodies}.db"
        log = DeliveryLog(AuditConfig(path=str(path), store_bodies=store_bodies))
        guard = Guard.from_dict({"version": 1, "routes": [sw_route()]}, audit=log)
        guard.check(post("/hooks/sw", sign(guard, "sw", hostile), body=hostile))
        log.close()
        with contextlib.closing(report.open_readonly(str(path))) as conn:
            pages[store_bodies] = render_page(conn, {})
    assert "<details>" not in pages[False]
    assert "alert(4)" not in pages[False]
    assert "<details><summary>body</summary>" in pages[True]
    assert "&lt;/pre&gt;&lt;script&gt;alert(4)&lt;/script&gt;" in pages[True]
    assert "<script>" not in pages[True]
