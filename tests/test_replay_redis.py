"""Redis replay store against a real redis-server: atomic states, tokens, TTLs, many
worker processes, outages, config and URL forms."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from webhook_guard import Guard, Reason, ReplayState, ReplayStore, WebhookRequest
from webhook_guard.config import ReplayConfig, load_config
from webhook_guard.errors import ConfigError, ReplayStoreError
from webhook_guard.replay import RedisReplayStore, redis_store
from webhook_guard.replay.redis_store import parse_redis_url, redact_url
from webhook_guard.testing import sign

from .conftest import sw_route
from .servers import free_port, frozen, redis_process, redis_server, require, run_process


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def store(redis_url: str, raw: redis.Redis) -> Iterator[RedisReplayStore]:
    s = RedisReplayStore(redis_url, prefix="t:")
    yield s
    s.close()


def config(url: str, **replay: Any) -> dict[str, Any]:
    return {"version": 1, "replay": {"store": url, **replay}, "routes": [sw_route()]}


def signed(guard: Guard, event_id: str, body: bytes = b'{"n":1}') -> WebhookRequest:
    headers = sign(guard, "sw", body, event_id=event_id)
    return WebhookRequest("POST", "/hooks/sw", headers=headers, body=body, peer="127.0.0.1")


# -- the store itself ---------------------------------------------------------------------


def test_implements_the_protocol(store: RedisReplayStore) -> None:
    assert isinstance(store, ReplayStore)


def test_new_in_flight_done_and_what_is_stored(store: RedisReplayStore, raw: redis.Redis) -> None:
    assert store.reserve("r:1", 60, "a") is ReplayState.NEW
    assert raw.get("t:r:1") == b"r:a"
    assert store.reserve("r:1", 60, "b") is ReplayState.IN_FLIGHT
    store.commit("r:1", 600, "a")
    assert raw.get("t:r:1") == b"d"
    store.release("r:1", "a")  # a release after the commit never drops the DONE mark
    assert store.reserve("r:1", 60, "c") is ReplayState.DONE
    assert raw.keys("*") == [b"t:r:1"]


def test_ttls_are_the_reservation_and_the_retention(
    store: RedisReplayStore, raw: redis.Redis
) -> None:
    store.reserve("r:1", 60, "a")
    assert 55_000 < raw.pttl("t:r:1") <= 60_000
    store.commit("r:1", 600, "a")
    assert 595_000 < raw.pttl("t:r:1") <= 600_000
    store.reserve("r:2", 0.0001, "a")  # rounded up to 1 ms, never 0 (= no expiry)
    assert raw.pttl("t:r:2") in (-2, 1, 0)


def test_a_reservation_expires_in_redis(store: RedisReplayStore, raw: redis.Redis) -> None:
    store.reserve("r:1", 0.05, "a")
    deadline = 200
    while raw.exists("t:r:1") and deadline:
        deadline -= 1
        threading.Event().wait(0.01)
    assert store.reserve("r:1", 60, "b") is ReplayState.NEW


def test_release_only_with_the_holding_token(store: RedisReplayStore, raw: redis.Redis) -> None:
    store.reserve("r:1", 60, "a")
    store.release("r:1", "someone-else")
    assert store.reserve("r:1", 60, "b") is ReplayState.IN_FLIGHT
    store.release("r:1", "a")
    assert not raw.exists("t:r:1")
    assert store.reserve("r:1", 60, "b") is ReplayState.NEW


def test_late_release_cannot_drop_the_next_workers_reservation(
    store: RedisReplayStore, raw: redis.Redis
) -> None:
    store.reserve("r:1", 60, "a")
    raw.delete("t:r:1")  # a's reservation expired (worker a stalled past the timeout)
    assert store.reserve("r:1", 60, "b") is ReplayState.NEW
    store.release("r:1", "a")  # a wakes up, its handler failed
    assert raw.get("t:r:1") == b"r:b"
    assert store.reserve("r:1", 60, "c") is ReplayState.IN_FLIGHT


def test_prefixes_keep_guards_apart(redis_url: str, raw: redis.Redis) -> None:
    other = RedisReplayStore(redis_url, prefix="other:")
    mine = RedisReplayStore(redis_url, prefix="t:")
    try:
        assert mine.reserve("r:1", 60, "a") is ReplayState.NEW
        assert other.reserve("r:1", 60, "a") is ReplayState.NEW
        assert sorted(raw.keys("*")) == [b"other:r:1", b"t:r:1"]
    finally:
        other.close()
        mine.close()


def test_async_twins(store: RedisReplayStore, raw: redis.Redis) -> None:
    async def scenario() -> list[ReplayState]:
        seen = [await store.areserve("r:1", 60, "a"), await store.areserve("r:1", 60, "b")]
        await store.arelease("r:1", "b")  # not the holder: no effect
        seen.append(await store.areserve("r:1", 60, "b"))
        await store.arelease("r:1", "a")
        seen.append(await store.areserve("r:1", 60, "b"))
        await store.acommit("r:1", 600, "b")
        seen.append(await store.areserve("r:1", 60, "c"))
        await store.aclose()
        return seen

    N, F, D = ReplayState.NEW, ReplayState.IN_FLIGHT, ReplayState.DONE
    assert asyncio.run(scenario()) == [N, F, F, N, D]
    assert 595_000 < raw.pttl("t:r:1") <= 600_000
    # A second event loop gets its own connections (asyncio ones belong to one loop).
    assert asyncio.run(scenario()) == [D, D, D, D, D]


def test_concurrent_reservations_from_threads_have_one_winner(
    store: RedisReplayStore,
) -> None:
    barrier = threading.Barrier(8)
    results: list[ReplayState] = []

    def worker(n: int) -> None:
        barrier.wait()
        results.append(store.reserve("r:race", 60, f"t{n}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted([ReplayState.NEW] + [ReplayState.IN_FLIGHT] * 7)


def test_password_is_used_and_never_shown() -> None:
    with redis_server() as url:
        admin = redis.Redis.from_url(url)
        admin.config_set("requirepass", "hunter2-secret")
        admin.close()
        good = RedisReplayStore(url.replace("redis://", "redis://:hunter2-secret@"))
        bad = RedisReplayStore(url.replace("redis://", "redis://:wrong-secret@"))
        try:
            assert good.reserve("r:1", 60, "a") is ReplayState.NEW
            with pytest.raises(ReplayStoreError) as info:
                bad.reserve("r:1", 60, "a")
            shown = f"{info.value} {bad!r} {good!r}"
            assert "secret" not in shown
            assert ":***@127.0.0.1" in shown
        finally:
            good.close()
            bad.close()


# -- the guard with a redis store ----------------------------------------------------------


def test_guard_lifecycle_across_two_workers(redis_url: str, raw: redis.Redis) -> None:
    first = Guard.from_dict(config(redis_url))
    second = Guard.from_dict(config(redis_url))
    assert isinstance(first.store, RedisReplayStore)
    try:
        req = signed(first, "evt_1")
        taken = first.check(req)
        assert taken.ok
        assert raw.keys("*") == [b"webhook_guard:sw:evt_1"]
        busy = second.check(req)
        assert (busy.reason, busy.status) == (Reason.EVENT_IN_FLIGHT, 409)
        first.complete(taken, 500)  # the handler failed: the retry must get through
        retry = second.check(req)
        assert retry.ok
        second.complete(retry, 200)
        again = first.check(req)
        assert (again.reason, again.status, again.duplicate) == (Reason.DUPLICATE_EVENT, 200, True)
    finally:
        for g in (first, second):
            assert isinstance(g.store, RedisReplayStore)
            g.store.close()


def test_guard_async_lifecycle(redis_url: str, raw: redis.Redis) -> None:
    guard = Guard.from_dict(config(redis_url, prefix="a:"))

    async def scenario() -> list[tuple[bool, Reason | None]]:
        req = signed(guard, "evt_async")
        out = []
        taken = await guard.acheck(req)
        out.append((taken.ok, taken.reason))
        busy = await guard.acheck(req)
        out.append((busy.ok, busy.reason))
        await guard.acomplete(taken, None)  # the handler raised
        retry = await guard.acheck(req)
        out.append((retry.ok, retry.reason))
        await guard.acomplete(retry, 204)
        dup = await guard.acheck(req)
        out.append((dup.ok, dup.reason))
        assert isinstance(guard.store, RedisReplayStore)
        await guard.store.aclose()
        return out

    assert asyncio.run(scenario()) == [
        (True, None),
        (False, Reason.EVENT_IN_FLIGHT),
        (True, None),
        (False, Reason.DUPLICATE_EVENT),
    ]
    assert raw.get("a:sw:evt_async") == b"d"


@pytest.mark.parametrize("run", ["sync", "async"])
def test_a_second_key_settles_with_the_first(redis_url: str, raw: redis.Redis, run: str) -> None:
    """PayPal's signed transmission ID is reserved beside its event ID (its body is
    signed only through a CRC32): both are held, committed and released together."""
    import zlib

    from webhook_guard.signatures.paypal import TEST_CERT_URL
    from webhook_guard.testing import StaticKeyFetcher, keypair

    from .test_presets_fetched import crc32_twin

    pair = keypair("paypal")
    route = {"name": "pp", "path": "/pp", "provider": "paypal", "signature": {"webhook_id": "W1"}}
    guard = Guard.from_dict(
        {"version": 1, "replay": {"store": redis_url, "prefix": f"{run}:"}, "routes": [route]},
        key_fetcher=StaticKeyFetcher({TEST_CERT_URL: pair.public_key}),
    )
    body = b'{"id":"WH-1","event_type":"PAYMENT.SALE.COMPLETED"}'
    headers = sign(guard, "pp", body, secret=pair.private_key, event_id="tx-1")
    twin = crc32_twin(b'{"id":"WH-2","x":"', b'"}', zlib.crc32(body))

    def request(content: bytes) -> WebhookRequest:
        return WebhookRequest("POST", "/pp", headers=headers, body=content, peer="127.0.0.1")

    async def scenario() -> list[Reason | None]:
        out: list[Reason | None] = []
        taken = await guard.acheck(request(body))
        out.append(taken.reason)
        out.append((await guard.acheck(request(twin))).reason)
        await guard.acomplete(taken, 503)  # released: both keys
        retry = await guard.acheck(request(body))
        out.append(retry.reason)
        await guard.acomplete(retry, 200)
        out.append((await guard.acheck(request(twin))).reason)
        await guard.aclose()  # its connections belong to this event loop
        return out

    def sync_scenario() -> list[Reason | None]:
        out: list[Reason | None] = []
        taken = guard.check(request(body))
        out.append(taken.reason)
        out.append(guard.check(request(twin)).reason)
        guard.complete(taken, 503)
        retry = guard.check(request(body))
        out.append(retry.reason)
        guard.complete(retry, 200)
        out.append(guard.check(request(twin)).reason)
        return out

    if run == "sync":
        try:
            got = sync_scenario()
        finally:
            guard.close()
    else:
        got = asyncio.run(scenario())
    assert got == [None, Reason.EVENT_IN_FLIGHT, None, Reason.DUPLICATE_EVENT]
    assert raw.get(f"{run}:pp:WH-1") == b"d"
    assert raw.get(f"{run}:pp:transmission tx-1") == b"d"
    assert raw.get(f"{run}:pp:WH-2") is None  # the twin's own key was let go


# -- many worker processes -----------------------------------------------------------------


def _race_worker(
    url: str, worker: int, deliveries: list[tuple[str, dict[str, str], bytes]], start: Any
) -> Any:
    """One worker process: its own Guard from the shared config; retries until every event
    is settled from its point of view. Its handler fails on some events (500)."""
    guard = Guard.from_dict(config(url, prefix="race:"))
    start.wait()  # all workers begin together, or the first one started does everything
    order = list(range(len(deliveries)))
    random.Random(worker).shuffle(order)  # noqa: S311 (a test order, not a secret)
    pending = set(order)
    succeeded: list[str] = []
    failed: list[str] = []
    for _ in range(2000):
        if not pending:
            break
        for i in [i for i in order if i in pending]:
            event_id, headers, body = deliveries[i]
            verdict = guard.check(WebhookRequest("POST", "/hooks/sw", headers=headers, body=body))
            if verdict.ok:
                status = 500 if (i + worker) % 7 == 0 else 200
                guard.complete(verdict, status)
                if status == 200:
                    succeeded.append(event_id)
                    pending.discard(i)
                else:
                    failed.append(event_id)
            elif verdict.reason is Reason.DUPLICATE_EVENT:
                pending.discard(i)
            elif verdict.reason is not Reason.EVENT_IN_FLIGHT:
                raise AssertionError(f"unexpected verdict {verdict}")
    return succeeded, failed, sorted(deliveries[i][0] for i in pending)


def test_four_worker_processes_accept_each_delivery_exactly_once(
    redis_url: str, raw: redis.Redis
) -> None:
    signer = Guard.from_dict(config("memory"))
    deliveries = []
    for n in range(300):
        body = f'{{"n":{n}}}'.encode()
        deliveries.append((f"evt_{n}", sign(signer, "sw", body, event_id=f"evt_{n}"), body))
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(4) as pool:
        start = manager.Barrier(4)
        results = pool.starmap(_race_worker, [(redis_url, w, deliveries, start) for w in range(4)])
    succeeded = [e for ok, _, _ in results for e in ok]
    failed = {e for _, bad, _ in results for e in bad}
    assert [left for _, _, left in results] == [[], [], [], []]
    assert sorted(succeeded) == sorted(d[0] for d in deliveries)  # each exactly once
    assert len(succeeded) == len(set(succeeded))
    assert failed  # some handlers failed, and those events still succeeded elsewhere
    for w, (ok, bad, _) in enumerate(results):
        assert not set(ok) & set(bad), f"worker {w} failed and also processed an event"
    assert sum(1 for _ in raw.scan_iter("race:*")) == 300


# -- outages -------------------------------------------------------------------------------


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("policy", ["fail_closed", "fail_open"])
def test_redis_stopped_mid_run_then_back(
    policy: str, use_async: bool, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    url = f"redis://:pw-not-shown@127.0.0.1:{port}/0"
    guard = Guard.from_dict(config(url, on_store_error=policy, socket_timeout=0.5))

    async def run(req: WebhookRequest, status: int | None = 200) -> Any:
        verdict = await guard.acheck(req)
        if verdict.ok:
            await guard.acomplete(verdict, status)
        return verdict

    def check(req: WebhookRequest, status: int | None = 200) -> Any:
        if use_async:
            return loop.run_until_complete(run(req, status))
        verdict = guard.check(req)
        if verdict.ok:
            guard.complete(verdict, status)
        return verdict

    loop = asyncio.new_event_loop()
    try:
        with redis_server(port) as plain:
            redis.Redis.from_url(plain).config_set("requirepass", "pw-not-shown")
            assert check(signed(guard, "before")).ok
            in_flight = (
                loop.run_until_complete(guard.acheck(signed(guard, "in_flight")))
                if use_async
                else guard.check(signed(guard, "in_flight"))
            )
            assert in_flight.ok
        # Redis is gone: the policy decides, nothing raises.
        down = check(signed(guard, "during"))
        if policy == "fail_closed":
            assert (down.ok, down.status, down.reason) == (
                False,
                503,
                Reason.REPLAY_STORE_UNAVAILABLE,
            )
            assert ("retry-after", "5") in down.headers
        else:
            assert down.ok
            assert down.reported == (Reason.REPLAY_STORE_UNAVAILABLE,)
        caplog.clear()
        if use_async:
            loop.run_until_complete(guard.acomplete(in_flight, 200))
        else:
            guard.complete(in_flight, 200)
        assert "replay store failed while completing event in_flight" in caplog.text
        with redis_server(port) as plain:
            redis.Redis.from_url(plain).config_set("requirepass", "pw-not-shown")
            back = check(signed(guard, "after"))
            assert (back.ok, back.reported) == (True, ())
            assert check(signed(guard, "after")).reason is Reason.DUPLICATE_EVENT
            if use_async:
                assert isinstance(guard.store, RedisReplayStore)
                loop.run_until_complete(guard.store.aclose())
    finally:
        loop.close()
        assert isinstance(guard.store, RedisReplayStore)
        guard.store.close()
    assert "pw-not-shown" not in caplog.text


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_a_hung_redis_gives_a_prompt_503_not_a_hang() -> None:
    with silent_server() as port:
        guard = Guard.from_dict(config(f"redis://127.0.0.1:{port}/0", socket_timeout=0.1))
        verdict = guard.check(signed(guard, "evt_hung"))
        assert (verdict.status, verdict.reason) == (503, Reason.REPLAY_STORE_UNAVAILABLE)

        async def acheck() -> Any:
            result = await guard.acheck(signed(guard, "evt_hung"))
            assert isinstance(guard.store, RedisReplayStore)
            await guard.store.aclose()
            return result

        verdict = asyncio.run(acheck())
        assert (verdict.status, verdict.reason) == (503, Reason.REPLAY_STORE_UNAVAILABLE)
        assert isinstance(guard.store, RedisReplayStore)
        guard.store.close()


# -- Sentinel and Cluster against real servers ---------------------------------------------


async def async_round(guard: Guard, event_id: str) -> list[Reason | None]:
    """acheck twice (the second is in flight), acomplete, acheck again (a duplicate)."""
    req = signed(guard, event_id)
    first = await guard.acheck(req)
    assert first.ok
    busy = await guard.acheck(req)
    await guard.acomplete(first, 200)
    again = await guard.acheck(req)
    assert isinstance(guard.store, RedisReplayStore)
    await guard.store.aclose()
    return [busy.reason, again.reason]


def test_sentinel_url_finds_the_master(redis_url: str, raw: redis.Redis) -> None:
    master_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="wg-sentinel-") as tmp:
        conf = Path(tmp) / "sentinel.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {tmp}\n"
            f"sentinel monitor wgmaster 127.0.0.1 {master_port} 1\n"
        )
        with run_process([require("redis-server"), str(conf), "--sentinel"], port):
            guard = Guard.from_dict(
                config(f"redis+sentinel://127.0.0.1:{port}/wgmaster/0", prefix="s:")
            )
            try:
                verdict = guard.check(signed(guard, "evt_s"))
                assert verdict.ok
                guard.complete(verdict, 200)
                assert raw.get("s:sw:evt_s") == b"d"  # written to the master
                assert asyncio.run(async_round(guard, "evt_s_async")) == [
                    Reason.EVENT_IN_FLIGHT,
                    Reason.DUPLICATE_EVENT,
                ]
                assert raw.get("s:sw:evt_s_async") == b"d"
            finally:
                assert isinstance(guard.store, RedisReplayStore)
                guard.store.close()


def test_cluster_url_against_a_one_node_cluster() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="wg-cluster-") as tmp:
        args = [require("redis-server"), "--port", str(port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", tmp, "--cluster-enabled", "yes"]
        # The bus port defaults to port + 10000, which may be taken or above 65535.
        args += ["--cluster-port", str(free_port())]
        with run_process(args, port):
            admin = redis.Redis(port=port)
            admin.execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 16383)
            for _ in range(500):
                if b"cluster_state:ok" in admin.execute_command("CLUSTER", "INFO"):
                    break
                threading.Event().wait(0.01)
            guard = Guard.from_dict(config(f"redis+cluster://127.0.0.1:{port}", prefix="c:"))
            try:
                req = signed(guard, "evt_c")
                first = guard.check(req)
                assert first.ok
                assert guard.check(req).reason is Reason.EVENT_IN_FLIGHT
                guard.complete(first, 200)
                assert guard.check(req).reason is Reason.DUPLICATE_EVENT
                assert admin.get("c:sw:evt_c") == b"d"
                assert asyncio.run(async_round(guard, "evt_c_async")) == [
                    Reason.EVENT_IN_FLIGHT,
                    Reason.DUPLICATE_EVENT,
                ]
                assert admin.get("c:sw:evt_c_async") == b"d"
            finally:
                admin.close()
                assert isinstance(guard.store, RedisReplayStore)
                guard.store.close()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (as an IP SAN, so hostname checks pass) and its key."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_rediss_url_speaks_tls_and_verifies_the_server(tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path)
    port = free_port()
    args = [require("redis-server"), "--port", "0", "--tls-port", str(port)]
    args += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--tls-cert-file", str(cert), "--tls-key-file", str(key)]
    args += ["--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"]
    with run_process(args, port):
        trusted = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={cert}"
        guard = Guard.from_dict(config(trusted))
        plain = Guard.from_dict(config(f"redis://127.0.0.1:{port}/0", socket_timeout=0.5))
        untrusted = Guard.from_dict(config(f"rediss://127.0.0.1:{port}/0"))
        try:
            verdict = guard.check(signed(guard, "evt_tls"))
            assert verdict.ok
            guard.complete(verdict, 200)
            assert guard.check(signed(guard, "evt_tls")).reason is Reason.DUPLICATE_EVENT
            # Plain text to a TLS port, or a server certificate nobody vouches for: refused.
            for other in (plain, untrusted):
                refused = other.check(signed(other, "evt_tls_2"))
                assert refused.reason is Reason.REPLAY_STORE_UNAVAILABLE
        finally:
            for g in (guard, plain, untrusted):
                assert isinstance(g.store, RedisReplayStore)
                g.store.close()


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "nodes", "service"),
    [
        ("redis://localhost:6379/0", "single", (), None),
        ("rediss://user:pw@cache.example:6380/2?ssl_cert_reqs=required", "single", (), None),
        ("unix:///run/redis.sock?db=1", "single", (), None),
        ("redis://[::1]:6379", "single", (), None),
        (
            "redis+sentinel://:pw@s1:26379,s2:26380,s3/mymaster/1",
            "sentinel",
            (("s1", 26379), ("s2", 26380), ("s3", 26379)),
            "mymaster",
        ),
        ("rediss+sentinel://s1/mymaster", "sentinel", (("s1", 26379),), "mymaster"),
        (
            "redis+cluster://n1:7000,[2001:db8::1]:7001",
            "cluster",
            (("n1", 7000), ("2001:db8::1", 7001)),
            None,
        ),
        ("rediss+cluster://u:pw@n1", "cluster", (("n1", 6379),), None),
    ],
)
def test_accepted_urls(url: str, kind: str, nodes: tuple[Any, ...], service: str | None) -> None:
    target = parse_redis_url(url)
    assert (target.kind, target.nodes, target.service) == (kind, nodes, service)
    assert target.tls == url.startswith("rediss")
    replay = load_config(config(url)).replay
    assert replay.store == url
    store = RedisReplayStore(url)
    assert "pw" not in repr(store)
    assert "pw" not in repr(replay)
    assert "pw" not in repr(target)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("redis", "is not a store; use memory or a URL such as redis://"),
        ("http://:pw@localhost", "unknown scheme 'http://'"),
        ("memcached://localhost", "unknown scheme 'memcached://'"),
        ("redis://:pw@", "names no host"),
        ("redis://:pw@localhost:99999/0", "'99999' is not a port number"),
        ("redis://:pw@localhost:abc", "'abc' is not a port number"),
        ("redis://:pw@a:1,b:2/0", "several hosts need redis+sentinel:// or redis+cluster://"),
        ("redis+sentinel://:pw@s1:26379", "a sentinel URL names the service"),
        ("redis+sentinel://:pw@s1/m/x", "the db must be a number"),
        ("redis+cluster://:pw@n1/3", "Redis Cluster has only db 0"),
    ],
)
def test_rejected_urls_name_the_place_and_hide_the_password(url: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(config(url))
    assert len(info.value.errors) == 1
    assert info.value.errors[0].startswith("replay.store: ")
    assert fragment in info.value.errors[0]
    assert "pw" not in str(info.value)
    with pytest.raises(ConfigError) as direct:
        RedisReplayStore(url)
    assert direct.value.errors == info.value.errors


@pytest.mark.parametrize(
    ("replay", "error"),
    [
        ({"prefix": ""}, "replay.prefix: must not be empty"),
        ({"prefix": 3}, "replay.prefix: expected a string, got int"),
        ({"prefix": "a\nb"}, "replay.prefix: expected at most 100 printable characters"),
        ({"socket_timeout": 0}, "replay.socket_timeout: expected seconds in (0, 60], got 0"),
        ({"socket_timeout": True}, "replay.socket_timeout: expected seconds in (0, 60], got True"),
        ({"socket_timeout": "1"}, "replay.socket_timeout: expected seconds in (0, 60], got '1'"),
        ({"store": ["redis://x"]}, "replay.store: expected a string, got list"),
    ],
)
def test_replay_option_errors(replay: dict[str, Any], error: str) -> None:
    replay.setdefault("store", "redis://localhost")
    with pytest.raises(ConfigError) as info:
        load_config({"version": 1, "replay": replay, "routes": [sw_route()]})
    assert info.value.errors == (error,)


def test_options_reach_the_config() -> None:
    replay = load_config(
        config("redis://localhost", prefix="app1:", socket_timeout=2, on_store_error="fail_open")
    ).replay
    assert (replay.prefix, replay.socket_timeout, replay.on_store_error) == (
        "app1:",
        2.0,
        "fail_open",
    )
    assert load_config(config("memory")).replay.prefix == "webhook_guard:"


def test_store_url_from_env_or_file(tmp_path: Path) -> None:
    url = "rediss://:from-env-pw@cache.internal:6380/1"
    env_cfg = load_config(config("env:REDIS_URL"), env={"REDIS_URL": url})
    assert env_cfg.replay.store == url
    (tmp_path / "url").write_text(url + "\n")
    assert load_config(config(f"file:{tmp_path / 'url'}")).replay.store == url
    with pytest.raises(ConfigError) as info:
        load_config(config("env:REDIS_URL"), env={})
    assert info.value.errors == ("replay.store: environment variable REDIS_URL is not set",)
    with pytest.raises(ConfigError) as bad:
        load_config(config("env:REDIS_URL"), env={"REDIS_URL": "ftp://:from-env-pw@h"})
    assert bad.value.errors[0].startswith("replay.store: ")
    assert "from-env-pw" not in str(bad.value)
    assert "from-env-pw" not in repr(env_cfg)


def test_missing_redis_package_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # find_spec() -> None: not installed
    with pytest.raises(ConfigError) as info:
        load_config(config("redis://:pw@localhost/0"))
    assert info.value.errors == (
        "replay.store: the redis store needs the redis package: "
        "pip install 'webhook-guard-middleware[redis]'",
    )
    assert load_config(config("memory")).replay.store == "memory"


def test_redaction() -> None:
    assert redact_url("redis://user:pw@h:1/0") == "redis://user:***@h:1/0"
    assert redact_url("redis://:pw@h") == "redis://:***@h"
    assert redact_url("redis://h/0?password=pw&db=1") == "redis://h/0?password=***&db=1"
    assert redact_url("redis://user@h") == "redis://user@h"
    assert "pw" not in repr(ReplayConfig(store="rediss://u:pw@h"))


def test_cli_check_reports_a_bad_store_url(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nreplay: {store: 'ftp://:topsecret@h'}\n"
        "routes: [{name: a, path: /a, token: {query: t, secrets: [abc]}}]\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "webhook_guard.cli", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "replay.store: " in done.stderr + done.stdout
    assert "topsecret" not in done.stderr + done.stdout


def test_bench_redis_quick_run_prints_its_tables() -> None:
    bench = Path(__file__).resolve().parent.parent / "bench" / "bench_redis.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for row in (
        "bare SET NX PX (1 round trip)",
        "redis store reserve+commit (2 round trips)",
        "memory store reserve+commit",
        "redis store areserve+acommit",
        "4 threads: store reserve+commit",
        "Guard.check+complete, redis store",
    ):
        assert row in done.stdout, row


# -- a stalled Redis -------------------------------------------------------------------


def wait_for_stalled_calls(admin: redis.Redis) -> None:
    """Once the stalled server resumed: wait until it has dropped every connection the
    store gave up on (it runs what such a connection sent before it sees it closed)."""
    for _ in range(500):
        if len(admin.client_list()) == 1:  # only this admin connection is left
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"connections still open: {admin.client_list()}")


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_reserve_the_client_gave_up_on_leaves_no_orphan(use_async: bool) -> None:
    """redis-server frozen (SIGSTOP) while a delivery is checked: the guard answers 503,
    the provider retries once Redis resumed (SIGCONT) and ran the stalled reserve calls;
    the retry must be processed, not refused with 409 event_in_flight for the whole
    processing_timeout although no worker holds the event."""
    with redis_process() as (url, proc):
        admin = redis.Redis.from_url(url)
        guard = Guard.from_dict(config(url, socket_timeout=0.2))
        assert isinstance(guard.store, RedisReplayStore)
        loop = asyncio.new_event_loop()

        def check(event_id: str) -> Any:
            req = signed(guard, event_id)
            return loop.run_until_complete(guard.acheck(req)) if use_async else guard.check(req)

        try:
            warm = check("evt_warm")  # the store knows Redis' clock from here on
            assert warm.ok
            with frozen(proc):
                stalled = check("evt_stall")
                assert (stalled.status, stalled.reason) == (503, Reason.REPLAY_STORE_UNAVAILABLE)
                threading.Event().wait(1.0)  # the stall outlasts the client's wait
            if use_async:
                loop.run_until_complete(guard.store.aclose())
            guard.store.close()
            wait_for_stalled_calls(admin)
            assert admin.get("webhook_guard:sw:evt_stall") is None
            retry = check("evt_stall")
            assert retry.ok, retry
            assert check("evt_stall").reason is Reason.EVENT_IN_FLIGHT  # a real reservation
        finally:
            if use_async:
                loop.run_until_complete(guard.store.aclose())
            loop.close()
            guard.store.close()
            admin.close()


def test_the_first_reserve_of_a_process_is_bounded_too() -> None:
    # Before any reply the store asks Redis for its clock, so even the first delivery a
    # process checks cannot leave an orphan.
    with redis_process() as (url, proc):
        admin = redis.Redis.from_url(url)
        store = RedisReplayStore(url, prefix="t:", socket_timeout=0.2)
        try:
            assert store.reserve("warm", 60, "a") is ReplayState.NEW
            fresh = RedisReplayStore(url, prefix="t:", socket_timeout=0.2)
            with frozen(proc):
                with pytest.raises(ReplayStoreError):
                    fresh.reserve("k", 60, "a")  # stalls on learning the clock
                fresh.close()
                store._offset = None  # no estimate: learn it again
                with pytest.raises(ReplayStoreError):
                    store.reserve("k", 60, "b")
                store.close()
                threading.Event().wait(1.0)
            wait_for_stalled_calls(admin)
            assert admin.get("t:k") is None
            assert fresh.reserve("k", 60, "c") is ReplayState.NEW
        finally:
            fresh.close()
            store.close()
            admin.close()


def test_a_late_reserve_is_refused_by_redis_itself(
    store: RedisReplayStore, raw: redis.Redis
) -> None:
    assert store.reserve("warm", 60, "a") is ReplayState.NEW
    late = store._reserve_args(time.monotonic() - 10, 60, "b")  # sent ten seconds ago
    assert raw.eval(redis_store._RESERVE, 1, "t:late", *late)[0] == 3
    assert raw.get("t:late") is None
    on_time = store._reserve_args(time.monotonic(), 60, "b")
    assert raw.eval(redis_store._RESERVE, 1, "t:late", *on_time)[0] == 0
    assert raw.eval(redis_store._RESERVE, 1, "t:late", *on_time)[0] == 0  # same token


def test_a_wrong_idea_of_redis_clock_costs_one_round_trip_not_a_503(
    store: RedisReplayStore, raw: redis.Redis
) -> None:
    # As after Redis' clock was stepped, or with cluster nodes whose clocks differ: the
    # refusal teaches the clock anew and the reserve is sent once more.
    assert store.reserve("warm", 60, "a") is ReplayState.NEW
    assert store._offset is not None
    store._offset -= 10_000
    assert store.reserve("skewed", 60, "b") is ReplayState.NEW
    assert raw.get("t:skewed") == b"r:b"
