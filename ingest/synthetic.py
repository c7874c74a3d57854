"""Small synthetic sources and a spec over them: for fast tests, and the demo when no footage exists.

Each title gets its own moving colour pattern and sine tone, and the set differs the way real promo
assets do: 640x360 and 480x360 (pillarboxed in 16:9), 30 and 25 fps, stereo, mono and no audio,
and an anamorphic 480x360 source with 4:3 pixels. Keyframes every 1.2 s never match a clip start.
`write_music` makes an audio-only file (a steady tone) for music bed tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import orjson

SECONDS = 7.0


@dataclass(frozen=True, slots=True)
class _Look:
    id: str
    name: str
    talent: tuple[str, ...]
    width: int
    height: int
    rate: Fraction
    sar: Fraction
    hue: tuple[int, int, int]
    audio_channels: int  # 0: no audio stream
    audio_rate: int
    tone_hz: float


_LOOKS = (
    _Look("alpha", "Alpha Protocol", ("Ada Quill", "Ben Ortiz"), 640, 360, Fraction(30), Fraction(1),
          (230, 80, 40), 2, 44100, 440.0),
    _Look("bravo", "Bravo Station", ("Cleo Marsh",), 480, 360, Fraction(25), Fraction(1),
          (40, 200, 90), 1, 48000, 660.0),
    _Look("charlie", "Charlie's Garden", ("Dev Anand", "Ada Quill"), 640, 360, Fraction(30),
          Fraction(1), (60, 90, 230), 0, 0, 0.0),
    _Look("delta", "Delta Nights", ("Eve Sato",), 480, 360, Fraction(30), Fraction(4, 3),
          (220, 200, 50), 2, 48000, 550.0),
)


def make_synthetic_sources(folder: Path, titles: int = 3) -> Path:
    """Write `titles` short sources and `synthetic-spec.json` into folder; return the spec path."""
    if titles < 1:
        raise ValueError("titles must be >= 1")
    folder.mkdir(parents=True, exist_ok=True)
    spec_titles = []
    for n in range(titles):
        look = _LOOKS[n % len(_LOOKS)]
        suffix = "" if n < len(_LOOKS) else f"-{n // len(_LOOKS) + 1}"
        file_name = f"{look.id}{suffix}.mp4"
        _write_source(folder / file_name, look, seed=n)
        clips: list[dict[str, object]] = [
            {"start": 0.5, "frames": 40},
            {"start": "00:00:01.000", "frames": 80},
            {"start": "00:00:01:15", "frames": 160},
        ]
        if n == 0:
            clips.append({"start": 4.0, "frames": 25, "id": f"{look.id}{suffix}-short"})
        spec_titles.append({"id": f"{look.id}{suffix}", "name": f"{look.name}{suffix}",
                            "talent": list(look.talent), "source": file_name, "clips": clips})
    spec = {"asset_id": "synthetic", "titles": spec_titles}
    path = folder / "synthetic-spec.json"
    path.write_bytes(orjson.dumps(spec, option=orjson.OPT_INDENT_2))
    return path


def _write_source(path: Path, look: _Look, seed: int) -> None:
    frames = int(SECONDS * look.rate)
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=look.rate)
        video.width, video.height, video.pix_fmt = look.width, look.height, "yuv420p"
        video.codec_context.sample_aspect_ratio = look.sar
        video.codec_context.options = {"preset": "ultrafast", "crf": "20",
                                       "g": str(int(1.2 * look.rate))}
        audio = None
        if look.audio_channels:
            audio = out.add_stream("aac", rate=look.audio_rate)
            audio.codec_context.layout = "mono" if look.audio_channels == 1 else "stereo"
        sent = 0
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(_picture(look, i, seed), format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
            if audio is not None:
                until = round((i + 1) / look.rate * look.audio_rate)
                for packet in audio.encode(_tone(look, sent, until - sent)):
                    out.mux(packet)
                sent = until
        for packet in video.encode(None):
            out.mux(packet)
        if audio is not None:
            for packet in audio.encode(None):
                out.mux(packet)


def _picture(look: _Look, i: int, seed: int) -> np.ndarray:
    """A diagonal colour gradient drifting with time, and a white square crossing the frame."""
    h, w = look.height, look.width
    y, x = np.ogrid[:h, :w]
    phase = (x + y + 6 * i + 37 * seed) % 256
    base = np.asarray(look.hue, np.float32)
    picture = (base[None, None, :] * (0.35 + 0.65 * phase[..., None] / 255.0)).astype(np.uint8)
    size = h // 6
    left = (i * 7) % (w - size)
    top = (h - size) // 2
    picture[top:top + size, left:left + size] = 235
    return picture


def _tone(look: _Look, first: int, count: int) -> av.AudioFrame:
    t = (np.arange(first, first + count) / look.audio_rate).astype(np.float64)
    wave = (0.3 * np.sin(2 * np.pi * look.tone_hz * t)).astype(np.float32)
    samples = np.repeat(wave[None, :], look.audio_channels, axis=0)
    layout = "mono" if look.audio_channels == 1 else "stereo"
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=layout)
    frame.sample_rate = look.audio_rate
    frame.pts = first
    return frame


def write_music(path: Path, seconds: float, channels: int = 2, rate: int = 44100,
                tone_hz: float = 330.0, amplitude: float = 0.2) -> Path:
    """An audio-only AAC file (.m4a): a steady sine, for music bed tests (mono when channels=1)."""
    layout = "mono" if channels == 1 else "stereo"
    total = round(seconds * rate)
    with av.open(str(path), "w", format="mp4") as out:
        audio = out.add_stream("aac", rate=rate)
        audio.codec_context.layout = layout
        for first in range(0, total, rate // 10):
            count = min(rate // 10, total - first)
            t = np.arange(first, first + count) / rate
            wave = (amplitude * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.repeat(wave[None, :], channels, axis=0),
                                               format="fltp", layout=layout)
            frame.sample_rate, frame.pts = rate, first
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)
    return path
