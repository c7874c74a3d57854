"""The rendition ladder and the x264 settings a packager would give each rung.

Default ladder: the heights of LADDER_HEIGHTS (1080/720/540/360/240) not above the best source, at
most `max_renditions` of them (2 unless the spec asks for more: encode time grows with every rung),
never fewer than two (small sources get the bottom two). Each rung gets a 16:9 canvas, a VBV peak
rate (buffer = 2x), an H.264 profile (High from 540 up, Main for 360, Constrained Baseline below,
for the oldest decoders) and the lowest H.264 level (Annex A, table A-1) that holds its frame size,
macroblock rate and peak bitrate, never below the usual floor for its height (3.1 for 720p, ...).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

LADDER_HEIGHTS = (1080, 720, 540, 360, 240)
MAX_DEFAULT_RENDITIONS = 2
# Peak video bitrate (kbit/s) per height; the VBV buffer is twice that.
MAXRATE_KBPS = {1080: 6000, 720: 4000, 540: 2500, 360: 1000, 240: 500}
PROFILES = ("high", "main", "baseline")
# Lowest level a packager would label each height with (players' capability tables use these).
_LEVEL_FLOOR = {1080: 40, 720: 31, 540: 31, 360: 30, 240: 30}
# level (x10): (max macroblocks per second, max frame size in macroblocks, max kbit/s for Main)
_LEVELS = (
    (10, 1485, 99, 64), (11, 3000, 396, 192), (12, 6000, 396, 384), (13, 11880, 396, 768),
    (20, 11880, 396, 2000), (21, 19800, 792, 4000), (22, 20250, 1620, 4000),
    (30, 40500, 1620, 10000), (31, 108000, 3600, 14000), (32, 216000, 5120, 20000),
    (40, 245760, 8192, 20000), (41, 245760, 8192, 50000), (42, 522240, 8704, 50000),
    (50, 589824, 22080, 135000), (51, 983040, 36864, 240000), (52, 2073600, 36864, 240000),
)


@dataclass(frozen=True, slots=True)
class Rendition:
    id: str
    width: int
    height: int
    maxrate_kbps: int
    profile: str = "high"  # x264 profile: high | main | baseline
    level: int = 31  # H.264 level x10 (31 = 3.1)

    @property
    def bufsize_kbps(self) -> int:
        return 2 * self.maxrate_kbps

    @property
    def level_text(self) -> str:
        return f"{self.level // 10}.{self.level % 10}"


def even(value: float | Fraction) -> int:
    return max(2, 2 * round(value / 2))


def default_profile(height: int) -> str:
    return "high" if height >= 540 else "main" if height >= 300 else "baseline"


def h264_level(width: int, height: int, frame_rate: Fraction, maxrate_kbps: int, profile: str,
               floor: int = 0) -> int:
    """The lowest level >= floor whose limits hold this picture size, rate and peak bitrate."""
    mbs = -(-width // 16) * -(-height // 16)
    per_second = mbs * frame_rate
    factor = Fraction(5, 4) if profile == "high" else Fraction(1)  # High may go 1.25x Main's rate
    for level, max_mbps, max_fs, max_br in _LEVELS:
        if level >= floor and mbs <= max_fs and per_second <= max_mbps \
                and maxrate_kbps <= max_br * factor:
            return level
    return _LEVELS[-1][0]


def rendition_for(height: int, rid: str | None = None, maxrate_kbps: int | None = None, *,
                  frame_rate: Fraction = Fraction(30), profile: str | None = None,
                  level: int | None = None) -> Rendition:
    """A 16:9 rendition of the given height; profile and level default per height and rate."""
    if maxrate_kbps is None:
        maxrate_kbps = MAXRATE_KBPS.get(height) or max(200, round(2500 * (height / 540) ** 2))
    width = even(height * 16 / 9)
    profile = profile or default_profile(height)
    if level is None:
        floor = _LEVEL_FLOOR.get(height, 0)
        level = h264_level(width, height, frame_rate, maxrate_kbps, profile, floor)
    return Rendition(rid or f"{height}p", width, height, maxrate_kbps, profile, level)


def default_ladder(best_source_height: int, frame_rate: Fraction = Fraction(30),
                   max_renditions: int = MAX_DEFAULT_RENDITIONS) -> tuple[Rendition, ...]:
    """The top heights of LADDER_HEIGHTS not above the best source (always at least two)."""
    fitting = [h for h in LADDER_HEIGHTS if h <= best_source_height]
    if len(fitting) < 2:
        fitting = list(LADDER_HEIGHTS[-2:])
    return tuple(rendition_for(h, frame_rate=frame_rate) for h in fitting[:max_renditions])
