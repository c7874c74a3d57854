"""FFmpeg (through PyAV) reading reels on the continuous timeline: the edge rewrites each segment's
`tfdt` to its place in the reel, so libavformat's HLS demuxer (which ignores EXT-X-DISCONTINUITY)
sees one strictly continuous timeline, and its mov demuxer no longer discards the first fragment
after a backward cut — which the discontinuous timeline cannot offer (test_ffmpeg_client.py)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

import av
import m3u8
import numpy as np
import pytest

from tests.conftest import LiveServer
from tests.e2e.reel import expected_frames, fetch, plan_of
from tests.e2e.test_ffmpeg_client import DISCONTINUOUS, pick_video

pytestmark = pytest.mark.e2e

AAC_FRAME = 1024 / 48000
EPSILON = 1e-6


@dataclass
class Read:
    video: list[tuple[float, float]] = field(default_factory=list)  # packet (start, end) seconds
    audio: list[tuple[float, float]] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)  # blake2b of every video packet, in order
    discarded: int = 0  # packets the mov demuxer flagged AV_PKT_FLAG_DISCARD
    frames: int = 0  # video frames decoded
    sound: list[np.ndarray[Any, Any]] = field(default_factory=list)  # decoded audio, planar float


def read_reel(url: str, height: int, decode_audio: bool = False) -> Read:
    seen = Read()
    with av.open(url, timeout=20) as container:
        video = pick_video(container, height)
        assert len(container.streams.audio) == 1, "want the one audio rendition"
        audio = container.streams.audio[0]
        audio.discard = av.stream.Discard.default
        for packet in container.demux(video, audio):
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue
            start = float(packet.pts * packet.time_base)
            span = (start, start + float(packet.duration * packet.time_base))
            seen.discarded += packet.is_discard
            if packet.stream is video:
                seen.video.append(span)
                seen.payloads.append(hashlib.blake2b(bytes(packet), digest_size=8).digest())
                seen.frames += len(packet.decode())
            else:
                seen.audio.append(span)
                if decode_audio:
                    seen.sound.extend(frame.to_ndarray() for frame in packet.decode())
        seen.frames += len(video.codec_context.decode(None))
    return seen


def steps(spans: list[tuple[float, float]]) -> list[float]:
    """Each packet's start minus the previous packet's end (0 where the timeline follows on)."""
    return [b[0] - a[1] for a, b in zip(spans, spans[1:])]


@pytest.mark.parametrize("user", ["ana", "ben", "chloe"])
def test_ffmpeg_reads_one_continuous_timeline(live_server: LiveServer, user: str,
                                              record_property: Callable[[str, object], None]) -> None:
    catalog = live_server.catalog
    if not catalog.get("audio_renditions"):
        pytest.skip("the package has muxed audio")
    plan = plan_of(live_server, user)
    assert plan["timeline"] == "continuous"
    want = expected_frames(plan)
    cuts = len(plan["clips"]) - 1
    seen = read_reel(f"{live_server.base}sizzle/{user}/master.m3u8", 540)

    assert seen.discarded == 0, "FFmpeg flagged packets as overlapping: the timeline is not continuous"
    assert len(seen.video) == want and seen.frames == want, (
        f"{user}: {len(seen.video)} packets, {seen.frames} frames decoded, the plan has {want}")
    assert abs(seen.video[0][0]) < EPSILON, "the reel does not start at 0"
    video_jumps = [s for s in steps(seen.video) if abs(s) > EPSILON]
    assert not video_jumps, f"video timestamps jump: {video_jumps[:5]}"
    # Audio: one timeline too; at a cut it may gap or overlap by less than one AAC frame (each
    # clip's audio keeps its sub-frame offset from its video), never more, and nowhere else.
    audio_steps = steps(seen.audio)
    worst = max((abs(s) for s in audio_steps), default=0.0)
    moved = sum(1 for s in audio_steps if abs(s) > EPSILON)
    assert worst < AAC_FRAME, f"audio gap or overlap of {worst * 1000:.1f} ms"
    assert moved <= cuts, f"audio timestamps move {moved} times in a reel of {cuts} cuts"
    assert abs(seen.audio[0][0]) < AAC_FRAME
    assert abs(seen.audio[-1][1] - seen.video[-1][1]) < AAC_FRAME, "audio and video end apart"

    # The rewrite changed timing only: FFmpeg gets the same compressed frames, in the same order,
    # as from the discontinuous timeline of the same reel.
    plain = read_reel(f"{live_server.base}sizzle/{user}/master.m3u8?{DISCONTINUOUS}", 540)
    assert plain.payloads == seen.payloads
    print(f"\nffmpeg continuous {user}: {seen.frames}/{want} frames, {cuts} cuts, 0 discarded "
          f"(discontinuous timeline: stock FFmpeg discards {plain.discarded}); audio moves at "
          f"{moved} cuts, worst {worst * 1000:.2f} ms")
    record_property("worst_audio_step_ms", round(worst * 1000, 3))
    record_property("discontinuous_discarded", plain.discarded)


def test_ffmpeg_reads_a_music_bed_under_the_cuts(live_server: LiveServer,
                                                 record_property: Callable[[str, object], None]) -> None:
    catalog = live_server.catalog
    if not catalog.get("music"):
        pytest.skip("the package has no music bed")
    bed = catalog["music"][0]
    plan = plan_of(live_server, "ben", "cadence=music")
    assert plan["audio"] == {"kind": "bed", "bed": bed["id"], "name": bed["name"], "credit": bed["credit"]}
    master_url = f"{live_server.base}sizzle/ben/master.m3u8?cadence=music"
    master = m3u8.loads(fetch(master_url)[0].decode())
    assert master.media[0].name == bed["name"] and master.media[0].default == "YES"
    seen = read_reel(master_url, 360, decode_audio=True)
    want = expected_frames(plan)
    assert seen.discarded == 0 and seen.frames == want
    assert not [s for s in steps(seen.video) if abs(s) > EPSILON], "video timestamps jump"
    # the bed runs on under every cut: not one audio timestamp moves
    assert not [s for s in steps(seen.audio) if abs(s) > EPSILON], "the music bed has a gap"
    assert abs(seen.audio[0][0]) < AAC_FRAME
    segment = catalog["segment_frames"] / (catalog["frame_rate"][0] / catalog["frame_rate"][1])
    overrun = seen.audio[-1][1] - seen.video[-1][1]
    assert -AAC_FRAME < overrun < segment, f"the bed ends {overrun:+.3f} s from the video"
    # ...and fades out at the end: loud in the middle, near silence in its last 20 ms
    sound = np.concatenate(seen.sound, axis=1)
    tail = sound[:, -960:]
    rms = float(np.sqrt(np.mean(sound ** 2)))
    tail_rms = float(np.sqrt(np.mean(tail ** 2)))
    assert rms > 0.02 and tail_rms < 0.05 * rms, f"bed RMS {rms:.4f}, last 20 ms {tail_rms:.5f}"
    print(f"\nffmpeg music bed: {len(seen.audio)} AAC frames with no gap over {len(plan['clips']) - 1} "
          f"video cuts; ends {overrun * 1000:+.1f} ms after the video; RMS {rms:.3f}, last 20 ms "
          f"{tail_rms:.5f}")
    record_property("bed_overrun_ms", round(overrun * 1000, 1))
