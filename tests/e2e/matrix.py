"""The player matrix's moving parts: a static page server on its own origin, the per-reel script
(start level, three switches, a seek, a capture at every clip), and the references a capture is
compared with (frames and tones decoded with PyAV from the clip's own segments)."""
from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import av
import numpy as np

from tests.conftest import REPO
from tests.e2e.browser import serve_files

PLAYER = Path(__file__).with_name("player")
LIBRARIES = {
    "hls": REPO / "node_modules" / "hls.js" / "dist" / "hls.min.js",
    "shaka": REPO / "node_modules" / "shaka-player" / "dist" / "shaka-player.compiled.js",
}
THUMB = (9, 16)  # rows, columns of the luma thumbnail (block means)


def serve_pages() -> Iterator[str]:
    """/hls/ and /shaka/ serve the same page; player.js is that folder's library."""
    files: dict[str, tuple[Path, str]] = {}
    for name, library in LIBRARIES.items():
        files[f"/{name}/"] = (PLAYER / "matrix.html", "text/html")
        files[f"/{name}/matrix.js"] = (PLAYER / "matrix.js", "text/javascript")
        files[f"/{name}/player.js"] = (library, "text/javascript")
    yield from serve_files(files)


def script(plan: dict[str, Any], heights: list[int]) -> dict[str, Any]:
    """Start at the top rendition; switch down, up, down at 15%, 35% and 50% of the reel; at the
    middle of a clip past 60%, seek into the middle of the next clip; capture every clip around its
    middle (past the seek point for the clip the seek lands in)."""
    clips = plan["clips"]
    duration = plan["duration"]
    top, low = max(heights), min(heights)
    target = next(i for i, c in enumerate(clips) if i > 0 and clips[i - 1]["start"] >= 0.6 * duration - 1e-6)
    before, after = clips[target - 1], clips[target]
    # Capture windows: the first frame presented inside the window is drawn and listened to
    # (requestVideoFrameCallback may skip frames on a busy machine, so not one exact instant).
    # In the clip the seek lands in, wait 0.4 s past the landing point so that the analyser's
    # window (8192 samples) holds no sound from before the seek.
    captures = [{"from": c["start"] + (0.8 if i == target else 0.4) * c["duration"],
                 "to": c["start"] + (0.97 if i == target else 0.9) * c["duration"]}
                for i, c in enumerate(clips)]
    return {
        "startHeight": top,
        "switches": [{"at": 0.15 * duration, "height": low}, {"at": 0.35 * duration, "height": top},
                     {"at": 0.5 * duration, "height": low}],
        "seek": {"at": before["start"] + 0.5 * before["duration"] + 0.1,
                 "to": after["start"] + 0.5 * after["duration"]},
        "captures": captures,
        "seekClip": target,
    }


CANVAS = (90, 160)  # the page draws the video at 160x90


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """16x9 block means of BT.601 luma over a 160x90 picture (what the page computes from its canvas)."""
    luma = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    rows, cols = THUMB
    h, w = luma.shape
    return np.asarray(luma.reshape(rows, h // rows, cols, w // cols).mean(axis=(1, 3)))


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute luma difference of two thumbnails (0-255)."""
    return float(np.abs(a - b).mean())


def dhash_distance(a: np.ndarray, b: np.ndarray) -> int:
    """Hamming distance of the difference hashes (left-right luma gradient signs)."""
    return int(((a[:, 1:] > a[:, :-1]) != (b[:, 1:] > b[:, :-1])).sum())


@dataclass(frozen=True)
class SegmentMedia:
    thumbnails: list[np.ndarray]  # per video frame
    tone_hz: float  # dominant frequency of the segment's audio (0 when silent)
    rms: float


@functools.lru_cache(maxsize=512)
def decode_segment(pkg: Path, init: str, segment: str, audio: tuple[str, str] | None = None) -> SegmentMedia:
    """Thumbnails of a video segment's frames and the tone of its sound: its own audio track, or
    the (init, segment) of the demuxed audio rendition."""
    data = (pkg / init).read_bytes() + (pkg / segment).read_bytes()
    with av.open(io.BytesIO(data), format="mp4") as container:
        thumbs = [thumbnail(frame.reformat(width=CANVAS[1], height=CANVAS[0], format="rgb24").to_ndarray())
                  for frame in container.decode(video=0)]
    if audio is not None:
        data = (pkg / audio[0]).read_bytes() + (pkg / audio[1]).read_bytes()
    with av.open(io.BytesIO(data), format="mp4") as container:
        chunks = [frame.to_ndarray() for frame in container.decode(audio=0)]
        rate = container.streams.audio[0].codec_context.sample_rate
    samples = np.concatenate(chunks, axis=1)[0] if chunks else np.zeros(0, np.float32)
    rms = float(np.sqrt(np.mean(samples ** 2))) if samples.size else 0.0
    tone = 0.0
    if samples.size and rms > 1e-3:
        spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
        tone = float(np.argmax(spectrum[1:]) + 1) * rate / samples.size
    return SegmentMedia(thumbs, tone, rms)


def best_offset(pkg: Path, catalog: dict[str, Any], rendition: dict[str, Any], clip: dict[str, Any],
                seen: np.ndarray, offset: int, spread: int = 2) -> int:
    """Which frame of the clip, within `spread` of `offset`, the captured picture matches best."""
    candidates = range(max(0, offset - spread), min(clip["frames"], offset + spread + 1))
    return min(candidates, key=lambda k: distance(seen, clip_frame(pkg, catalog, rendition, clip, k)[0]))


def clip_frame(pkg: Path, catalog: dict[str, Any], rendition: dict[str, Any], clip: dict[str, Any],
               offset: int) -> tuple[np.ndarray, SegmentMedia]:
    """The thumbnail of frame `offset` of a catalog clip, and its segment's sound."""
    offset = max(0, min(offset, clip["frames"] - 1))
    per = catalog["segment_frames"]
    n = clip["segments"][offset // per]
    audio = None
    for sound in catalog.get("audio_renditions") or ():
        audio = (sound["init"], sound["segment_template"].format(index=n))
    media = decode_segment(pkg, rendition["init"], rendition["segment_template"].format(index=n), audio)
    return media.thumbnails[offset % per], media
