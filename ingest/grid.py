"""The AAC frame grid (docs/catalog.md, schema 2): which 1024-sample frames each segment holds.

Audio is one continuous 48 kHz stream from sample 0, cut into AAC frames of AAC_FRAME samples;
frame j starts at p_j = j * 1024 / 48000 s. A segment spanning [t_n, t_{n+1}) holds exactly the
frames with t_n <= p_j < t_{n+1}, so its first frame starts within one frame after t_n and its
`tfdt` is that frame's sample index. The same rule cuts the Mega Asset's audio rendition (t_n =
video segment starts) and every music bed (t_k = k * segment length). Pure arithmetic, exact.
"""
from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

AUDIO_RATE = 48000
AAC_FRAME = 1024


def first_frame_at(seconds: Fraction) -> int:
    """Index of the first AAC frame starting at or after `seconds`."""
    return -(-(seconds * AUDIO_RATE) // AAC_FRAME)  # ceil, exact on Fractions


def spans(starts: Sequence[Fraction], end: Fraction) -> list[tuple[int, int]]:
    """[first frame, stop frame) of each segment starting at starts[n], the last ending at `end`."""
    edges = [first_frame_at(t) for t in (*starts, end)]
    return list(zip(edges[:-1], edges[1:]))


def mega_asset_spans(start_frames: Sequence[int], total_frames: int,
                     frame_rate: Fraction) -> list[tuple[int, int]]:
    """The audio rendition's frames per video segment (segment n starts at start_frames[n])."""
    return spans([Fraction(f) / frame_rate for f in start_frames],
                 Fraction(total_frames) / frame_rate)


def bed_spans(samples: int, segment_seconds: Fraction) -> list[tuple[int, int]]:
    """A bed's WHOLE segments k = 0..K-1 (k*S <= p_j < (k+1)*S) whose frames are all complete."""
    out: list[tuple[int, int]] = []
    k = 0
    while True:
        first, stop = first_frame_at(k * segment_seconds), first_frame_at((k + 1) * segment_seconds)
        if stop * AAC_FRAME > samples or stop == first:
            return out
        out.append((first, stop))
        k += 1
