"""Rules on one media playlist, and on the playlists of one master taken together (pure): the
video variants (switchable anywhere) and the separate audio renditions (EXT-X-MEDIA) against them."""
from __future__ import annotations

import math
from collections.abc import Mapping

from conformance.playlist import Media
from conformance.report import Violation


def needed_version(media: Media) -> int:
    """The lowest EXT-X-VERSION the playlist's features need (RFC 8216 section 7)."""
    if any(s.map_uri is not None for s in media.segments) or media.values("EXT-X-MAP"):
        return 6
    if any(s.byterange is not None for s in media.segments):
        return 4
    if any("." in s.duration_text for s in media.segments):
        return 3
    return 1


def check_media(name: str, media: Media) -> list[Violation]:
    found: list[Violation] = []

    def bad(rule: str, detail: str, segment: str | None = None) -> None:
        found.append(Violation(rule, name, segment, detail))

    if not media.segments:
        bad("SEGMENTS", "no segments")
    targets = media.values("EXT-X-TARGETDURATION")
    if len(targets) != 1:
        bad("TARGETDURATION", f"EXT-X-TARGETDURATION appears {len(targets)} times, want once")
    elif not targets[0].isdigit():
        bad("TARGETDURATION", f"EXT-X-TARGETDURATION {targets[0]!r} is not a decimal integer")
    else:
        target = int(targets[0])
        for segment in media.segments:
            if math.isnan(segment.duration) or round(segment.duration) > target:
                bad("TARGETDURATION", f"EXTINF {segment.duration_text!r} rounds above the target "
                                      f"duration {target}", segment.uri)
    versions = media.values("EXT-X-VERSION")
    want = needed_version(media)
    if len(versions) != 1:
        bad("VERSION", f"EXT-X-VERSION appears {len(versions)} times, want once")
    elif versions[0] != str(want):
        bad("VERSION", f"EXT-X-VERSION {versions[0]}, the playlist's features need exactly {want}")
    if media.values("EXT-X-PLAYLIST-TYPE") != ["VOD"]:
        bad("VOD", f"EXT-X-PLAYLIST-TYPE {media.values('EXT-X-PLAYLIST-TYPE')}, want one VOD")
    if not media.endlist:
        bad("ENDLIST", "no EXT-X-ENDLIST")
    elif media.tags[-1][0] != "EXT-X-ENDLIST":
        bad("ENDLIST", "EXT-X-ENDLIST is not the last tag")
    previous_map: str | None = None
    for position, segment in enumerate(media.segments):
        if segment.map_uri is None:
            bad("MAP", "segment not covered by an EXT-X-MAP", segment.uri)
        elif position and segment.map_uri != previous_map and not segment.discontinuity:
            bad("MAP", "EXT-X-MAP changes without an EXT-X-DISCONTINUITY", segment.uri)
        previous_map = segment.map_uri
        if segment.byterange is not None and "@" not in segment.byterange:
            bad("BYTERANGE", f"EXT-X-BYTERANGE {segment.byterange!r} lacks @offset", segment.uri)
    return found


def check_variants_agree(variants: Mapping[str, Media]) -> list[Violation]:
    """Switchable anywhere: same TARGETDURATION, segment count, EXTINFs and DISCONTINUITY positions."""
    found: list[Violation] = []
    items = list(variants.items())
    if len(items) < 2:
        return found
    first_name, first = items[0]
    for name, media in items[1:]:
        if media.values("EXT-X-TARGETDURATION") != first.values("EXT-X-TARGETDURATION"):
            found.append(Violation("TARGETDURATION", name, None,
                                   f"target {media.values('EXT-X-TARGETDURATION')} differs from "
                                   f"{first_name}'s {first.values('EXT-X-TARGETDURATION')}"))
        if len(media.segments) != len(first.segments):
            found.append(Violation("ALIGNMENT", name, None, f"{len(media.segments)} segments, "
                                   f"{first_name} has {len(first.segments)}"))
        for position, (mine, theirs) in enumerate(zip(media.segments, first.segments)):
            if mine.discontinuity != theirs.discontinuity:
                found.append(Violation(
                    "DISCONTINUITY", name, mine.uri,
                    f"EXT-X-DISCONTINUITY {'present' if mine.discontinuity else 'absent'} at "
                    f"segment {position}, {'present' if theirs.discontinuity else 'absent'} in "
                    f"{first_name}"))
            if abs(mine.duration - theirs.duration) > 1e-6:
                found.append(Violation("ALIGNMENT", name, mine.uri,
                                       f"EXTINF {mine.duration_text} at segment {position}, "
                                       f"{first_name} has {theirs.duration_text}"))
    return found


def check_renditions_agree(video_name: str, video: Media, renditions: Mapping[str, Media]) -> list[Violation]:
    """Separate audio playlists against a video variant: the same TARGETDURATION and the same number
    of discontinuities; at the same positions too when the segment counts match (the audio cut on
    the video's grid). A music bed has its own segment count, so only the count is compared."""
    found: list[Violation] = []
    target = video.values("EXT-X-TARGETDURATION")
    cuts = [position for position, s in enumerate(video.segments) if s.discontinuity]
    for name, media in renditions.items():
        if media.values("EXT-X-TARGETDURATION") != target:
            found.append(Violation("TARGETDURATION", name, None,
                                   f"target {media.values('EXT-X-TARGETDURATION')} differs from "
                                   f"{video_name}'s {target}"))
        mine = [position for position, s in enumerate(media.segments) if s.discontinuity]
        if len(mine) != len(cuts):
            found.append(Violation("DISCONTINUITY", name, None,
                                   f"{len(mine)} EXT-X-DISCONTINUITY tags, {video_name} has {len(cuts)}"))
        elif len(media.segments) == len(video.segments) and mine != cuts:
            found.append(Violation("DISCONTINUITY", name, None,
                                   f"EXT-X-DISCONTINUITY before segments {mine}, {video_name} has them "
                                   f"before {cuts}"))
    return found
