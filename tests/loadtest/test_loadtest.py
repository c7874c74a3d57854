"""`sizzle loadtest` against a real server: reports, plots, bounds, loopback-only."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from loadtest.players import Zipf, parse_master, parse_media, pick_variant
from loadtest.synthetic_catalog import make_catalog, write_package
from tests.conftest import start_server, stop


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("lt")
    catalog = write_package(folder / "pkg", make_catalog(titles=6))
    process, live = start_server(catalog, [], folder)
    try:
        yield live.base
    finally:
        stop(process)


def loadtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", "loadtest", *args], capture_output=True,
                          text=True, timeout=120)


def test_players_fetch_the_whole_chain_and_report(server: str, tmp_path: Path) -> None:
    result = loadtest(server, "--players", "8", "--duration", "4", "--burst", "--viewers", "50",
                      "--report", str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = orjson.loads((tmp_path / "report.json").read_bytes())
    kinds = report["kinds"]
    assert list(kinds) == ["master", "variant", "init", "segment"]
    assert report["errors"] == 0 and report["requests"] == sum(k["requests"] for k in kinds.values())
    assert kinds["master"]["requests"] >= kinds["variant"]["requests"] >= kinds["init"]["requests"] > 0
    assert kinds["segment"]["requests"] > kinds["init"]["requests"]
    for k in kinds.values():
        assert 0 < k["p50_ms"] <= k["p90_ms"] <= k["p99_ms"] <= k["p99.9_ms"] <= k["max_ms"]
    assert 3 <= len(report["timeline"]) <= 6
    for name in ("latency-cdf.png", "over-time.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bounded_by_request_count(server: str, tmp_path: Path) -> None:
    started = time.monotonic()
    result = loadtest(server, "--players", "4", "--duration", "60", "--burst", "--max-requests", "40",
                      "--no-plots", "--report", str(tmp_path))
    assert result.returncode == 0, result.stderr
    report = orjson.loads((tmp_path / "report.json").read_bytes())
    assert 40 <= report["requests"] <= 44  # each player finishes the request it has in flight
    assert time.monotonic() - started < 30


def test_real_time_pace_holds_players_back(server: str, tmp_path: Path) -> None:
    result = loadtest(server, "--players", "2", "--duration", "3", "--no-plots", "--report", str(tmp_path))
    assert result.returncode == 0, result.stderr
    paced = orjson.loads((tmp_path / "report.json").read_bytes())["kinds"]["segment"]["requests"]
    # each player may buffer 10 s ahead plus 3 s of playback of ~1.33 s segments: about 10 each
    assert paced <= 2 * 11


@pytest.mark.parametrize("args, culprit", [
    (["http://10.1.2.3:8080/"], "not a loopback address"),
    (["ftp://127.0.0.1/"], "not an http(s) URL"),
    (["http://127.0.0.1:1/", "--players", "0"], "--players"),
    (["http://127.0.0.1:1/", "--duration", "99999"], "--duration"),
])
def test_refuses_bad_targets_and_unbounded_runs(args: list[str], culprit: str) -> None:
    result = loadtest(*args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("sizzle loadtest: error:")
    assert culprit in result.stderr and "Traceback" not in result.stderr


def test_unreachable_server_counts_errors_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    result = loadtest(f"http://127.0.0.1:{port}/", "--players", "2", "--duration", "1", "--no-plots",
                      "--report", str(tmp_path))
    assert result.returncode == 1
    assert orjson.loads((tmp_path / "report.json").read_bytes())["errors"] > 0


def test_parsers_and_choices() -> None:
    master = ('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1,CODECS="a,b"\nhi.m3u8\n'
              '#EXT-X-STREAM-INF:BANDWIDTH=600000,CODECS="a"\nlo.m3u8\n')
    variants = parse_master(master)
    assert [(v.bandwidth, v.uri) for v in variants] == [(2_000_000, "hi.m3u8"), (600_000, "lo.m3u8")]
    assert pick_variant(variants, 1_000_000).uri == "lo.m3u8"
    assert pick_variant(variants, 100).uri == "lo.m3u8"
    assert pick_variant(variants, 3_000_000).uri == "hi.m3u8"
    init, segments = parse_media('#EXTM3U\n#EXT-X-MAP:URI="i.mp4"\n#EXTINF:1.5,\na.m4s\n#EXTINF:2,\nb.m4s\n')
    assert init == "i.mp4" and segments == [(1.5, "a.m4s"), (2.0, "b.m4s")]
    import random

    zipf = Zipf(100, 1.1, random.Random(3))
    draws = [zipf.draw() for _ in range(5000)]
    assert min(draws) == 0 and max(draws) < 100
    assert draws.count(0) > draws.count(1) > draws.count(10)


def test_players_fetch_the_audio_rendition_of_a_demuxed_package(tmp_path: Path) -> None:
    """With EXT-X-MEDIA audio, each visit also loads the audio playlist, its init and segments."""
    (tmp_path / "pkg").mkdir()
    catalog = write_package(tmp_path / "pkg", make_catalog(titles=6, demuxed=True))
    process, live = start_server(catalog, [], tmp_path)
    try:
        result = loadtest(live.base, "--players", "4", "--duration", "3", "--burst", "--viewers", "20",
                          "--report", str(tmp_path / "report"))
    finally:
        stop(process)
    assert result.returncode == 0, result.stderr
    report = orjson.loads((tmp_path / "report" / "report.json").read_bytes())
    kinds = report["kinds"]
    assert report["errors"] == 0
    # two playlists and two inits per visit (video and audio); each of the 4 players' last visit
    # may be cut short by the deadline
    masters = kinds["master"]["requests"]
    assert kinds["variant"]["requests"] >= 2 * masters - 4
    assert kinds["init"]["requests"] >= 2 * (masters - 4)
    assert kinds["segment"]["requests"] > kinds["init"]["requests"]
