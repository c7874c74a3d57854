"""Synthetic catalogs of any size, for tests, benchmarks and load tests (real media comes from ingest)."""
from __future__ import annotations

import hashlib
import random
import struct
from pathlib import Path
from typing import Any

import orjson

LADDER = (("1080p", 1920, 1080, "avc1.640028,mp4a.40.2"), ("720p", 1280, 720, "avc1.64001f,mp4a.40.2"),
          ("540p", 960, 540, "avc1.64001f,mp4a.40.2"), ("360p", 640, 360, "avc1.64001e,mp4a.40.2"))
RENDITIONS = LADDER[2:]


def make_catalog(titles: int = 8, lengths: tuple[int, ...] = (40, 40, 40, 80, 80, 160, 160),
                 seed: int = 1, segment_frames: int = 40, fps: int = 30,
                 renditions: int = 2, demuxed: bool = False, bed_segments: int = 0) -> dict[str, Any]:
    """A catalog dict: `titles` titles, each with one clip per entry of `lengths`. Schema 1 (audio
    muxed into every rendition) unless `demuxed` (schema 2: video-only renditions, an "audio"
    rendition and, with bed_segments > 0, one music bed "bed" that long)."""
    rng = random.Random(seed)
    ladder = LADDER[-renditions:]
    if demuxed:
        ladder = tuple((rid, w, h, codecs.split(",")[0]) for rid, w, h, codecs in ladder)
    segments: list[dict[str, Any]] = []
    clips: list[dict[str, Any]] = []
    frame = 0
    for t in range(titles):
        for n, length in enumerate(lengths):
            indices = []
            left = length
            clip_start = frame
            while left > 0:
                frames = min(segment_frames, left)
                indices.append(len(segments))
                sizes = {rid: rng.randint(20_000, 60_000) * h // 540 for rid, _w, h, _c in ladder}
                segments.append({
                    "index": len(segments), "start_frame": frame, "frames": frames,
                    "duration": round(frames / fps, 6), "bytes": sizes,
                })
                if demuxed:  # AAC frames starting in the segment's span (1024 samples each)
                    first, end = -(-frame * 1600 // 1024), -(-(frame + frames) * 1600 // 1024)
                    segments[-1]["audio_duration"] = round((end - first) * 1024 / 48000, 6)
                    sizes["audio"] = (end - first) * 370 + 200
                frame += frames
                left -= frames
            clips.append({"id": f"t{t}-{n:02d}", "title": f"t{t}", "talent": [f"star{t % 3}"],
                          "frames": length, "start_frame": clip_start,
                          "start": round(clip_start / fps, 6),
                          "duration": round(length / fps, 6), "segments": indices})
    body = {
        "schema": 1, "asset_id": f"test-{seed}", "created": "2026-12-04T00:00:00Z",
        "frame_rate": [fps, 1], "segment_frames": segment_frames, "timescale": 15360,
        "audio": {"codec": "mp4a.40.2", "sample_rate": 48000, "channels": 2},
        "renditions": [
            {"id": rid, "width": w, "height": h, "frame_rate": float(fps),
             "video_codec": codecs.split(",")[0], "codecs": codecs, "bandwidth": 0,
             "average_bandwidth": 0, "init": f"{rid}/init.mp4",
             "segment_template": f"{rid}/s{{index:05d}}.m4s"}
            for rid, w, h, codecs in ladder
        ],
        "titles": [{"id": f"t{t}", "name": f"Title {t}", "talent": [f"star{t % 3}"]}
                   for t in range(titles)],
        "segments": segments,
        "clips": clips,
    }
    if demuxed:
        body["schema"] = 2
        body["audio_renditions"] = [{
            "id": "audio", "name": "Original", "language": "en", "channels": 2, "sample_rate": 48000,
            "codecs": "mp4a.40.2", "bandwidth": 0, "average_bandwidth": 0, "init": "audio/init.mp4",
            "segment_template": "audio/s{index:05d}.m4s"}]
    if bed_segments:
        seconds = segment_frames / fps
        body["music"] = [{
            "id": "bed", "name": "Test Bed", "credit": "nobody", "codecs": "mp4a.40.2", "channels": 2,
            "sample_rate": 48000, "init": "music/bed/init.mp4",
            "segment_template": "music/bed/s{index:05d}.m4s", "fade_template": "music/bed/f{index:05d}.m4s",
            "segments": [{"duration": round(seconds, 6), "bytes": 20_000 + k, "fade_bytes": 19_000 + k}
                         for k in range(bed_segments)]}]
    body["version"] = hashlib.blake2b(orjson.dumps(body), digest_size=8).hexdigest()
    return body


def _box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version << 24 | flags), *payload)


