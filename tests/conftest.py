"""Session fixtures shared by the real-client tests: one real package, one running server."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, Iterator

import orjson
import pytest

REPO = Path(__file__).resolve().parents[1]
MEDIA = REPO.parent / "shared" / "media"


@pytest.fixture(scope="session")
def real_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo Mega Asset (6 titles, 22 clips of 40/80/160 frames, ~65 s), built once per session
    from the real footage; returns its catalog.json. About 20 s on 2 cores."""
    if not MEDIA.is_dir():
        pytest.skip(f"real footage not found at {MEDIA}")
    from ingest.build import build_package
    from ingest.demo_spec import write_demo_spec

    work = tmp_path_factory.mktemp("real-package")
    spec = write_demo_spec(MEDIA, work / "spec.json")
    build_package(spec, work / "pkg")
    return work / "pkg" / "catalog.json"


@dataclass(frozen=True)
class LiveServer:
    base: str  # "http://127.0.0.1:PORT/"
    viewers: tuple[str, ...]
    catalog_path: Path
    log_path: Path

    @property
    def catalog(self) -> dict[str, Any]:
        catalog: dict[str, Any] = orjson.loads(self.catalog_path.read_bytes())
        return catalog

    def log(self, tail: int = 8000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def wait_healthy(base: str, process: subprocess.Popen[bytes], deadline: float) -> str | None:
    """Poll /healthz until it answers 200; None on success, else why not."""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"server exited with status {process.returncode}"
        try:
            with urllib.request.urlopen(base + "healthz", timeout=2) as response:
                if response.status == 200:
                    return None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        try:  # the poll interval; also notices an early exit at once
            process.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
    return "no answer on /healthz within the deadline"


def viewer_profiles(title_ids: list[str]) -> list[dict[str, object]]:
    """Three viewers whose favourites all differ: catalog order, reversed, and from the middle."""
    middle = len(title_ids) // 2
    return [
        {"user": "ana", "titles": title_ids},
        {"user": "ben", "titles": title_ids[::-1]},
        {"user": "chloe", "titles": title_ids[middle:] + title_ids[:middle]},
    ]


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def music_cadences(catalog: Path, work: Path) -> list[str]:
    """`--cadences FILE` adding a "music" cadence (the default's clips over the package's first
    music bed) when the package has one, as `sizzle demo` does; else nothing."""
    from edge.demo import demo_cadences

    path = demo_cadences(catalog)
    if path is None:
        return []
    moved = work / "cadences.json"
    path.replace(moved)
    return ["--cadences", str(moved)]


@pytest.fixture(scope="session")
def live_server(real_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`sizzle serve` as a real subprocess on a free port, with three viewers of different tastes
    (and the "music" cadence when the package has a music bed)."""
    work = tmp_path_factory.mktemp("live-server")
    titles = [t["id"] for t in orjson.loads(real_package.read_bytes())["titles"]]
    process, server = start_server(real_package, viewer_profiles(titles), work, "--access-log",
                                   *music_cadences(real_package, work))
    try:
        yield server
    finally:
        stop(process)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Attach the server's output to any failing test that used the live server."""
    outcome = yield
    report = outcome.get_result()
    server = getattr(item, "funcargs", {}).get("live_server")
    if report.failed and isinstance(server, LiveServer):
        report.sections.append(("sizzle serve output (tail)", server.log()))


# --- Conformance and player-matrix fixtures (issue 7) -------------------------------------------
# A tiny real package from generated sources (4 titles x clips of 40, 40 and 80 frames: 12 clips,
# 16 segments, a 21 s default reel; ~6 s to build), each title with its own colours and sine tone
# (ingest/synthetic.py: 440, 660 Hz, none, 550 Hz), served by its own `sizzle serve`.

SYNTHETIC_CLIPS = ({"start": 0.5, "frames": 40}, {"start": 2.0, "frames": 40}, {"start": 4.0, "frames": 80})
RANDOM_VIEWERS = 200
BED_TONE_HZ = 880.0  # the synthetic package's music bed: a steady tone no title uses


@pytest.fixture(scope="session")
def synthetic_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """...plus a 40 s music bed (BED_TONE_HZ), long enough for the default cadence's 1000 frames."""
    from ingest.build import build_package
    from ingest.synthetic import make_synthetic_sources, write_music

    work = tmp_path_factory.mktemp("synthetic-package")
    spec_path = make_synthetic_sources(work / "src", titles=4)
    spec = orjson.loads(spec_path.read_bytes())
    for title in spec["titles"]:
        title["clips"] = [dict(clip) for clip in SYNTHETIC_CLIPS]
    write_music(work / "src" / "hum.m4a", 40.0, tone_hz=BED_TONE_HZ)
    spec["music"] = [{"id": "hum", "name": "Test Hum", "source": "hum.m4a", "credit": "generated"}]
    spec_path.write_bytes(orjson.dumps(spec))
    build_package(spec_path, work / "pkg")
    return work / "pkg" / "catalog.json"


def random_viewer_profiles(title_ids: list[str], count: int, seed: int = 7) -> list[dict[str, object]]:
    """`count` viewers with random rankings (some short, some naming unknown titles)."""
    import random

    rng = random.Random(seed)
    profiles: list[dict[str, object]] = []
    for n in range(count):
        ranking = rng.sample(title_ids, rng.randint(0, len(title_ids)))
        if rng.random() < 0.1:
            ranking.insert(rng.randrange(len(ranking) + 1), f"gone-{n}")
        profiles.append({"user": f"viewer{n:03d}", "titles": ranking})
    return profiles


def start_server(catalog: Path, profiles: list[dict[str, object]], work: Path, *extra: str) -> tuple[
        subprocess.Popen[bytes], LiveServer]:
    """`sizzle serve` on a free port; fails the test with the server's output if it does not come up."""
    profiles_path = work / "profiles.jsonl"
    profiles_path.write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in profiles))
    env = {**os.environ, "SIZZLE_SIGNING_KEYS": f"1:{secrets.token_hex(32)}", "PYTHONUNBUFFERED": "1"}
    log_path = work / "server.log"
    why: str | None = "not started"
    for _attempt in range(3):
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "edge.cli", "serve", "--catalog", str(catalog),
                 "--profiles", str(profiles_path), "--host", "127.0.0.1", "--port", str(port),
                 "--rotation", "0", "--workers", "0", *extra],  # no rotation between plan.json and master;
                # one process: the players under test need the second core more than a second worker
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        why = wait_healthy(base, process, time.monotonic() + 30)
        if why is None:
            break
        stop(process)
        if b"already in use" not in log_path.read_bytes():
            break
    if why is not None:
        pytest.fail(f"sizzle serve did not come up: {why}\n{log_path.read_text(errors='replace')[-8000:]}")
    return process, LiveServer(base, tuple(str(p["user"]) for p in profiles), catalog, log_path)


@pytest.fixture(scope="session")
def synthetic_server(synthetic_package: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`sizzle serve` over the synthetic package with RANDOM_VIEWERS random viewers."""
    titles = [t["id"] for t in orjson.loads(synthetic_package.read_bytes())["titles"]]
    profiles = random_viewer_profiles(titles, RANDOM_VIEWERS)
    work = tmp_path_factory.mktemp("synthetic-server")
    process, server = start_server(synthetic_package, profiles, work,
                                   *music_cadences(synthetic_package, work))
    try:
        yield server
    finally:
        stop(process)
