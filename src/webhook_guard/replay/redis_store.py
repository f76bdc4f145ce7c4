"""Redis replay store: one reservation per event across every worker and host.

Each key holds ``r:<token>`` while a handler runs (expiring after ``processing_timeout``)
and ``d`` once the event is done (expiring after the retention). ``reserve`` is one Lua
script, so reading the state and taking the reservation is a single atomic round trip;
``release`` compares the token before deleting, so a worker whose reservation expired
cannot delete the one another worker took since. A reserve carries the Redis time after
which the client no longer waits for it (the store learns Redis' clock from its replies),
so a call that a stalled Redis runs only after the client answered 503 reserves nothing.

URLs: ``redis://`` and ``rediss://`` (TLS) as redis-py reads them, ``unix://``,
``redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]`` and
``redis+cluster://[[user]:password@]host:port[,host:port...]`` (``rediss+...`` for TLS);
the ``+sentinel``/``+cluster`` forms follow the ``limits`` library's convention.
"""

from __future__ import annotations

import asyncio
import importlib.util
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from ..errors import ConfigError, ReplayStoreError
from .base import ReplayState

SCHEMES = (
    "redis",
    "rediss",
    "unix",
    "redis+sentinel",
    "rediss+sentinel",
    "redis+cluster",
    "rediss+cluster",
)
DEFAULT_PREFIX = "webhook_guard:"
DEFAULT_SOCKET_TIMEOUT = 0.5
INSTALL_HINT = "pip install 'webhook-guard-middleware[redis]'"

_DONE = b"d"
# KEYS[1]: the event key; ARGV[1]: "r:" + token; ARGV[2]: reservation TTL in ms;
# ARGV[3]: the Redis time (ms) after which the client has stopped waiting for this call,
# 0 when it does not know Redis' clock yet. Returns {state, Redis time in ms}; state is
# 0 (NEW, now reserved), 1 (IN_FLIGHT), 2 (DONE) or 3 (too late: nothing was done).
# The deadline is what keeps a stalled Redis from leaving an orphan: a call the client
# gave up on (it answered 503, the provider will retry) must not reserve the event when
# Redis resumes and runs it, or the retry would get 409 until processing_timeout.
# The same token finding its own reservation is NEW: the client's retry of a call that
# did get through.
_RESERVE = """
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local deadline = tonumber(ARGV[3])
if deadline > 0 and now > deadline then return {3, now} end
local v = redis.call('GET', KEYS[1])
if not v or v == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {0, now}
end
if v == 'd' then return {2, now} end
return {1, now}
"""
# Redis' clock in ms, on the node that holds KEYS[1] (a cluster's nodes may differ).
_NOW = """
local t = redis.call('TIME')
return t[1] * 1000 + math.floor(t[2] / 1000)
"""
# Compare-and-delete: only the holder of the reservation may drop it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_STATES = (ReplayState.NEW, ReplayState.IN_FLIGHT, ReplayState.DONE)


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for errors, logs and reprs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    userinfo, sep, hostinfo = parts.netloc.rpartition("@")
    if sep and ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}:***@{hostinfo}")
    query = "&".join(
        f"{k}=***" if k.lower() in ("password", "sentinel_password") else f"{k}={v}"
        for k, _, v in (p.partition("=") for p in parts.query.split("&") if p)
    )
    return urlunsplit(parts._replace(query=query))


@dataclass(frozen=True)
class RedisTarget:
    """A parsed store URL: what to connect to and how."""

    kind: str
    """``single``, ``sentinel`` or ``cluster``."""
    url: str = field(repr=False)
    nodes: tuple[tuple[str, int], ...] = ()
    service: str | None = None
    tls: bool = False


