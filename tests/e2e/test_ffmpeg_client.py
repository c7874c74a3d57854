"""FFmpeg (through PyAV) as an HLS client of the running edge, on a discontinuous timeline.

libavformat's HLS demuxer ignores EXT-X-DISCONTINUITY and passes the Mega Asset's own timestamps
through, so the reel is read from the start and never sought (HLS_RULES.md, "Testing with FFmpeg").
Those raw timestamps are useful: each packet names its Mega Asset frame, so the test checks not only
how many frames came out but which ones, in which order. (The continuous timeline, where the edge
rewrites the timestamps, is read in test_ffmpeg_continuous.py.)

One more FFmpeg quirk matters here. The HLS demuxer feeds all fMP4 segments of a variant through a
single mov demuxer, and mov_read_trun() (libavformat/mov.c, "Fragments can overlap in time. Discard
overlapping frames after decoding.") flags every sample whose tfdt-based dts is not after the
previous fragment's last dts with AV_PKT_FLAG_DISCARD; the decoder then drops those frames. In a
reel, a cut to a clip that lies earlier in the Mega Asset is exactly that, so stock FFmpeg hides the
first segment after every backward cut. That is a limitation of FFmpeg's HLS client (it would need
to honour DISCONTINUITY), not a fault in the playlists, so the test decodes the packets FFmpeg
delivered with that flag cleared, and reports what stock FFmpeg would show.
"""
from __future__ import annotations

import io
import urllib.parse
from fractions import Fraction
from typing import Any, Callable

import av
import m3u8
import pytest
from av.stream import Discard
from av.video.frame import PictureType

from tests.conftest import LiveServer
from tests.e2e.reel import expected_frames, fetch, plan_of

pytestmark = pytest.mark.e2e

VIEWERS = ("ana", "ben", "chloe")
DISCONTINUOUS = "timeline=discontinuous"


def reel_frame_numbers(catalog: dict[str, Any], plan: dict[str, Any]) -> list[int]:
    """The Mega Asset frame numbers a viewer should see, in order."""
    clips = {clip["id"]: clip for clip in catalog["clips"]}
    numbers: list[int] = []
    for item in plan["clips"]:
        clip = clips[item["clip"]]
        assert clip["frames"] == item["frames"], f"plan and catalog disagree on {item['clip']}"
        numbers.extend(range(clip["start_frame"], clip["start_frame"] + clip["frames"]))
    return numbers


def pick_video(container: av.container.InputContainer, height: int) -> av.video.stream.VideoStream:
    """PyAV shows every variant of the master as streams; keep the wanted video, discard the rest
    (so after probing, the HLS demuxer fetches only the wanted variant's segments)."""
    videos = [s for s in container.streams.video if s.codec_context.height == height]
    heights = sorted(s.codec_context.height for s in container.streams.video)
    assert len(videos) == 1, f"want one {height}p video stream among the variants, got {heights}"
    for stream in container.streams:
        if stream is not videos[0]:
            stream.discard = Discard.all
    return videos[0]


def at(item: av.Packet[Any] | av.VideoFrame, rate: Fraction) -> int:
    """The Mega Asset frame number a packet or frame carries (its raw timestamp, in frames)."""
    assert item.pts is not None and item.time_base is not None
    return round(item.pts * item.time_base * rate)


def unflagged(packet: av.Packet[Any]) -> av.Packet[Any]:
    """The same compressed frame in a fresh packet, without the demuxer's DISCARD flag."""
    copy = av.Packet(bytes(packet))
    copy.pts, copy.dts, copy.time_base = packet.pts, packet.dts, packet.time_base
    copy.is_keyframe = packet.is_keyframe
    return copy


