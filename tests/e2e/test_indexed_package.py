"""A third-party HLS package (FFmpeg's hls muxer, fMP4 and MPEG-TS), indexed by `sizzle ingest --hls`
without touching its media, served by the edge and read end to end by FFmpeg: fMP4 on the
continuous timeline (the edge rewrites FFmpeg's own moofs, both tracks), MPEG-TS on the
discontinuous one (no tfdt to rewrite); the fMP4 reel also passes `sizzle check`."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import pytest

from conformance.check import check_url
from tests.conftest import REPO, start_server, stop
from tests.e2e.reel import expected_frames, plan_of
from tests.ingest.test_hls_index import encode_hls, snapshot, write_clips

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("kind", ["fmp4", "mpegts"])
def test_indexed_package_plays_through_the_edge(kind: str, tmp_path: Path) -> None:
    extra = {"hls_fmp4_init_filename": "init.mp4"} if kind == "fmp4" else {}
    master = encode_hls(tmp_path / "third-party", kind, **extra)
    before = snapshot(master.parent)
    out = tmp_path / "indexed"
    result = subprocess.run([sys.executable, "-m", "edge.cli", "ingest",
                             str(write_clips(tmp_path, None)), "--hls", str(master), "--out", str(out)],
                            capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    profiles = [{"user": "ana", "titles": ["bravo", "alpha"]}]
    process, server = start_server(out / "catalog.json", profiles, tmp_path)
    try:
        plan = plan_of(server, "ana")
        assert plan["timeline"] == ("continuous" if kind == "fmp4" else "discontinuous")
        want = expected_frames(plan)
        spans: list[tuple[float, float]] = []
        frames = discarded = 0
        with av.open(f"{server.base}sizzle/ana/master.m3u8", timeout=20) as container:
            video = max(container.streams.video, key=lambda s: s.codec_context.height)
            for stream in container.streams:
                if stream is not video:
                    stream.discard = av.stream.Discard.all
            for packet in container.demux(video):
                if packet.size == 0 or packet.pts is None or packet.time_base is None:
                    continue
                start = float(packet.pts * packet.time_base)
                spans.append((start, start + float(packet.duration * packet.time_base)))
                discarded += packet.is_discard
                frames += len(packet.decode())
            frames += len(video.codec_context.decode(None))
        assert len(spans) == want and frames == want, (len(spans), frames, want)
        if kind == "fmp4":  # one timeline, whatever FFmpeg's own tfdt offsets were
            ordered = sorted(spans)
            assert discarded == 0
            assert all(abs(b[0] - a[1]) < 1e-6 for a, b in zip(ordered, ordered[1:]))
            report = check_url(f"{server.base}sizzle/ana/master.m3u8")
            assert report.ok, "\n".join(v.line() for v in report.violations)
    finally:
        stop(process)
    assert snapshot(master.parent) == before, "the third-party package was modified"
