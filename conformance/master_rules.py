"""Rules on a master playlist, alone and against what its variants and audio renditions really
hold (pure). A variant with AUDIO="group" plays its video together with that group's audio, so its
CODECS and BANDWIDTH cover both."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

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
    found += _check_audio_media(master)
    return found


def audio_groups(master: Master) -> dict[str, list[dict[str, str]]]:
    """GROUP-ID -> its TYPE=AUDIO EXT-X-MEDIA attribute lists, in master order."""
    groups: dict[str, list[dict[str, str]]] = {}
    for media in master.media:
        if media.get("TYPE") == "AUDIO" and "GROUP-ID" in media:
            groups.setdefault(media["GROUP-ID"], []).append(media)
    return groups


def _check_audio_media(master: Master) -> list[Violation]:
    """Every audio EXT-X-MEDIA has GROUP-ID, NAME, LANGUAGE and CHANNELS; each group has exactly one
    DEFAULT=YES rendition and it is AUTOSELECT=YES; every AUDIO attribute names a group."""
    found: list[Violation] = []
    for media in master.media:
        if media.get("TYPE") == "AUDIO":
            missing = [k for k in ("GROUP-ID", "NAME", "LANGUAGE", "CHANNELS") if not media.get(k)]
            if missing:
                found.append(Violation("MEDIA", MASTER, None,
                                       f"audio EXT-X-MEDIA {media.get('NAME')!r} lacks {missing}"))
    groups = audio_groups(master)
    for group, members in groups.items():
        defaults = [m for m in members if m.get("DEFAULT") == "YES"]
        if len(defaults) != 1:
            found.append(Violation("MEDIA", MASTER, None, f"audio group {group!r} has {len(defaults)} "
                                                          "DEFAULT=YES renditions, want exactly one"))
        for media in defaults:
            if media.get("AUTOSELECT") != "YES":
                found.append(Violation("MEDIA", MASTER, None,
                                       f"audio group {group!r}: DEFAULT=YES rendition {media.get('NAME')!r} "
                                       f"has AUTOSELECT={media.get('AUTOSELECT')!r}, want YES"))
    for variant in master.variants:
        named = variant.attributes.get("AUDIO")
        if named is not None and named not in groups:
            found.append(Violation("AUDIO-GROUP", variant.uri, None,
                                   f"AUDIO={named!r} names no EXT-X-MEDIA TYPE=AUDIO group "
                                   f"(groups: {sorted(groups)})"))
    return found


def real_bandwidth(durations: Sequence[float], sizes: Sequence[int], target: int) -> tuple[int, int] | None:
    """(peak, average) bit/s of one playlist's segments (Apple's windowed peak); None if unknown."""
    if not durations or len(durations) != len(sizes) or target <= 0 \
            or not all(math.isfinite(d) and d > 0 for d in durations):
        return None  # unreadable EXTINFs are reported by check_media
    return bandwidth(durations, [8 * size for size in sizes], target)


def check_bandwidth(name: str, attributes: dict[str, str], durations: Sequence[float],
                    sizes: Sequence[int], target: int,
                    audio: tuple[int, int] = (0, 0)) -> list[Violation]:
    """Declared BANDWIDTH / AVERAGE-BANDWIDTH against the real segments (Apple's windowed peak),
    plus `audio` = (peak, average) of the variant's separate audio (its group's highest)."""
    real_video = real_bandwidth(durations, sizes, target)
    if real_video is None:
        return []
    peak, average = real_video[0] + audio[0], real_video[1] + audio[1]
    what = "the segments" if audio == (0, 0) else "video + audio segments"
    found: list[Violation] = []
    for rule, real in (("BANDWIDTH", peak), ("AVERAGE-BANDWIDTH", average)):
        text = attributes.get(rule, "")
        if not text.isdigit():
            continue  # reported by check_master
        declared = int(text)
        if abs(declared - real) > TOLERANCE * real:
            found.append(Violation(rule, name, None, f"declared {declared} bit/s, {what} give "
                                                     f"{real} bit/s ({declared / real - 1:+.1%})"))
    return found


def check_codecs(name: str, attributes: dict[str, str], actual: Sequence[str],
                 audio: Sequence[str] = ()) -> list[Violation]:
    """CODECS must name exactly the codecs of the init segment's sample entries, plus those of the
    variant's audio group's init segments (`audio`, each codec once)."""
    declared = sorted(c.strip().lower() for c in attributes.get("CODECS", "").split(",") if c.strip())
    extra = [c for c in dict.fromkeys(a.lower() for a in audio) if c not in {x.lower() for x in actual}]
    real = sorted([*(c.lower() for c in actual), *extra])
    if declared and declared != real:
        where = "the init segment has" if not audio else "the init segments (video + audio group) have"
        return [Violation("CODECS", name, None, f"declared {attributes.get('CODECS')!r}, {where} "
                                                f"{','.join([*actual, *extra])!r}")]
    return []


def check_channels(name: str, media: Mapping[str, str], channels: int) -> list[Violation]:
    """An audio EXT-X-MEDIA's CHANNELS (its first parameter) against the init's mp4a channel count."""
    declared = media.get("CHANNELS", "").split("/")[0]
    if channels and declared.isdigit() and int(declared) != channels:
        return [Violation("CHANNELS", name, None,
                          f"declared CHANNELS={media.get('CHANNELS')!r}, the init's mp4a has {channels}")]
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