@pytest.mark.parametrize("user", VIEWERS)
def test_ffmpeg_plays_the_whole_reel(live_server: LiveServer, user: str,
                                     record_property: Callable[[str, object], None]) -> None:
    assert user in live_server.viewers
    catalog = live_server.catalog
    plan = plan_of(live_server, user, DISCONTINUOUS)
    want = reel_frame_numbers(catalog, plan)
    assert len(want) == expected_frames(plan)
    rate = Fraction(*catalog["frame_rate"])

    delivered: list[int] = []  # Mega Asset frame number of every video packet, in demux order
    flagged: list[int] = []  # those the mov demuxer marked AV_PKT_FLAG_DISCARD
    shown: list[int] = []  # frames the decoder gave back
    with av.open(f"{live_server.base}sizzle/{user}/master.m3u8?{DISCONTINUOUS}", timeout=20) as container:
        video = pick_video(container, 540)
        decoder = video.codec_context
        for packet in container.demux(video):
            if packet.size == 0:  # the flush packet at the end
                continue
            delivered.append(at(packet, rate))
            if packet.is_discard:
                flagged.append(at(packet, rate))
            shown.extend(at(frame, rate) for frame in decoder.decode(unflagged(packet)))
        shown.extend(at(frame, rate) for frame in decoder.decode(None))

    record_property("frames_expected", len(want))
    record_property("frames_decoded", len(shown))
    record_property("frames_stock_ffmpeg_would_discard", len(flagged))
    backward = sum(1 for a, b in zip(want, want[1:]) if b < a)
    print(f"\nffmpeg {user}: decoded {len(shown)} video frames at 540p, plan has {len(want)} "
          f"({len(plan['clips'])} clips); stock FFmpeg would hide {len(flagged)} of them "
          f"(DISCARD-flagged: the first segment after each of {backward} backward cuts)")
    assert delivered == want, f"{user}: the HLS demuxer did not deliver the planned frames in order"
    # Exact: FFmpeg decodes every packet it is given and flushes the decoder at the end; a count
    # that is off by even one frame means a segment lost or gained a frame.
    assert len(shown) == len(want), (
        f"{user}: decoded {len(shown)} frames, the plan's clips add up to {len(want)}")
    assert shown == want, f"{user}: right number of frames, but not the planned ones in order"


def segment_index(catalog: dict[str, Any], rendition: dict[str, Any], uri: str) -> int:
    for n in range(len(catalog["segments"])):
        if uri.endswith("/" + rendition["segment_template"].format(index=n)):
            return n
    raise AssertionError(f"{uri} is no segment of rendition {rendition['id']}")


def first_nal_types(packet: av.Packet[Any], extradata: bytes) -> list[int]:
    """NAL unit types in an AVCC (length-prefixed) H.264 access unit."""
    size = (extradata[4] & 3) + 1  # lengthSizeMinusOne in the avcC box
    data = bytes(packet)
    types, i = [], 0
    while i + size <= len(data):
        length = int.from_bytes(data[i:i + size], "big")
        i += size
        if i < len(data):
            types.append(data[i] & 0x1F)
        i += length
    return types


def inspect_segment(media: bytes) -> dict[str, Any]:
    """Decode init + one segment on its own, as a player does after a switch or seek."""
    with av.open(io.BytesIO(media), mode="r", format="mp4") as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        first_packet: av.Packet[Any] | None = None
        frames: list[av.VideoFrame] = []
        audio_start: float | None = None
        for packet in container.demux(*container.streams):
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue
            if packet.stream is audio and audio_start is None:
                audio_start = float(packet.pts * packet.time_base)
            if packet.stream is video:
                first_packet = first_packet or packet
                frames.extend(frame for frame in packet.decode() if isinstance(frame, av.VideoFrame))
        frames.extend(frame for frame in video.codec_context.decode(None))
        assert first_packet is not None and first_packet.pts is not None, "segment has no video"
        assert first_packet.time_base is not None
        return {
            "frames": len(frames),
            "key_packet": first_packet.is_keyframe,
            "nal_types": first_nal_types(first_packet, bytes(video.codec_context.extradata or b"")),
            "first_frame_type": PictureType(frames[0].pict_type).name if frames else None,
            "first_frame_is_first_packet": bool(frames) and frames[0].pts == first_packet.pts,
            "video_start": float(first_packet.pts * first_packet.time_base),
            "audio_start": audio_start,
            "sample_rate": audio.codec_context.sample_rate if audio is not None else None,
        }


def audio_start(media: bytes) -> tuple[float, int]:
    """(first audio sample time in seconds, samples decoded) of init + one audio segment alone."""
    with av.open(io.BytesIO(media), mode="r", format="mp4") as container:
        assert not container.streams.video, "an audio segment carries video"
        stream = container.streams.audio[0]
        start: float | None = None
        samples = 0
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue
            if start is None:
                start = float(packet.pts * packet.time_base)
            samples += sum(frame.samples for frame in packet.decode())
        assert start is not None, "segment has no audio"
        return start, samples


def variant_segments(server: LiveServer, user: str, rendition_id: str,
                     ) -> tuple[str, m3u8.M3U8, bytes]:
    """(variant URL, its playlist, its init bytes) of one rendition of a discontinuous reel."""
    plan = plan_of(server, user, DISCONTINUOUS)
    url = urllib.parse.urljoin(f"{server.base}sizzle/{user}/", plan["variants"][rendition_id])
    playlist = m3u8.loads(fetch(url)[0].decode(), uri=url)
    assert playlist.segment_map, "no EXT-X-MAP"
    init, headers = fetch(urllib.parse.urljoin(url, playlist.segment_map[0].uri))
    assert headers["Content-Type"] == ("audio/mp4" if rendition_id == "audio" else "video/mp4")
    return url, playlist, init