def parse_redis_url(url: str) -> RedisTarget:
    """Check a store URL without connecting; the redis package is not needed for this.

    Raises:
        ValueError: the URL is not one this store accepts (the message holds no password).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError(f"{redact_url(url)!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if "://" not in url:
        raise ValueError(
            f"{redact_url(url)!r} is not a store; use memory or a URL such as "
            "redis://localhost:6379/0"
        )
    if scheme not in SCHEMES:
        raise ValueError(
            f"{redact_url(url)!r}: unknown scheme {parts.scheme + '://'!r}; use memory or one "
            f"of {', '.join(s + '://' for s in SCHEMES)}"
        )
    base, _, variant = scheme.partition("+")
    tls = base == "rediss"
    if not variant:
        if scheme != "unix":
            _nodes(parts, url, 6379, single=True)
        return RedisTarget("single", url, tls=tls)
    default_port = 26379 if variant == "sentinel" else 6379
    nodes = _nodes(parts, url, default_port, single=False)
    segments = [s for s in parts.path.split("/") if s]
    service: str | None = None
    if variant == "sentinel":
        if not segments or len(segments) > 2:
            raise ValueError(
                f"{redact_url(url)!r}: a sentinel URL names the service and optionally the db: "
                f"{scheme}://host:26379/mymaster/0"
            )
        service = unquote(segments[0])
        if len(segments) == 2 and not segments[1].isdigit():
            raise ValueError(f"{redact_url(url)!r}: the db must be a number")
    elif segments and segments != ["0"]:
        raise ValueError(f"{redact_url(url)!r}: Redis Cluster has only db 0")
    return RedisTarget(variant, url, nodes, service, tls)


def _nodes(parts: SplitResult, url: str, default_port: int, single: bool) -> tuple[Any, ...]:
    hostinfo = parts.netloc.rpartition("@")[2]
    if not hostinfo:
        raise ValueError(f"{redact_url(url)!r}: the URL names no host")
    found = []
    for item in hostinfo.split(","):
        host, port = item, default_port
        if item.startswith("["):  # IPv6 literal
            host, _, rest = item[1:].partition("]")
            port_text = rest[1:] if rest.startswith(":") else None
        elif ":" in item:
            host, _, port_text = item.rpartition(":")
        else:
            port_text = None
        if port_text is not None:
            if not (port_text.isascii() and port_text.isdigit() and 0 < int(port_text) < 65536):
                raise ValueError(f"{redact_url(url)!r}: {port_text!r} is not a port number")
            port = int(port_text)
        if not host:
            raise ValueError(f"{redact_url(url)!r}: empty host name")
        found.append((host, port))
    if single and len(found) > 1:
        raise ValueError(
            f"{redact_url(url)!r}: several hosts need redis+sentinel:// or redis+cluster://"
        )
    return tuple(found)


def require_redis() -> None:
    """Raise a ConfigError naming the extra to install when redis-py is missing."""
    if importlib.util.find_spec("redis") is None:
        raise ConfigError(f"replay.store: the redis store needs the redis package: {INSTALL_HINT}")


class RedisReplayStore:
    """A :class:`~webhook_guard.replay.ReplayStore` shared by every worker using one Redis.

    Connections are opened on first use, so a guard can start while Redis is down; each
    failure (connection refused, timeout, cluster or sentinel errors) raises
    :class:`~webhook_guard.errors.ReplayStoreError`, which the guard turns into its
    ``on_store_error`` policy. The connection pool reconnects once Redis is back.

    Args:
        url: a store URL (see the module docstring); credentials may be in it.
        prefix: put in front of every key (``<prefix><route>:<event id>``).
        socket_timeout: seconds to wait to connect and for each answer. Failed commands
            are retried once at once (a pooled connection may be stale after a Redis
            restart), never with backoff, so an outage gives a prompt answer.
        client_options: more keyword arguments for the redis-py client.

    Raises:
        ConfigError: the URL is invalid or the redis package is not installed.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
        **client_options: Any,
    ) -> None:
        try:
            self._target = parse_redis_url(url)
        except ValueError as exc:
            raise ConfigError(f"replay.store: {exc}") from None
        require_redis()
        self.prefix = prefix
        self._options: dict[str, Any] = {
            "socket_timeout": socket_timeout,
            "socket_connect_timeout": socket_timeout,
            **client_options,
        }
        timeout = self._options.get("socket_timeout")
        self._wait_ms: float | None = timeout * 1000 if timeout else None
        # Redis' clock minus time.monotonic(), in ms (see _RESERVE); None until learnt.
        self._offset: float | None = None
        self._lock = threading.Lock()
        self._sync: _Clients | None = None
        # One async client per event loop: redis.asyncio connections belong to the loop
        # that opened them.
        self._async: dict[asyncio.AbstractEventLoop, _Clients] = {}

    def __repr__(self) -> str:
        return f"RedisReplayStore({redact_url(self._target.url)!r}, prefix={self.prefix!r})"

    # -- sync ------------------------------------------------------------------------

    def reserve(self, key: str, ttl: float, token: str) -> ReplayState:
        """See :meth:`ReplayStore.reserve`."""
        keys = [self.prefix + key]
        try:
            clients = self._client()
            if self._offset is None:
                start = time.monotonic()
                self._learn_clock(start, clients.now(keys=keys))
            for _ in range(2):  # once more after a refusal that taught Redis' clock anew
                start = time.monotonic()
                reply = clients.reserve(keys=keys, args=self._reserve_args(start, ttl, token))
                state = self._state(start, reply)
                if state is not None:
                    return state
        except Exception as exc:
            raise self._error("reserve", exc) from exc
        raise ReplayStoreError(
            "redis replay store: the reserve reached Redis only after the client stopped "
            "waiting (Redis stalled); nothing was reserved"
        )

    def commit(self, key: str, ttl: float, token: str) -> None:
        """See :meth:`ReplayStore.commit`."""
        # DONE is the truth even if our reservation lapsed and another worker holds the
        # key now (as in the memory store), so no token check here.
        try:
            self._client().client.set(self.prefix + key, _DONE, px=_ms(ttl))
        except Exception as exc:
            raise self._error("commit", exc) from exc

    def release(self, key: str, token: str) -> None:
        """See :meth:`ReplayStore.release`."""
        try:
            self._client().release(keys=[self.prefix + key], args=[b"r:" + token.encode()])
        except Exception as exc:
            raise self._error("release", exc) from exc

    def close(self) -> None:
        """Close the synchronous client's connections (async ones close with their loop)."""
        with self._lock:
            sync, self._sync = self._sync, None
        if sync is not None:
            for client in (sync.client, *sync.others):
                client.close()

    # -- async -----------------------------------------------------------------------

    async def areserve(self, key: str, ttl: float, token: str) -> ReplayState:
        """See :meth:`ReplayStore.areserve`."""
        keys = [self.prefix + key]
        try:
            clients = self._aclient()
            if self._offset is None:
                start = time.monotonic()
                self._learn_clock(start, await clients.now(keys=keys))
            for _ in range(2):  # once more after a refusal that taught Redis' clock anew
                start = time.monotonic()
                reply = await clients.reserve(keys=keys, args=self._reserve_args(start, ttl, token))
                state = self._state(start, reply)
                if state is not None:
                    return state
        except Exception as exc:
            raise self._error("reserve", exc) from exc
        raise ReplayStoreError(
            "redis replay store: the reserve reached Redis only after the client stopped "
            "waiting (Redis stalled); nothing was reserved"
        )

    async def acommit(self, key: str, ttl: float, token: str) -> None:
        """See :meth:`ReplayStore.acommit`."""
        try:
            await self._aclient().client.set(self.prefix + key, _DONE, px=_ms(ttl))
        except Exception as exc:
            raise self._error("commit", exc) from exc

    async def arelease(self, key: str, token: str) -> None:
        """See :meth:`ReplayStore.arelease`."""
        try:
            await self._aclient().release(keys=[self.prefix + key], args=[b"r:" + token.encode()])
        except Exception as exc:
            raise self._error("release", exc) from exc

    async def aclose(self) -> None:
        """Close the async client of the running event loop."""
        entry = self._async.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            for client in (entry.client, *entry.others):
                await client.aclose()

    # -- internals -------------------------------------------------------------------

    def _client(self) -> _Clients:
        sync = self._sync
        if sync is None:
            with self._lock:
                sync = self._sync
                if sync is None:
                    sync = self._sync = _Clients(*self._build(asynchronous=False))
        return sync

    def _aclient(self) -> _Clients:
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is None:
            # Forget clients of closed loops (their connections died with the loop), so
            # code that runs a loop per call (asyncio.run, async_to_sync) does not pile up.
            for dead in [other for other in self._async if other.is_closed()]:
                del self._async[dead]
            entry = self._async[loop] = _Clients(*self._build(asynchronous=True))
        return entry

    def _build(self, *, asynchronous: bool) -> tuple[Any, list[Any]]:
        """A redis-py client for the target (it connects on its first command) and the
        clients it relies on (a Sentinel's connections to the sentinels)."""
        # The sync and asyncio flavours of redis-py mirror each other module by module.
        pkg = "redis.asyncio" if asynchronous else "redis"
        client_mod, cluster, retry, sentinel = (
            importlib.import_module(pkg + suffix)
            for suffix in ("", ".cluster", ".retry", ".sentinel")
        )
        connection: Any = importlib.import_module("redis.connection")
        backoff: Any = importlib.import_module("redis.backoff")

        options = dict(self._options)
        # redis-py's default is ten retries with exponential backoff: seconds of hanging
        # per request during an outage. One immediate retry covers a stale pooled socket.
        options.setdefault("retry", retry.Retry(backoff.NoBackoff(), 1))
        target = self._target
        if target.kind == "single":
            return client_mod.Redis.from_url(target.url, **options), []
        # Credentials, db and query options (ssl_ca_certs, ...) parsed the way redis-py
        # parses them for a single-node URL.
        parts = urlsplit(target.url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@localhost" if userinfo else "localhost"
        segments = [s for s in parts.path.split("/") if s]
        db = segments[1] if target.kind == "sentinel" and len(segments) == 2 else "0"
        plain = urlunsplit(("rediss" if target.tls else "redis", netloc, f"/{db}", parts.query, ""))
        parsed = connection.parse_url(plain)
        for name in ("host", "port", "connection_class"):
            parsed.pop(name, None)
        if target.tls:
            parsed["ssl"] = True
        options = {**options, **parsed}
        if target.kind == "cluster":
            options.pop("db", None)
            nodes = [cluster.ClusterNode(host, port) for host, port in target.nodes]
            return cluster.RedisCluster(startup_nodes=nodes, **options), []
        sentinel_options = {
            k: options[k] for k in ("socket_timeout", "socket_connect_timeout", "retry")
        }
        sentinel_options["ssl"] = target.tls
        monitor = sentinel.Sentinel(list(target.nodes), sentinel_kwargs=sentinel_options)
        return monitor.master_for(target.service, **options), list(monitor.sentinels)

    def _reserve_args(self, start: float, ttl: float, token: str) -> list[Any]:
        """The reserve script's ARGV for a call sent at ``start`` (``time.monotonic()``)."""
        offset, wait = self._offset, self._wait_ms
        # The client waits socket_timeout for the reply; after that the call is lost to it.
        deadline = 0 if offset is None or wait is None else int(start * 1000 + offset + wait)
        return [b"r:" + token.encode(), _ms(ttl), deadline]

    def _learn_clock(self, start: float, redis_ms: object) -> None:
        """Estimate Redis' clock from a reply to a call sent at ``start``: the offset from
        this process' monotonic clock (immune to its wall clock being stepped)."""
        if type(redis_ms) is not int:
            raise ReplayStoreError(f"redis replay store: unexpected time {redis_ms!r}")
        end = time.monotonic()
        # A slow round trip says little about when Redis read its clock; keep the last
        # good estimate then (none yet: take it, a deadline needs one).
        if self._offset is None or self._wait_ms is None or (end - start) * 2000 < self._wait_ms:
            self._offset = redis_ms - (start + end) * 500

    def _state(self, start: float, reply: object) -> ReplayState | None:
        """The state a reserve reply reports; None when Redis refused it as too late."""
        if isinstance(reply, list) and len(reply) == 2 and type(reply[0]) is int:
            code = reply[0]
            # Also from a refusal: a refusal the client still got an answer to means its
            # idea of Redis' clock was wrong (the clock was stepped, or this is another
            # node of a cluster), so the next call must not be refused as well.
            self._learn_clock(start, reply[1])
            if 0 <= code <= 2:
                return _STATES[code]
            if code == 3:
                return None
        raise ReplayStoreError(f"redis replay store: unexpected reply {reply!r} to reserve")

    def _error(self, op: str, exc: Exception) -> ReplayStoreError:
        if isinstance(exc, ReplayStoreError):
            return exc
        # redis-py messages name host and port, never the password; the URL is redacted.
        return ReplayStoreError(
            f"redis replay store {redact_url(self._target.url)}: {op} failed: "
            f"{type(exc).__name__}: {exc}"
        )


class _Clients:
    """A client, its registered scripts, and the clients to close along with it."""

    __slots__ = ("client", "now", "others", "release", "reserve")

    def __init__(self, client: Any, others: list[Any]) -> None:
        self.client = client
        self.reserve = client.register_script(_RESERVE)
        self.release = client.register_script(_RELEASE)
        self.now = client.register_script(_NOW)
        self.others = others


def _ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


__all__ = ["RedisReplayStore", "RedisTarget", "parse_redis_url", "redact_url"]
