"""check_url: fetch a master, its separate audio renditions (EXT-X-MEDIA TYPE=AUDIO with a URI,
e.g. a demuxed audio rendition or a music bed), its variants, every init and segment, and run every
rule on them.

Every segment is read at least up to its first sample (a Range request, which also checks 206 and
gives the object's size); `segments` of them per playlist (all by default) are fetched whole and
decoded with PyAV as a player would after a switch or seek (video: a key frame first; audio-only:
every AAC frame decodes). Audio renditions are checked first, so each variant's CODECS and
BANDWIDTH can be judged as video + its audio group; then the playlists are compared: variants
switchable anywhere, audio renditions with the variants' TARGETDURATION and discontinuities, and
AV-SYNC between each audio rendition and the first variant.
"""
from __future__ import annotations

import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from conformance import http_rules, master_rules, media_rules, segment_rules
from conformance.decode import check_decodes
from conformance.fetch import Fetcher
from conformance.fmp4 import Fmp4Error, InitInfo, SegmentInfo, moof_end, parse_init, parse_segment
from conformance.playlist import Media, PlaylistError, is_master, parse_master, parse_media
from conformance.report import Report, Violation

HEAD_BYTES = 8192  # enough for a 40-frame segment's moof and the first NAL units
_TOTAL = re.compile(r"bytes \d+-\d+/(\d+)")


class CheckError(Exception):
    """The check could not run at all (the master is not a playlist, the server is unreachable)."""


@dataclass(frozen=True, slots=True)
class _Seen:
    info: SegmentInfo | None
    size: int | None
    violations: list[Violation]
    decoded: bool


@dataclass(slots=True)
class _Checked:
    """One media playlist (variant or audio rendition) after its own rules ran."""
    name: str
    media: Media
    init: InitInfo | None = None  # the first EXT-X-MAP's
    inits: list[InitInfo] = field(default_factory=list)  # every EXT-X-MAP's that loaded
    complete: bool = True  # every EXT-X-MAP loaded and parsed
    infos: list[SegmentInfo | None] = field(default_factory=list)
    sizes: list[int | None] = field(default_factory=list)

    def bandwidth(self) -> tuple[int, int] | None:
        """(peak, average) bit/s from the real segment sizes; None when a size is unknown."""
        targets = self.media.values("EXT-X-TARGETDURATION")
        if not self.sizes or any(size is None for size in self.sizes) or len(targets) != 1 \
                or not targets[0].isdigit():
            return None
        return master_rules.real_bandwidth([s.duration for s in self.media.segments],
                                           [size for size in self.sizes if size is not None],
                                           int(targets[0]))


def sample(count: int, wanted: int | None) -> set[int]:
    """Which of `count` segments to fetch whole: all, or `wanted` spread evenly (first and last in)."""
    if wanted is None or wanted >= count:
        return set(range(count))
    if wanted <= 0:
        return set()
    if wanted == 1:
        return {0}
    return {round(i * (count - 1) / (wanted - 1)) for i in range(wanted)}


