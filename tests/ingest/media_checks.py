"""Read a package back with PyAV the way a player would: init + segment bytes, concatenated.

A demuxed package (schema 2) is read like a player reads it: the video rendition's span and the
audio rendition's same segments, each decoded on its own.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import orjson

from ingest.grid import mega_asset_spans

AAC_FRAME_SECONDS = 1024 / 48000


@dataclass(frozen=True)
class Decoded:
    video_pts: list[float]  # packet pts, seconds, presentation order
    video_end: float  # last frame's pts + duration
    first_packet_key: bool
    first_packet_nal_types: list[int]  # H.264 NAL unit types of the first video sample (5 = IDR)
    first_frame_key: bool
    frames: int  # decoded video frames
    audio_start: float | None
    audio_end: float | None
    audio: np.ndarray  # (channels, samples) decoded audio
    first_frame: np.ndarray  # luma plane of the first decoded frame


def segment_path(pkg: Path, rendition: dict[str, Any], index: int) -> Path:
    return pkg / rendition["segment_template"].format(index=index)


def span_bytes(pkg: Path, rendition: dict[str, Any], indices: list[int]) -> bytes:
    return (pkg / rendition["init"]).read_bytes() + b"".join(
        segment_path(pkg, rendition, i).read_bytes() for i in indices)


def nal_unit_types(sample: bytes) -> list[int]:
    """NAL unit types of one length-prefixed (avcC, 4-byte lengths) H.264 sample."""
    types, pos = [], 0
    while pos + 4 < len(sample):
        length = int.from_bytes(sample[pos:pos + 4], "big")
        types.append(sample[pos + 4] & 0x1F)
        pos += 4 + length
    return types


def audio_rendition(pkg: Path) -> dict[str, Any] | None:
    """The package's audio rendition (schema 2), None when audio is muxed into the video."""
    catalog = orjson.loads((pkg / "catalog.json").read_bytes())
    audio = catalog.get("audio_renditions") or [None]
    return audio[0]  # type: ignore[no-any-return]


def _packets(data: bytes, with_video: bool = True,
             with_audio: bool = True) -> list[tuple[str, float, float, bool, bytes]]:
    """(kind, start s, end s, keyframe, bytes) of every packet; asserts the file's track layout."""
    out = []
    with av.open(io.BytesIO(data), format="mp4") as container:
        assert len(container.streams.video) == int(with_video)
        assert len(container.streams.audio) == int(with_audio)
        for packet in container.demux():
            if packet.size == 0 or packet.pts is None or packet.time_base is None:
                continue
            start = float(packet.pts * packet.time_base)
            end = start + float(packet.duration * packet.time_base)
            out.append((packet.stream.type, start, end, packet.is_keyframe, bytes(packet)))
    return out


def read_span(pkg: Path, rendition: dict[str, Any], indices: list[int]) -> Decoded:
    data = span_bytes(pkg, rendition, indices)
    separate = audio_rendition(pkg)
    audio_data = data if separate is None else span_bytes(pkg, separate, indices)
    video_pts: list[float] = []
    video_end = 0.0
    first_packet_key = False
    nal_types: list[int] = []
    audio_start = audio_end = None
    timed = _packets(data, with_audio=separate is None)
    if separate is not None:
        timed += _packets(audio_data, with_video=False)
    for kind, start, end, key, payload in timed:
        if kind == "video":
            if not video_pts:
                first_packet_key = key
                nal_types = nal_unit_types(payload)
            video_pts.append(start)
            video_end = max(video_end, end)
        else:
            audio_start = start if audio_start is None else min(audio_start, start)
            audio_end = end if audio_end is None else max(audio_end, end)
    with av.open(io.BytesIO(data), format="mp4") as container:
        frames = list(container.decode(video=0))
    with av.open(io.BytesIO(audio_data), format="mp4") as container:
        chunks = [f.to_ndarray() for f in container.decode(audio=0)]
    audio = np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), np.float32)
    luma = frames[0].to_ndarray(format="gray") if frames else np.zeros((0, 0), np.uint8)
    return Decoded(sorted(video_pts), video_end, first_packet_key, nal_types,
                   bool(frames and frames[0].key_frame), len(frames), audio_start, audio_end,
                   audio, luma)