# Placeholder tracks: video (track 1, 15360 ticks/s) and audio (track 2, 48000 samples/s) muxed.
Tracks = tuple[tuple[int, bytes, int], ...]
MUXED: Tracks = ((1, b"vide", 15360), (2, b"soun", 48000))
VIDEO: Tracks = ((1, b"vide", 15360),)
AUDIO: Tracks = ((1, b"soun", 48000),)


def placeholder_init(tracks: Tracks = MUXED) -> bytes:
    """ftyp + a moov that names the tracks and timescales (enough for the edge's tfdt rewrite)."""
    traks = [_box(b"trak",
                  _full(b"tkhd", 0, 3, struct.pack(">III", 0, 0, track), bytes(72)),
                  _box(b"mdia", _full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, scale, 0, 0x55C4, 0)),
                       _full(b"hdlr", 0, 0, bytes(4), handler, bytes(12), b"\0")))
             for track, handler, scale in tracks]
    trex = [_full(b"trex", 0, 0, struct.pack(">IIIII", track, 1, 0, 0, 0)) for track, _, _ in tracks]
    return _box(b"ftyp", b"iso6", bytes(4), b"iso6cmfc") + _box(b"moov", *traks, _box(b"mvex", *trex))


def placeholder_segment(start_frame: int, fps: int, size: int, tracks: Tracks = MUXED) -> bytes:
    """moof (a tfdt v1 per track at the segment's time, no samples) + an mdat padding to `size`.
    Audio starts on the first 1024-sample AAC frame at or after the video."""
    trafs = [_box(b"traf", _full(b"tfhd", 0, 0x020000, struct.pack(">I", track)),
                  _full(b"tfdt", 1, 0, struct.pack(">Q", start_frame * scale // fps if handler == b"vide"
                                                    else -(-start_frame * scale // fps // 1024) * 1024)),
                  _full(b"trun", 0, 0, struct.pack(">I", 0)))
             for track, handler, scale in tracks]
    moof = _box(b"moof", _full(b"mfhd", 0, 0, struct.pack(">I", 1)), *trafs)
    if size < len(moof) + 8:
        raise ValueError(f"segment of {size} bytes cannot hold its {len(moof)}-byte moof")
    return moof + _box(b"mdat", bytes([start_frame % 251]) * (size - len(moof) - 8))


def write_package(folder: Path, catalog: dict[str, Any]) -> Path:
    """catalog.json plus placeholder fragmented-MP4 files whose sizes match the catalog: real box
    structure and timing (what serving and the tfdt rewrite read), no samples (HTTP-level tests
    only check serving, not decoding; real media is exercised in tests/ingest and the e2e tests)."""
    fps = catalog["frame_rate"][0] // catalog["frame_rate"][1]
    audio = catalog.get("audio_renditions") or []
    kinds = [(r, VIDEO if audio else MUXED) for r in catalog["renditions"]] + [(r, AUDIO) for r in audio]
    for rendition, tracks in kinds:
        rid = rendition["id"]
        (folder / rendition["init"]).parent.mkdir(parents=True, exist_ok=True)
        (folder / rendition["init"]).write_bytes(placeholder_init(tracks))
        for segment in catalog["segments"]:
            path = folder / rendition["segment_template"].format(index=segment["index"])
            path.write_bytes(placeholder_segment(segment["start_frame"], fps, segment["bytes"][rid], tracks))
    for bed in catalog.get("music") or []:
        (folder / bed["init"]).parent.mkdir(parents=True, exist_ok=True)
        (folder / bed["init"]).write_bytes(placeholder_init(AUDIO))
        for k, segment in enumerate(bed["segments"]):
            start = k * catalog["segment_frames"]
            for template, size in ((bed["segment_template"], segment["bytes"]),
                                   (bed["fade_template"], segment["fade_bytes"])):
                (folder / template.format(index=k)).write_bytes(placeholder_segment(start, fps, size, AUDIO))
    path = folder / "catalog.json"
    path.write_bytes(orjson.dumps(catalog))
    return path
