"""Rules on a master playlist, alone and against what its variants really hold (pure)."""
from __future__ import annotations

import re
from collections.abc import Sequence

from conformance.playlist import Master
from conformance.report import Violation
from manifests.render import bandwidth

MASTER = "master"
TOLERANCE = 0.10  # Apple: declared peak and average within 10% of the real ones
_RESOLUTION = re.compile(r"\d+x\d+")


def check_master(master: Master) -> list[Violation]:
    found: list[Violation] = []
    if not master.variants:
        found.append(Violation("STREAM-INF", MASTER, None, "no EXT-X-STREAM-INF variants"))
    if not master.independent_segments:
        found.append(Violation("INDEPENDENT-SEGMENTS", MASTER, None,
                               "no EXT-X-INDEPENDENT-SEGMENTS (every segment starts with an IDR)"))
    if master.tags.count("EXT-X-VERSION") > 1:
        found.append(Violation("VERSION", MASTER, None, "EXT-X-VERSION appears more than once"))
    for variant in master.variants:
        attributes = variant.attributes
        for name in ("BANDWIDTH", "AVERAGE-BANDWIDTH"):
            if not attributes.get(name, "").isdigit():
                found.append(Violation(name, variant.uri, None,
                                       f"{name} missing or not an integer: {attributes.get(name)!r}"))
        if not attributes.get("CODECS"):
            found.append(Violation("CODECS", variant.uri, None, "CODECS missing"))
        if not _RESOLUTION.fullmatch(attributes.get("RESOLUTION", "")):
            found.append(Violation("RESOLUTION", variant.uri, None,
                                   f"RESOLUTION missing or malformed: {attributes.get('RESOLUTION')!r}"))
        try:
            rate = float(attributes.get("FRAME-RATE", ""))
        except ValueError:
            rate = 0.0
        if not rate > 0:
            found.append(Violation("FRAME-RATE", variant.uri, None,
                                   f"FRAME-RATE missing or malformed: {attributes.get('FRAME-RATE')!r}"))
    for media in master.media:
        if media.get("TYPE") == "AUDIO":
            missing = [k for k in ("GROUP-ID", "NAME", "LANGUAGE", "CHANNELS") if k not in media]
            if missing:
                found.append(Violation("MEDIA", MASTER, None, f"audio EXT-X-MEDIA lacks {missing}"))
    return found


def check_bandwidth(name: str, attributes: dict[str, str], durations: Sequence[float],
                    sizes: Sequence[int], target: int) -> list[Violation]:
    """Declared BANDWIDTH / AVERAGE-BANDWIDTH against the real segments (Apple's windowed peak)."""
    if not durations or len(durations) != len(sizes) or target <= 0:
        return []
    peak, average = bandwidth(durations, [8 * size for size in sizes], target)
    found: list[Violation] = []
    for rule, real in (("BANDWIDTH", peak), ("AVERAGE-BANDWIDTH", average)):
        text = attributes.get(rule, "")
        if not text.isdigit():
            continue  # reported by check_master
        declared = int(text)
        if abs(declared - real) > TOLERANCE * real:
            found.append(Violation(rule, name, None, f"declared {declared} bit/s, the segments give "
                                                     f"{real} bit/s ({declared / real - 1:+.1%})"))
    return found


def check_codecs(name: str, attributes: dict[str, str], actual: Sequence[str]) -> list[Violation]:
    """CODECS must name exactly the codecs of the init segment's sample entries."""
    declared = sorted(c.strip().lower() for c in attributes.get("CODECS", "").split(",") if c.strip())
    real = sorted(c.lower() for c in actual)
    if declared and declared != real:
        return [Violation("CODECS", name, None,
                          f"declared {attributes.get('CODECS')!r}, "
                          f"the init segment has {','.join(actual)!r}")]
    return []


def check_resolution(name: str, attributes: dict[str, str], width: int, height: int) -> list[Violation]:
    declared = attributes.get("RESOLUTION", "")
    if _RESOLUTION.fullmatch(declared) and declared != f"{width}x{height}":
        return [Violation("RESOLUTION", name, None,
                          f"declared {declared}, the init segment's sample entry is {width}x{height}")]
    return []


def check_frame_rate(name: str, attributes: dict[str, str], real: float) -> list[Violation]:
    try:
        declared = float(attributes.get("FRAME-RATE", ""))
    except ValueError:
        return []
    if real > 0 and abs(declared - real) > 0.01:
        return [Violation("FRAME-RATE", name, None,
                          f"declared {declared}, the video samples run at {real:.3f} fps")]
    return []