def check_catalog(pkg: Path, catalog: dict[str, Any]) -> None:
    """Assert the catalog follows docs/catalog.md (schema 2, demuxed) and agrees with the files."""
    assert set(catalog) == {"schema", "asset_id", "version", "created", "frame_rate",
                            "segment_frames", "timescale", "audio", "renditions",
                            "audio_renditions", "titles", "segments", "clips", "music"}
    assert catalog["schema"] == 2
    assert len(catalog["version"]) == 16 and int(catalog["version"], 16) >= 0
    assert catalog["created"].endswith("Z") and len(catalog["created"]) == 20
    num, den = catalog["frame_rate"]
    fps = num / den
    assert catalog["audio"] == {"codec": "mp4a.40.2", "sample_rate": 48000, "channels": 2}
    heights = [r["height"] for r in catalog["renditions"]]
    assert heights == sorted(heights, reverse=True) and len(heights) >= 2
    (audio,) = catalog["audio_renditions"]
    assert audio == {"id": "audio", "name": "Original", "language": audio["language"],
                     "channels": 2, "sample_rate": 48000, "codecs": "mp4a.40.2",
                     "bandwidth": audio["bandwidth"], "average_bandwidth": audio["average_bandwidth"],
                     "init": "audio/init.mp4", "segment_template": "audio/s{index:05d}.m4s"}
    assert audio["bandwidth"] >= audio["average_bandwidth"] > 0
    assert (pkg / audio["init"]).is_file()
    ids = [r["id"] for r in catalog["renditions"]]
    assert len(set(ids + ["audio"])) == len(ids) + 1
    for r in catalog["renditions"]:
        assert set(r) == {"id", "width", "height", "frame_rate", "video_codec", "codecs",
                          "bandwidth", "average_bandwidth", "init", "segment_template"}
        assert r["width"] % 2 == 0 and r["height"] % 2 == 0
        assert r["codecs"] == r["video_codec"]
        assert r["video_codec"].startswith("avc1.") and len(r["video_codec"]) == 11
        assert r["init"] == f"{r['id']}/init.mp4" and (pkg / r["init"]).is_file()
        assert r["segment_template"] == f"{r['id']}/s{{index:05d}}.m4s"
        assert r["bandwidth"] >= r["average_bandwidth"] > 0
        assert abs(r["frame_rate"] - fps) < 1e-3
    segments = catalog["segments"]
    total = sum(s["frames"] for s in segments)
    spans = mega_asset_spans([s["start_frame"] for s in segments], total, Fraction(num, den))
    frame = 0
    for i, s in enumerate(segments):
        assert set(s) == {"index", "start_frame", "frames", "duration", "audio_duration", "bytes"}
        assert s["index"] == i and s["start_frame"] == frame
        assert 0 < s["frames"] <= catalog["segment_frames"]
        assert abs(s["duration"] - s["frames"] / fps) < 1e-5
        first, stop = spans[i]
        last = stop * 1024 if i < len(segments) - 1 else round(total / fps * 48000)
        assert abs(s["audio_duration"] - (last - first * 1024) / 48000) < 1e-6
        assert set(s["bytes"]) == set(ids) | {"audio"}
        for r in [*catalog["renditions"], audio]:
            assert s["bytes"][r["id"]] == segment_path(pkg, r, i).stat().st_size
        frame += s["frames"]
    for r in [*catalog["renditions"], audio]:  # no stray segment files
        assert len(list((pkg / r["id"]).glob("*.m4s"))) == len(segments)
    title_ids = [t["id"] for t in catalog["titles"]]
    for t in catalog["titles"]:
        assert set(t) == {"id", "name", "talent"} and all(isinstance(x, str) for x in t["talent"])
    next_segment = 0
    frame = 0
    clip_ids = set()
    for c in catalog["clips"]:
        assert set(c) == {"id", "title", "talent", "frames", "start_frame", "start", "duration",
                          "source", "segments"}
        assert c["id"] not in clip_ids
        clip_ids.add(c["id"])
        assert c["title"] in title_ids
        assert c["start_frame"] == frame and abs(c["start"] - frame / fps) < 1e-6
        per = catalog["segment_frames"]
        assert c["segments"] == list(range(next_segment, next_segment + -(-c["frames"] // per)))
        segs = [segments[i] for i in c["segments"]]
        assert segs[0]["start_frame"] == c["start_frame"]
        assert sum(s["frames"] for s in segs) == c["frames"]
        assert all(s["frames"] == per for s in segs[:-1])
        assert abs(c["duration"] - sum(s["duration"] for s in segs)) < 1e-5
        assert set(c["source"]) == {"file", "start"}
        next_segment += len(c["segments"])
        frame += c["frames"]
    assert next_segment == len(segments)
