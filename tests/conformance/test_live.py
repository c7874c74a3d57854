"""The checker against real servers: 200 random viewers of a generated catalog, the demo catalog
with every segment decoded, and the `sizzle check` command's exit codes."""
from __future__ import annotations

import http.server
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter

import pytest

from conformance import check_url
from conformance.fetch import Fetcher
from tests.conftest import REPO, LiveServer

pytestmark = pytest.mark.e2e


def test_200_random_viewers_of_a_generated_catalog_conform(synthetic_server: LiveServer) -> None:
    """Every applicable rule, for every viewer; one segment per variant decoded per viewer (the
    rest read to their first sample: keyframe, tfdt, sizes), media cached across viewers."""
    fetcher = Fetcher()
    started = time.monotonic()
    problems: list[str] = []
    reels: Counter[str] = Counter()
    segments = decoded = 0
    for user in synthetic_server.viewers:
        url = f"{synthetic_server.base}sizzle/{user}/master.m3u8"
        report = check_url(url, segments=1, fetcher=fetcher)
        problems += [f"{user}: {v.line()}" for v in report.violations]
        reels[fetcher.get(url).body.decode().split("\n")[-2]] += 1  # the signed variant URL
        segments += report.segments
        decoded += report.segments_decoded
    print(f"\n{len(synthetic_server.viewers)} viewers, {len(reels)} distinct reels, {segments} "
          f"segments checked, {decoded} decoded, {fetcher.requests} requests in "
          f"{time.monotonic() - started:.1f} s")
    assert len(synthetic_server.viewers) == 200 and len(reels) >= 50, "reels are not varied enough"
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("user", ["ana", "ben", "chloe"])
def test_demo_catalog_conforms_with_every_segment_decoded(live_server: LiveServer, user: str) -> None:
    report = check_url(f"{live_server.base}sizzle/{user}/master.m3u8")
    print(f"\n{user}: {report.variants} variants, {report.segments} segments, "
          f"{report.segments_decoded} decoded, {report.requests} requests")
    assert report.segments_decoded == report.segments > 0
    assert report.ok, "\n".join(v.line() for v in report.violations)


def _sizzle(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edge.cli", "check", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes(synthetic_server: LiveServer) -> None:
    master = f"{synthetic_server.base}sizzle/viewer000/master.m3u8"
    clean = _sizzle(master, "--segments", "2")
    assert clean.returncode == 0 and clean.stdout == "", clean.stdout + clean.stderr
    as_json = _sizzle(master, "--json", "--segments", "0")
    assert as_json.returncode == 0 and '"ok": true' in as_json.stdout
    # A variant URL is not a master: a usage error, in one line, without a traceback.
    bad_input = _sizzle(f"{synthetic_server.base}healthz")
    assert bad_input.returncode == 2 and bad_input.stderr.count("\n") == 1, bad_input.stderr
    unreachable = _sizzle("http://127.0.0.1:9/sizzle/x/master.m3u8")
    assert unreachable.returncode == 2 and "Traceback" not in unreachable.stderr
    assert unreachable.stderr.startswith("sizzle check: error:")
    assert _sizzle("not-a-url").returncode == 2
    assert _sizzle(master, "--segments", "some").returncode == 2
    assert _sizzle(f"{synthetic_server.base}sizzle/viewer000/plan.json").returncode == 2


def test_cli_reports_violations_of_a_broken_origin(synthetic_server: LiveServer) -> None:
    """A master copied from the edge, minus EXT-X-INDEPENDENT-SEGMENTS, served by a plain static
    server (text/plain, no CORS, no cache headers) with absolute variant URLs: exit 1, one line each."""
    master_url = f"{synthetic_server.base}sizzle/viewer001/master.m3u8"
    with urllib.request.urlopen(master_url, timeout=10) as response:
        text = response.read().decode()
    text = text.replace("#EXT-X-INDEPENDENT-SEGMENTS\n", "")
    text = "\n".join(urllib.parse.urljoin(master_url, line) if line and not line.startswith("#")
                     else re.sub(r'URI="([^"]+)"',  # the EXT-X-MEDIA audio rendition's
                                 lambda m: f'URI="{urllib.parse.urljoin(master_url, m.group(1))}"', line)
                     for line in text.split("\n"))
    body = text.encode()

    class Origin(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = _sizzle(f"http://127.0.0.1:{server.server_address[1]}/master.m3u8", "--segments", "0")
    finally:
        server.shutdown()
        server.server_close()
    lines = result.stdout.splitlines()
    assert result.returncode == 1, result.stdout + result.stderr
    rules = {line.split(":", 1)[0] for line in lines}
    assert {"INDEPENDENT-SEGMENTS", "CONTENT-TYPE", "CORS", "CACHE"} <= rules, lines
    assert all(line.split(": ")[1] == "master" for line in lines), lines  # the variants are fine