def check_url(url: str, segments: int | None = None, fetcher: Fetcher | None = None,
              decode: bool = True) -> Report:
    fetcher = fetcher or Fetcher()
    before = fetcher.requests
    report = Report(url)
    found = report.violations
    answer = fetcher.get(url)
    found += http_rules.check_answer("master", "master", None, answer)
    if answer.status != 200:
        report.requests = fetcher.requests - before
        return report
    text = answer.body.decode("utf-8", "replace")
    if not is_master(text):
        raise CheckError(f"{url} is not a master playlist (no EXT-X-STREAM-INF)")
    try:
        master = parse_master(text)
    except PlaylistError as exc:
        raise CheckError(f"{url}: {exc}") from None
    found += master_rules.check_master(master)
    found += http_rules.check_preflight("master", fetcher.preflight(url))

    # Separate audio first: the variants' CODECS and BANDWIDTH include their group's audio.
    named = master_rules.audio_groups(master)
    groups: dict[str, list[_Checked]] = {}
    # AUDIO values whose audio is not known (a rendition did not load, or the group does not exist,
    # which check_master reports): no fair CODECS/BANDWIDTH figure for their variants
    unknown = {v.attributes["AUDIO"] for v in master.variants
               if "AUDIO" in v.attributes and v.attributes["AUDIO"] not in named}
    unknown.discard("")
    audio: list[_Checked] = []
    for group, members in named.items():
        for rendition in members:
            uri = rendition.get("URI")
            if not uri:
                continue  # audio carried in the variants themselves
            checked = _check_playlist(fetcher, report, uri, urllib.parse.urljoin(url, uri), segments,
                                      decode, first=not audio)
            if checked is None or not checked.complete:
                unknown.add(group)
            if checked is None:
                continue
            report.renditions += 1
            if checked.init is not None:
                found += master_rules.check_channels(uri, rendition, checked.init.channels)
            groups.setdefault(group, []).append(checked)
            audio.append(checked)

    variants: list[_Checked] = []
    for number, variant in enumerate(master.variants):
        checked = _check_playlist(fetcher, report, variant.uri, urllib.parse.urljoin(url, variant.uri),
                                  segments, decode, first=number == 0)
        if checked is None:
            continue
        report.variants += 1
        variants.append(checked)
        group = variant.attributes.get("AUDIO", "")
        found += _check_variant(checked, variant.attributes,
                                None if group in unknown else groups.get(group, []))

    found += media_rules.check_variants_agree({v.name: v.media for v in variants})
    if variants:
        video = variants[0]
        found += media_rules.check_renditions_agree(video.name, video.media, {a.name: a.media for a in audio})
        if video.init is not None:
            for playlist in audio:
                if playlist.init is not None and playlist.init.video is None:
                    found += segment_rules.check_av_sync(playlist.name, playlist.media, playlist.init,
                                                         playlist.infos, video.media, video.init,
                                                         video.infos)
    report.requests = fetcher.requests - before
    return report


def _named(violation: Violation, name: str) -> Violation:
    return Violation(violation.rule, name, violation.segment, violation.detail)


def _codecs(inits: list[InitInfo]) -> list[str]:
    return list(dict.fromkeys(c for info in inits for c in info.codecs))


def _check_variant(checked: _Checked, attributes: dict[str, str],
                   group: list[_Checked] | None) -> list[Violation]:
    """STREAM-INF attributes against the variant's inits and segments plus its audio group's
    (`group`: the group's renditions with a URI, all loaded; empty: no separate audio; None: the
    group's audio is unknown, so CODECS and BANDWIDTH are not judged)."""
    found: list[Violation] = []
    name, init = checked.name, checked.init
    if init is not None:
        if group is not None:
            found += master_rules.check_codecs(name, attributes, _codecs(checked.inits),
                                               _codecs([i for member in group for i in member.inits]))
        for info in checked.inits:
            found += master_rules.check_resolution(name, attributes, info.width, info.height)
        found += master_rules.check_frame_rate(name, attributes,
                                               segment_rules.frame_rate(init, checked.infos))
    if group is None:
        return found
    audio = (0, 0)
    if group:
        figures = [member.bandwidth() for member in group]
        known = [f for f in figures if f is not None]
        if len(known) != len(figures):
            return found  # an audio size is unknown (reported): no fair BANDWIDTH figure
        audio = (max(f[0] for f in known), max(f[1] for f in known))
    if checked.sizes and all(size is not None for size in checked.sizes):
        targets = checked.media.values("EXT-X-TARGETDURATION")
        if len(targets) == 1 and targets[0].isdigit():
            found += master_rules.check_bandwidth(name, attributes,
                                                  [s.duration for s in checked.media.segments],
                                                  [size for size in checked.sizes if size is not None],
                                                  int(targets[0]), audio)
    return found


def _check_playlist(fetcher: Fetcher, report: Report, name: str, playlist_url: str, wanted: int | None,
                    decode: bool, first: bool) -> _Checked | None:
    """Fetch one media playlist and check it, its inits and its segments; None if it did not load."""
    found = report.violations
    answer = fetcher.get(playlist_url, cache=True)
    found += http_rules.check_answer("variant", name, None, answer)
    if answer.status != 200:
        return None
    if first:
        found += [_named(v, name) for v in http_rules.check_preflight(name, fetcher.preflight(playlist_url))]
    try:
        media = parse_media(answer.body.decode("utf-8", "replace"))
    except PlaylistError as exc:
        found.append(Violation("PLAYLIST", name, None, str(exc)))
        return None
    report.segments += len(media.segments)
    found += media_rules.check_media(name, media)
    checked = _Checked(name, media)
    found += _check_media_files(fetcher, report, checked, playlist_url, wanted, decode, first)
    return checked


