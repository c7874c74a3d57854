"""`sizzle serve --workers 2` under gunicorn as a real process: catalog hot reload under load (file
watch and SIGHUP, in every worker), metrics across workers, and SIGTERM draining in-flight requests."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from loadtest.synthetic_catalog import make_catalog, write_package
from tests.edge.live import Server, load_loop, start

BIG = 48 * 1024 * 1024  # one segment made large enough that a stalled reader keeps it in flight


class Fleet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.v1 = orjson.loads(write_package(root / "v1", make_catalog(titles=6, seed=21)).read_bytes())
        self.v2 = orjson.loads(write_package(root / "v2", make_catalog(titles=6, seed=22)).read_bytes())
        broken = root / "broken"
        broken.mkdir()
        (broken / "catalog.json").write_bytes(b'{"schema": 1, "version": "nothex"}')
        with (root / "v1" / "540p" / "s00000.m4s").open("r+b") as big:
            big.truncate(BIG)
        (root / "current").symlink_to(root / "v1")
        self.catalog = root / "current" / "catalog.json"

    def point_at(self, name: str) -> None:
        """Switch the `current` link atomically, the way a deploy does."""
        (self.root / "next").symlink_to(self.root / name)
        os.replace(self.root / "next", self.root / "current")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def versions_seen(server: Server, count: int = 16) -> set[str]:
    """The catalog version answered over `count` fresh connections (so every worker gets asked)."""
    return {orjson.loads(get(server.base + f"sizzle/probe{n}/plan.json")[2])["catalog"] for n in range(count)}


def wait_for(predicate, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # poll period


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return Fleet(tmp_path_factory.mktemp("fleet"))


@pytest.fixture(scope="module")
def server(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    live = start(tmp_path_factory.mktemp("gunicorn"), "--catalog", str(fleet.catalog), "--workers", "2",
                 "--watch", "0.5", "--access-log-sample", "0.01", "--graceful-timeout", "20")
    try:
        wait_for(lambda: live.log().count('"msg":"catalog test-21 version') >= 2, 20, "both workers to load")
        yield live
    finally:
        live.stop()


def metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_workers_answer_with_request_ids_health_and_metrics(server: Server, fleet: Fleet) -> None:
    assert server.log().count("Booting worker") == 2
    assert server.process.poll() is None
    status, headers, body = get(server.base + "sizzle/ana/master.m3u8", {"X-Request-Id": "req-42"})
    assert status == 200 and headers["X-Request-Id"] == "req-42"
    status, headers, _ = get(server.base + "sizzle/ana/master.m3u8", {"X-Request-Id": "bad id\u00e9"})
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", headers["X-Request-Id"])
    status, _, body = get(server.base + "readyz")
    assert status == 200 and orjson.loads(body) == {"status": "ready", "catalog": fleet.v1["version"]}
    for n in range(20):
        assert get(server.base + f"sizzle/m{n}/master.m3u8")[0] == 200
    assert get(server.base + "sizzle/v/forged-token/540p.m3u8")[0] == 403
    status, headers, body = get(server.base + "metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert metric(text, 'sizzle_http_requests_total{route="/sizzle/{user}/master.m3u8",status="200"}') >= 21
    assert metric(text, "sizzle_plans_built_total") >= 21
    assert metric(text, "sizzle_token_rejections_total") >= 1
    assert f'sizzle_catalog_info{{version="{fleet.v1["version"]}"}} 1.0' in text
    assert "sizzle_http_request_duration_seconds_bucket" in text
    # logs are one JSON object per line (gunicorn's own lines included)
    lines = [line for line in server.log().splitlines() if line.startswith("{")]
    assert lines and all(isinstance(orjson.loads(line), dict) for line in lines)


def test_catalog_swaps_under_load_fail_no_request(server: Server, fleet: Fleet) -> None:
    """Swap v1 -> broken -> v2 -> v1 while 8 clients fetch masters, plans and variants."""
    before = metric(get(server.base + "metrics")[2].decode(), "sizzle_reload_failures_total")

    async def swaps() -> None:
        for target, version in (("broken", None), ("v2", fleet.v2["version"]), ("v1", fleet.v1["version"])):
            fleet.point_at(target)
            if version is None:  # the broken catalog is rejected by every worker; v1 keeps serving
                def rejected_twice() -> bool:
                    text = get(server.base + "metrics")[2].decode()
                    return metric(text, "sizzle_reload_failures_total") >= before + 2

                await asyncio.to_thread(wait_for, rejected_twice, 15, "both workers to reject the broken one")
                assert await asyncio.to_thread(versions_seen, server) == {fleet.v1["version"]}
            else:
                await asyncio.to_thread(wait_for, lambda v=version: versions_seen(server) == {v}, 15,
                                        f"every worker to serve {version}")

    paths = ("sizzle/u{n}/master.m3u8", "sizzle/u{n}/plan.json", "readyz")
    result = asyncio.run(load_loop(server.base, lambda n: paths[n % 3].format(n=n % 50), swaps,
                                   probe=lambda body: body[:7].decode(errors="replace")))
    print(f"\nRELOAD UNDER LOAD (2 gunicorn workers, 8 clients): {result.figures()}")
    assert result.sent > 100
    assert result.failures == [], result.failures[:5]
    assert "rejected" in server.log()


def test_sighup_to_the_master_reloads_every_worker(server: Server, fleet: Fleet) -> None:
    fleet.point_at("v2")
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: versions_seen(server) == {fleet.v2["version"]}, 15, "SIGHUP reload")
    assert "asking 2 workers to reload" in server.log()
    assert server.process.poll() is None


def test_a_worker_that_exits_is_replaced_and_metrics_survive(server: Server) -> None:
    """A worker leaving (max-requests, OOM kill, operator) must not take the shared metrics folder
    with it: its replacement boots and /metrics keeps answering."""
    pids = [int(m) for m in re.findall(r"Booting worker with pid: (\d+)", server.log())]
    os.kill(pids[0], signal.SIGTERM)
    wait_for(lambda: server.log().count("Booting worker") > len(pids), 15, "a replacement worker")
    wait_for(lambda: len(re.findall(r'"msg":"catalog test-2\d version', server.log())) > len(pids), 15,
             "the replacement to load the catalog")
    assert server.process.poll() is None
    for n in range(8):
        assert get(server.base + f"sizzle/r{n}/master.m3u8")[0] == 200
    status, _, body = get(server.base + "metrics")
    assert status == 200 and b"sizzle_http_requests_total" in body


def test_sigterm_while_workers_boot_still_exits_promptly(fleet: Fleet, tmp_path: Path) -> None:
    """SIGTERM as soon as the first worker answers (the second may still be booting): exit 0 well
    within the graceful timeout, i.e. no worker missed the signal."""
    live = start(tmp_path, "--catalog", str(fleet.catalog), "--workers", "2", "--graceful-timeout", "20")
    started = time.monotonic()
    live.process.send_signal(signal.SIGTERM)
    assert live.process.wait(timeout=30) == 0
    assert time.monotonic() - started < 10, live.log()[-3000:]


def test_sigterm_drains_in_flight_and_refuses_new_connections(server: Server, fleet: Fleet) -> None:
    """Last in this module: stops the server. A big segment is half read when SIGTERM arrives."""
    fleet.point_at("v1")
    wait_for(lambda: versions_seen(server) == {fleet.v1["version"]}, 15, "v1 back")
    host, port = server.base.split("//")[1].rstrip("/").split(":")
    reader = socket.create_connection((host, int(port)), timeout=10)
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    reader.sendall(f"GET /sizzle/media/{fleet.v1['version']}/540p/s00000.m4s HTTP/1.1\r\n"
                   f"Host: {host}\r\nConnection: close\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += reader.recv(65536)
    header, _, body_start = head.partition(b"\r\n\r\n")
    assert header.startswith(b"HTTP/1.1 200")
    length = int(re.search(rb"Content-Length: (\d+)", header).group(1))  # type: ignore[union-attr]
    assert length == BIG and len(body_start) < BIG // 2

    server.process.send_signal(signal.SIGTERM)

    def refused() -> bool:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except ConnectionRefusedError:
            return True
        return False

    wait_for(refused, 15, "new connections to be refused")
    assert server.process.poll() is None, "the master must wait for the in-flight response"
    received = len(body_start)
    while received < length:
        chunk = reader.recv(1 << 20)
        if not chunk:
            break
        received += len(chunk)
    reader.close()
    assert received == length, f"in-flight response cut short: {received} of {length} bytes"
    assert server.process.wait(timeout=30) == 0
