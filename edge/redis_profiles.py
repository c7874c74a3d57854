"""Profiles from Redis, for fleets: one key per viewer, `sizzle:profile:{user}` holding the same JSON
object as a JSON Lines profile. Every lookup has a tight budget; when Redis is slow, down or holds
garbage the request is planned on the default ranking (counted, logged once per burst), never failed."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from edge.metrics import Metrics
from edge.profiles import Profile, ProfileError, parse_profile

log = logging.getLogger("sizzle.profiles")

KEY_PREFIX = "sizzle:profile:"
CACHE_LIMIT = 50_000  # entries; the cache is cleared when it grows past this
BURST_SECONDS = 10.0  # one log line per burst of fallbacks
BACKOFF_SECONDS = 0.5  # after a connection failure, skip Redis this long (answer at once)
SLOW_STREAK = 3  # this many timeouts in a row count as "down" too: stop paying the budget per request


class RedisProfiles:
    def __init__(self, client: aioredis.Redis, metrics: Metrics, timeout: float = 0.020,
                 ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._metrics = metrics
        self._timeout = timeout
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, Profile | None]] = {}
        self._down_until = 0.0
        self._burst_until = 0.0
        self._burst_count = 0
        self._timeouts = 0

    async def get(self, user: str) -> Profile | None:
        now = self._clock()
        hit = self._cache.get(user)
        if hit is not None and hit[0] > now:
            return hit[1]
        if now < self._down_until:
            return self._fallback("down", None, now)
        start = time.perf_counter()
        try:
            raw = await asyncio.wait_for(self._client.get(KEY_PREFIX + user), self._timeout)
        except TimeoutError:
            self._timeouts += 1
            if self._timeouts >= SLOW_STREAK:
                self._down_until = now + BACKOFF_SECONDS
            return self._fallback("timeout", None, now)
        except (RedisError, OSError) as exc:
            self._down_until = now + BACKOFF_SECONDS
            return self._fallback("error", exc, now)
        finally:
            self._metrics.profile_latency.labels("redis").observe(time.perf_counter() - start)
        self._timeouts = 0
        profile: Profile | None = None
        if raw is not None:
            try:
                obj = orjson.loads(raw)
                if isinstance(obj, dict):
                    obj.setdefault("user", user)
                profile = parse_profile(obj, KEY_PREFIX + user)
            except (orjson.JSONDecodeError, ProfileError) as exc:
                return self._fallback("bad_profile", exc, now)
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[user] = (now + self._ttl, profile)
        if self._burst_count:
            log.info("profile store answering again after %d fallbacks", self._burst_count)
            self._burst_count = 0
        return profile

    def _fallback(self, reason: str, exc: BaseException | None, now: float) -> Profile | None:
        self._metrics.profile_fallbacks.labels(reason).inc()
        self._burst_count += 1
        if now >= self._burst_until:
            self._burst_until = now + BURST_SECONDS
            log.warning("profile store %s (%s): planning on the default ranking", reason,
                        exc or f"over {self._timeout * 1000:.0f} ms", extra={"reason": reason})
        return None


def connect(url: str, timeout: float) -> aioredis.Redis:
    """A client that never waits long: connect and socket timeouts a little above the lookup budget."""
    budget = max(timeout * 5, 0.1)
    client: aioredis.Redis = aioredis.Redis.from_url(
        url, socket_connect_timeout=budget, socket_timeout=budget, retry_on_timeout=False,
        health_check_interval=0, max_connections=64)
    return client