def _check_media_files(fetcher: Fetcher, report: Report, checked: _Checked, playlist_url: str,
                       wanted: int | None, decode: bool, first: bool) -> list[Violation]:
    found: list[Violation] = []
    name, media = checked.name, checked.media
    maps = {s.map_uri for s in media.segments if s.map_uri is not None}
    inits: dict[str, tuple[bytes, InitInfo]] = {}
    for map_uri in sorted(maps):
        init_url = urllib.parse.urljoin(playlist_url, map_uri)
        answer = fetcher.get(init_url, cache=True)
        found += http_rules.check_answer("media", name, map_uri, answer)
        if answer.status != 200:
            continue
        ranged = fetcher.get_range(init_url, 0, 99, cache=True)
        found += http_rules.check_range(name, map_uri, ranged, 0, 99, len(answer.body))
        try:
            info = parse_init(answer.body)
        except Fmp4Error as exc:
            found.append(Violation("INIT", name, map_uri, str(exc)))
            continue
        inits[map_uri] = (answer.body, info)
    checked.complete = len(inits) == len(maps)
    checked.inits = [info for _, info in inits.values()]
    first_map = next((s.map_uri for s in media.segments if s.map_uri in inits), None)
    if first_map is not None:
        checked.init = inits[first_map][1]
    whole = sample(len(media.segments), wanted)

    def one(position: int) -> _Seen:
        segment = media.segments[position]
        entry = inits.get(segment.map_uri or "")
        if entry is None:
            return _Seen(None, None, [], False)
        return _check_segment(fetcher, name, urllib.parse.urljoin(playlist_url, segment.uri),
                              segment.uri, segment.duration, entry, position in whole, decode)

    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = list(pool.map(one, range(len(media.segments))))
    for item in seen:
        found += item.violations
        report.segments_decoded += item.decoded
    if first and media.segments:
        segment_url = urllib.parse.urljoin(playlist_url, media.segments[0].uri)
        found += [_named(v, name) for v in http_rules.check_preflight(
            name, fetcher.preflight(segment_url))]
    checked.infos = [item.info for item in seen]
    checked.sizes = [item.size for item in seen]
    if checked.init is not None:
        found += segment_rules.check_cuts(name, media, checked.init, checked.infos)
        if all(info is not None for info in checked.infos):
            found += segment_rules.check_runs(name, media, checked.init, checked.infos)
    return found


def _check_segment(fetcher: Fetcher, name: str, url: str, uri: str, extinf: float,
                   init: tuple[bytes, InitInfo], whole: bool, decode: bool) -> _Seen:
    found: list[Violation] = []
    init_bytes, init_info = init
    size: int | None = None
    if whole:
        answer = fetcher.get(url, cache=True)
        found += http_rules.check_answer("media", name, uri, answer)
        data = answer.body
        size = len(data) if answer.status == 200 else None
    else:
        answer = fetcher.get_range(url, 0, HEAD_BYTES - 1, cache=True)
        found += http_rules.check_answer("media", name, uri, answer, expect_status=206)
        found += http_rules.check_range(name, uri, answer, 0, HEAD_BYTES - 1, None)
        match = _TOTAL.fullmatch(answer.headers.get("content-range", ""))
        size = int(match.group(1)) if match else None
        data = answer.body
        end = moof_end(data)
        if answer.status == 206 and end is not None and end + 64 > len(data) and size and len(data) < size:
            data = fetcher.get_range(url, 0, min(end + 4096, size) - 1, cache=True).body
    if answer.status not in (200, 206):
        return _Seen(None, None, found, False)
    try:
        info = parse_segment(data, init_info)
    except Fmp4Error as exc:
        found.append(Violation("SEGMENT", name, uri, str(exc)))
        return _Seen(None, size, found, False)
    found += segment_rules.check_samples(name, uri, init_info, info)
    found += segment_rules.check_extinf(name, uri, extinf, init_info, info)
    decoded = whole and decode and answer.status == 200
    if decoded:
        found += check_decodes(name, uri, init_bytes, data)
    return _Seen(info, size, found, decoded)
