"""Real `sizzle serve` processes and a bounded HTTP load loop, shared by the production tests."""
from __future__ import annotations

import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.conftest import REPO, free_port, wait_healthy

KEYS = f"1:{secrets.token_hex(32)}"


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def start(work: Path, *args: str, name: str = "server") -> Server:
    """`sizzle serve ARGS` on a free port; raises with the server's output if it does not come up."""
    env = {**os.environ, "SIZZLE_SIGNING_KEYS": KEYS, "PYTHONUNBUFFERED": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log_path = work / f"{name}.log"
    why: str | None = "not started"
    for _attempt in range(3):
        port = free_port()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "serve", *args, "--port", str(port)],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Server(process, f"http://127.0.0.1:{port}/", log_path)
        why = wait_healthy(server.base, process, time.monotonic() + 30)
        if why is None:
            return server
        server.stop()
        if b"already in use" not in log_path.read_bytes():
            break
    raise RuntimeError(f"sizzle serve did not come up: {why}\n{log_path.read_text(errors='replace')[-6000:]}")


@dataclass
class LoadResult:
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)  # a value from each answer -> count
    seconds: float = 0.0

    def figures(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies) or [0.0]
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        return (f"seconds={self.seconds:.1f} requests={self.sent} failures={len(self.failures)} "
                f"p50={statistics.median(ms):.2f}ms p99={p99:.2f}ms max={ms[-1]:.2f}ms")


async def load_loop(base: str, paths: Callable[[int], str], during: Callable[[], Awaitable[None]],
                    concurrency: int = 8, max_requests: int = 20_000, max_seconds: float = 30.0,
                    probe: Callable[[bytes], str] | None = None) -> LoadResult:
    """Fetch paths(n) with `concurrency` clients until `during()` has finished (bounded by count and
    time); every non-200 or error is a failure."""
    result = LoadResult()
    done = asyncio.Event()
    deadline = time.monotonic() + max_seconds

    async def client(session: aiohttp.ClientSession) -> None:
        while not done.is_set() and result.sent < max_requests and time.monotonic() < deadline:
            n = result.sent
            result.sent += 1
            start = time.perf_counter()
            try:
                async with session.get(base + paths(n)) as response:
                    body = await response.read()
                    if response.status != 200:
                        result.failures.append(f"{paths(n)}: {response.status} {body[:200]!r}")
                    elif probe is not None:
                        key = probe(body)
                        result.seen[key] = result.seen.get(key, 0) + 1
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                result.failures.append(f"{paths(n)}: {exc!r}")
            result.latencies.append(time.perf_counter() - start)

    timeout = aiohttp.ClientTimeout(total=10)
    began = time.monotonic()
    async with aiohttp.ClientSession(timeout=timeout) as session:
        clients = [asyncio.create_task(client(session)) for _ in range(concurrency)]
        try:
            await during()
        finally:
            done.set()
            await asyncio.gather(*clients)
    result.seconds = time.monotonic() - began
    return result
