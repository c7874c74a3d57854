"""Synthetic catalogs of any size, for tests, benchmarks and load tests (real media comes from ingest)."""
from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import orjson

LADDER = (("1080p", 1920, 1080, "avc1.640028,mp4a.40.2"), ("720p", 1280, 720, "avc1.64001f,mp4a.40.2"),
          ("540p", 960, 540, "avc1.64001f,mp4a.40.2"), ("360p", 640, 360, "avc1.64001e,mp4a.40.2"))
RENDITIONS = LADDER[2:]


def make_catalog(titles: int = 8, lengths: tuple[int, ...] = (40, 40, 40, 80, 80, 160, 160),
                 seed: int = 1, segment_frames: int = 40, fps: int = 30,
                 renditions: int = 2) -> dict[str, Any]:
    """A schema-1 catalog dict: `titles` titles, each with one clip per entry of `lengths`."""
    rng = random.Random(seed)
    ladder = LADDER[-renditions:]
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
                segments.append({
                    "index": len(segments), "start_frame": frame, "frames": frames,
                    "duration": round(frames / fps, 6),
                    "bytes": {rid: rng.randint(20_000, 60_000) * h // 540
                              for rid, _w, h, _c in ladder},
                })
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
    body["version"] = hashlib.blake2b(orjson.dumps(body), digest_size=8).hexdigest()
    return body


def write_package(folder: Path, catalog: dict[str, Any]) -> Path:
    """catalog.json plus placeholder media files whose sizes match the catalog (HTTP-level tests
    only check serving, not decoding; real media is exercised in tests/ingest and the e2e tests)."""
    for rendition in catalog["renditions"]:
        rid = rendition["id"]
        (folder / rid).mkdir(parents=True, exist_ok=True)
        (folder / rendition["init"]).write_bytes(b"\0\0\0\x10ftypiso6" + b"\0" * 4)
        for segment in catalog["segments"]:
            path = folder / rendition["segment_template"].format(index=segment["index"])
            path.write_bytes(bytes([segment["index"] % 251]) * segment["bytes"][rid])
    path = folder / "catalog.json"
    path.write_bytes(orjson.dumps(catalog))
    return path