@pytest.mark.parametrize("rendition_id", ["540p", "360p"])
def test_every_segment_of_the_variant_stands_alone(live_server: LiveServer, rendition_id: str) -> None:
    catalog = live_server.catalog
    rendition = next(r for r in catalog["renditions"] if r["id"] == rendition_id)
    demuxed = bool(catalog.get("audio_renditions"))
    plan = plan_of(live_server, "ana", DISCONTINUOUS)
    variant_url, playlist, init = variant_segments(live_server, "ana", rendition_id)
    audio: dict[int, tuple[float, int]] = {}  # segment -> (audio start, samples), demuxed packages
    if demuxed:
        audio_url, audio_playlist, audio_init = variant_segments(live_server, "ana", "audio")
        audio_rendition = catalog["audio_renditions"][0]
        for segment in audio_playlist.segments:
            url = urllib.parse.urljoin(audio_url, segment.uri)
            body, headers = fetch(url)
            assert headers["Content-Type"] == "audio/mp4"
            audio[segment_index(catalog, audio_rendition, url)] = audio_start(audio_init + body)

    problems: list[str] = []
    counts: list[int] = []
    skews: list[float] = []
    for segment in playlist.segments:
        url = urllib.parse.urljoin(variant_url, segment.uri)
        n = segment_index(catalog, rendition, url)
        entry = catalog["segments"][n]
        body, headers = fetch(url)
        if headers["Content-Type"] != "video/mp4":
            problems.append(f"s{n}: Content-Type {headers['Content-Type']}")
        if len(body) != entry["bytes"][rendition_id]:
            problems.append(f"s{n}: {len(body)} bytes, catalog says {entry['bytes'][rendition_id]}")
        if abs(segment.duration - entry["duration"]) > 1e-6:
            problems.append(f"s{n}: EXTINF {segment.duration}, catalog {entry['duration']}")
        seen = inspect_segment(init + body)
        counts.append(seen["frames"])
        if seen["frames"] != entry["frames"]:
            problems.append(f"s{n}: decoded {seen['frames']} frames, catalog says {entry['frames']}")
        if not seen["key_packet"] or 5 not in seen["nal_types"]:
            problems.append(f"s{n}: first video sample is not an IDR "
                            f"(keyframe flag {seen['key_packet']}, NAL types {seen['nal_types']})")
        if seen["first_frame_type"] != "I" or not seen["first_frame_is_first_packet"]:
            problems.append(f"s{n}: first decoded frame is {seen['first_frame_type']}, "
                            f"from the first packet: {seen['first_frame_is_first_packet']}")
        if demuxed:
            if seen["audio_start"] is not None:
                problems.append(f"s{n}: a video-only rendition's segment carries audio")
            if n not in audio:
                problems.append(f"s{n}: the audio playlist has no segment {n}")
                continue
            start, samples = audio[n]
            sample_rate = 48000
            if abs(samples / sample_rate - entry["audio_duration"]) > 1e-6:
                problems.append(f"s{n}: {samples} audio samples, catalog says {entry['audio_duration']} s")
        elif seen["audio_start"] is None:
            problems.append(f"s{n}: no audio")
            continue
        else:
            start, sample_rate = seen["audio_start"], seen["sample_rate"]
        skew = start - seen["video_start"]
        skews.append(skew)
        if abs(skew) > 1024 / sample_rate + 1e-4:  # one AAC frame
            problems.append(f"s{n}: audio starts {skew * 1000:+.1f} ms from video")

    low, high = min(skews, default=0) * 1000, max(skews, default=0) * 1000
    print(f"\n{rendition_id}: {len(playlist.segments)} segments, frames per segment {counts}, "
          f"audio-video start skew {low:+.1f}..{high:+.1f} ms ({'demuxed' if demuxed else 'muxed'})")
    assert not problems, "\n".join(problems)
    assert len(skews) == len(playlist.segments)
    assert sum(counts) == expected_frames(plan), "segments do not add up to the plan's clips"


