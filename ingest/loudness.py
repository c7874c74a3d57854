"""Loudness: every clip to one EBU R128 integrated target, with short fades so cuts never click.

Each clip's conformed audio (48 kHz stereo float) is measured with FFmpeg's `ebur128` filter (through
PyAV's filter graph: integrated loudness per ITU-R BS.1770-4 with its gates, and the true peak),
then scaled by one linear gain to the target (default -16 LUFS), the way `loudnorm`'s linear mode
does. Clipping-safe: where that gain would lift the true peak above TRUE_PEAK_CEILING (-1 dBTP),
the clip goes through FFmpeg's look-ahead `alimiter` (latency-compensated, so not a sample moves in
time); quiet promo audio with sharp transients (water, clapping) needs this to reach the target.
A boost is capped at MAX_BOOST_DB so near-silence is not pumped up into noise (such a clip stays
below the target and the spread report shows it). Clips with no programme above the -70 LUFS
absolute gate (silence, no audio stream) are left alone. Finally a FADE_SECONDS raised-cosine fade
in and out at every clip edge.

Everything runs on in-memory samples; nothing here touches files.
"""
from __future__ import annotations

import gc
import math
from dataclasses import dataclass
from fractions import Fraction

import av
import av.filter
import numpy as np

DEFAULT_TARGET_LUFS = -16.0
TRUE_PEAK_CEILING = -1.0  # dBTP
MAX_BOOST_DB = 30.0
LIMITER_MARGIN_DB = 0.5  # sample-peak limiter this far under the ceiling covers inter-sample peaks
FADE_SECONDS = 0.005
_ABSOLUTE_GATE = -70.0
_CHUNK = 4800


@dataclass(frozen=True, slots=True)
class Loudness:
    integrated: float | None  # LUFS; None: no programme above the absolute gate
    true_peak: float  # dBTP (-inf for digital silence)


@dataclass(frozen=True, slots=True)
class Levelled:
    before: Loudness
    after: Loudness
    gain_db: float


def _run(samples: np.ndarray, filters: list[tuple[str, str]], rate: int
         ) -> tuple[list[np.ndarray], dict[str, str]]:
    """Push (2, n) float32 samples through a chain of FFmpeg audio filters.

    Returns the output chunks (fltp) and the last frame metadata any filter attached.
    """
    graph = av.filter.Graph()
    node = graph.add_abuffer(format="fltp", sample_rate=rate, layout="stereo",
                             time_base=Fraction(1, rate))
    for name, args in [*filters, ("aformat", "sample_fmts=fltp")]:
        following = graph.add(name, args)
        node.link_to(following)
        node = following
    sink = graph.add("abuffersink")
    node.link_to(sink)
    graph.configure()
    chunks: list[np.ndarray] = []
    metadata: dict[str, str] = {}

    def drain() -> None:
        nonlocal metadata
        while True:
            try:
                frame = graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            chunks.append(frame.to_ndarray())
            if frame.metadata:
                metadata = dict(frame.metadata)

    for start in range(0, samples.shape[1], _CHUNK):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + _CHUNK]),
                                           format="fltp", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        graph.push(frame)
        drain()
    graph.push(None)
    drain()
    return chunks, metadata


def measure(samples: np.ndarray, rate: int = 48000) -> Loudness:
    """Integrated loudness and true peak of float32 (2, n) stereo samples via FFmpeg's ebur128."""
    if samples.shape[1] == 0 or not np.any(samples):
        return Loudness(None, -math.inf)
    _, last = _run(samples, [("ebur128", "metadata=1:peak=true")], rate)
    integrated = float(last.get("lavfi.r128.I", "-inf"))
    peaks = [float(v) for k, v in last.items() if k.startswith("lavfi.r128.true_peaks_ch")]
    peak = max([*peaks, float(np.abs(samples).max())])  # metadata rounds tiny peaks to 0
    return Loudness(integrated if integrated > _ABSOLUTE_GATE else None,
                    20 * math.log10(peak) if peak > 0 else -math.inf)


def limit(samples: np.ndarray, ceiling_db: float, rate: int = 48000) -> np.ndarray:
    """Peaks held under ceiling_db by FFmpeg's look-ahead `alimiter` (latency compensated)."""
    threshold = 10 ** ((ceiling_db - LIMITER_MARGIN_DB) / 20)
    chunks, _ = _run(samples, [("alimiter", f"limit={threshold:.6f}:attack=5:release=50:"
                                            "level=0:latency=1")], rate)
    out = np.concatenate(chunks, axis=1).astype(np.float32, copy=False) if chunks \
        else np.zeros((2, 0), np.float32)
    fitted = np.zeros_like(samples)
    count = min(out.shape[1], samples.shape[1])
    fitted[:, :count] = out[:, :count]
    return fitted


def gain_for(loudness: Loudness, target: float) -> float:
    """dB to bring a clip to the target (at most MAX_BOOST_DB up); 0 for silence."""
    if loudness.integrated is None:
        return 0.0
    return min(target - loudness.integrated, MAX_BOOST_DB)


def fade_edges(samples: np.ndarray, rate: int = 48000, seconds: float = FADE_SECONDS) -> None:
    """Raised-cosine fade in at the start and out at the end, in place."""
    length = min(round(seconds * rate), samples.shape[1] // 2)
    if length <= 0:
        return
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, math.pi, length, endpoint=False))).astype(np.float32)
    samples[:, :length] *= ramp
    samples[:, samples.shape[1] - length:] *= ramp[::-1]


def level(samples: np.ndarray, target: float | None) -> tuple[np.ndarray, Levelled]:
    """The clip at the target loudness (None: gain untouched) with faded edges, and the figures.

    A gain that would push the true peak over TRUE_PEAK_CEILING goes through `limit`.
    """
    before = measure(samples)
    gain = gain_for(before, target) if target is not None else 0.0
    out = samples * np.float32(10 ** (gain / 20)) if gain else samples.copy()
    if gain > 0 and before.true_peak + gain > TRUE_PEAK_CEILING:
        out = limit(out, TRUE_PEAK_CEILING)
    fade_edges(out)
    after = measure(out)
    # PyAV filter graphs are reference cycles (graph <-> nodes) holding FFmpeg's native buffers
    # until the cycle collector runs: collect once per clip so memory does not grow with length.
    gc.collect()
    return out, Levelled(before, after, gain)


@dataclass(frozen=True, slots=True)
class Spread:
    """Loudness spread across clips (LU between the quietest and loudest measurable clip)."""

    before: float
    after: float
    clips: int  # clips with measurable programme

    def line(self, target: float | None) -> str:
        goal = f"target {target:g} LUFS" if target is not None else "no target"
        return (f"loudness ({goal}): spread across {self.clips} clips {self.before:.1f} LU "
                f"before, {self.after:.1f} LU after")


def spread(levels: list[Levelled]) -> Spread:
    before = [x.before.integrated for x in levels if x.before.integrated is not None]
    after = [x.after.integrated for x in levels if x.after.integrated is not None]

    def width(values: list[float]) -> float:
        return max(values) - min(values) if values else 0.0
    return Spread(width(before), width(after), len(before))
