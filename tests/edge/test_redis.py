"""Profiles from a real redis-server: lookups within budget, a slow and a dead Redis under load
(every request still 200, planned on the default ranking), Redis coming back, Redis absent at start."""
from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import redis

from loadtest.synthetic_catalog import make_catalog, write_package
from tests.conftest import free_port
from tests.edge.live import Server, load_loop, start

REDIS = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server not installed (make test installs it)")

FAN = {"titles": ["t5", "t4", "t3", "t2", "t1", "t0"]}  # the catalog's own order is t0 first


@dataclass
class RedisServer:
    port: int
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS is not None
        self.process = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
             "--save", "", "--appendonly", "no", "--enable-debug-command", "local"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)  # poll period
        client.set("sizzle:profile:fan", orjson.dumps(FAN))

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def edge(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Started before Redis is up: it must warn and serve the default ranking, not refuse to start."""
    work = tmp_path_factory.mktemp("edge-redis")
    catalog = write_package(work / "pkg", make_catalog(titles=6, seed=31))
    live = start(work, "--catalog", str(catalog), "--workers", "1",
                 "--redis-url", f"redis://127.0.0.1:{redis_server.port}/0", "--profile-cache", "0.2")
    try:
        yield live
    finally:
        live.stop()


def first_title(edge: Server, user: str = "fan") -> str:
    with urllib.request.urlopen(edge.base + f"sizzle/{user}/plan.json", timeout=5) as response:
        assert response.status == 200
        return str(orjson.loads(response.read())["clips"][0]["title"])


def metric(edge: Server, name: str) -> float:
    with urllib.request.urlopen(edge.base + "metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def wait_for(predicate, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # poll period


def test_absent_at_start_then_profiles_once_redis_answers(edge: Server, redis_server: RedisServer) -> None:
    assert first_title(edge) == "t0"  # no Redis yet: the default ranking, not an error
    assert "not reachable at start" in edge.log()
    redis_server.start()
    wait_for(lambda: first_title(edge) == "t5", 10, "the Redis profile to be used")
    assert metric(edge, 'sizzle_profile_lookup_seconds_count{backend="redis"}') > 0


def test_slow_redis_costs_at_most_the_budget(edge: Server, redis_server: RedisServer) -> None:
    blocker = redis_server.client()
    before = metric(edge, 'sizzle_profile_fallbacks_total{reason="timeout"}')

    async def slow() -> None:  # Redis blocks for 1.5 s; requests must not wait for it
        await asyncio.to_thread(blocker.execute_command, "DEBUG", "SLEEP", "1.5")

    result = asyncio.run(load_loop(edge.base, lambda n: f"sizzle/slow{n % 40}/plan.json", slow,
                                   concurrency=4, max_seconds=20))
    print(f"\nREDIS SLOW (DEBUG SLEEP 1.5 s, budget 20 ms, 4 clients): {result.figures()}")
    assert result.failures == [], result.failures[:5]
    assert metric(edge, 'sizzle_profile_fallbacks_total{reason="timeout"}') > before
    assert max(result.latencies) < 1.0


def test_redis_killed_and_restarted_under_load(edge: Server, redis_server: RedisServer) -> None:
    wait_for(lambda: first_title(edge) == "t5", 10, "Redis profiles before the outage")
    titles: list[str] = []

    async def outage() -> None:
        await asyncio.to_thread(redis_server.kill)
        await asyncio.to_thread(wait_for, lambda: first_title(edge) == "t0", 10, "the default ranking")
        titles.append("t0")
        await asyncio.to_thread(redis_server.start)
        await asyncio.to_thread(wait_for, lambda: first_title(edge) == "t5", 10, "Redis profiles again")
        titles.append("t5")

    paths = ("sizzle/fan/plan.json", "sizzle/fan/master.m3u8", "sizzle/u{n}/master.m3u8")
    result = asyncio.run(load_loop(edge.base, lambda n: paths[n % 3].format(n=n % 30), outage,
                                   max_seconds=40))
    print(f"\nREDIS KILLED + RESTARTED UNDER LOAD (1 worker, 8 clients): {result.figures()}")
    assert titles == ["t0", "t5"]
    assert result.failures == [], result.failures[:5]
    assert metric(edge, 'sizzle_profile_fallbacks_total{reason=') > 0
    log = edge.log()
    assert log.count("planning on the default ranking") < 10, "fallbacks are logged once per burst"