@pytest.mark.parametrize("user", VIEWERS)
def test_variants_list_the_planned_segments_and_mark_every_cut(live_server: LiveServer,
                                                               user: str) -> None:
    """What both clients above rely on: each variant lists exactly the plan's segments, the
    renditions agree segment for segment, and DISCONTINUITY marks every non-adjacent cut and
    nothing else (hls.js would play on without the tags, FFmpeg ignores them, so only this sees it)."""
    catalog = live_server.catalog
    plan = plan_of(live_server, user, DISCONTINUOUS)
    clips = {clip["id"]: clip for clip in catalog["clips"]}
    planned = [n for item in plan["clips"] for n in clips[item["clip"]]["segments"]]
    listed: dict[str, list[tuple[int, bool]]] = {}
    for rendition in catalog["renditions"] + catalog.get("audio_renditions", []):
        url = urllib.parse.urljoin(f"{live_server.base}sizzle/{user}/",
                                   plan["variants"][rendition["id"]])
        playlist = m3u8.loads(fetch(url)[0].decode(), uri=url)
        assert playlist.is_endlist and playlist.playlist_type == "vod"
        listed[rendition["id"]] = [
            (segment_index(catalog, rendition, urllib.parse.urljoin(url, s.uri)), s.discontinuity)
            for s in playlist.segments]
    first, *others = listed.values()
    assert all(other == first for other in others), "renditions disagree on segments or cuts"
    assert [n for n, _ in first] == planned, f"{user}: variant segments differ from the plan"
    wanted_cuts = [i > 0 and n != planned[i - 1] + 1 for i, n in enumerate(planned)]
    assert [cut for _, cut in first] == wanted_cuts, f"{user}: DISCONTINUITY in the wrong places"


def runs(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Split packet spans (in demux order) into runs of continuous timestamps: one run per
    stretch of the reel between cuts (the demuxer keeps the Mega Asset's own timestamps)."""
    found: list[tuple[float, float]] = []
    for start, end in spans:
        if found and abs(start - found[-1][1]) < 1e-4:
            found[-1] = (found[-1][0], end)
        else:
            found.append((start, end))
    return found


def cut_skews(url: str, height: int | None = None) -> list[tuple[float, float, float]]:
    """Read one variant (muxed audio) or a master's `height` variant with its audio rendition
    (demuxed) through libavformat's HLS demuxer, from the start; for every stretch between cuts,
    (video start, audio start - video start, audio end - video end)."""
    audio: list[tuple[float, float]] = []
    video: list[tuple[float, float]] = []
    with av.open(url, timeout=20) as container:
        wanted = pick_video(container, height) if height is not None else container.streams.video[0]
        assert len(container.streams.audio) == 1
        sound = container.streams.audio[0]
        sound.discard = Discard.default
        assert height is not None or len(container.streams.video) == 1
        for packet in container.demux(wanted, sound):
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue
            start = float(packet.pts * packet.time_base)
            span = (start, start + float(packet.duration * packet.time_base))
            (video if packet.stream.type == "video" else audio).append(span)
    video_runs, audio_runs = runs(video), runs(audio)
    assert len(audio_runs) == len(video_runs), (
        f"audio breaks into {len(audio_runs)} runs, video into {len(video_runs)}")
    return [(v[0], a[0] - v[0], a[1] - v[1]) for v, a in zip(video_runs, audio_runs)]


@pytest.mark.parametrize("source", ["demo", "synthetic"])
def test_ffmpeg_audio_meets_video_at_every_cut(live_server: LiveServer, synthetic_server: LiveServer,
                                               source: str,
                                               record_property: Callable[[str, object], None]) -> None:
    """Through the HLS demuxer (not segment by segment): at every cut of a whole reel, the clip's
    audio starts and ends within one AAC frame (1024/48000 s) of its video. The generated catalog
    conforms mono 48 kHz, stereo 44.1 kHz and silent sources, the demo one real footage."""
    server = live_server if source == "demo" else synthetic_server
    users = VIEWERS if source == "demo" else server.viewers[:3]
    worst = 0.0
    cuts = 0
    problems: list[str] = []
    for user in users:
        plan = plan_of(server, user, DISCONTINUOUS)
        rendition = server.catalog["renditions"][-1]
        variant_url = urllib.parse.urljoin(f"{server.base}sizzle/{user}/", plan["variants"][rendition["id"]])
        text = fetch(variant_url)[0].decode()
        if server.catalog.get("audio_renditions"):
            skews = cut_skews(f"{server.base}sizzle/{user}/master.m3u8?{DISCONTINUOUS}", rendition["height"])
        else:
            skews = cut_skews(variant_url)
        assert len(skews) == text.count("#EXT-X-DISCONTINUITY") + 1, "timestamps jump where no cut is"
        cuts += len(skews) - 1
        for at, start, end in skews:
            worst = max(worst, abs(start), abs(end))
            if abs(start) > 1024 / 48000 or abs(end) > 1024 / 48000:
                problems.append(f"{user} stretch at Mega Asset {at:.3f} s: audio starts "
                                f"{start * 1000:+.1f} ms, ends {end * 1000:+.1f} ms from its video")
    print(f"\nffmpeg {source}: {len(users)} reels, {cuts} cuts, worst audio/video skew at a cut "
          f"{worst * 1000:.1f} ms "
          f"(one AAC frame is {1024 / 48:.1f} ms)")
    record_property("worst_cut_skew_ms", round(worst * 1000, 2))
    assert not problems, "\n".join(problems)
