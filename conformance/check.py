"""check_url: fetch a master, its variants, inits and segments, and run every rule on them.

Every segment is read at least up to its first sample (a Range request, which also checks 206 and
gives the object's size); `segments` of them per variant (all by default) are fetched whole and
decoded with PyAV as a player would after a switch or seek.
"""
from __future__ import annotations

import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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

    medias: dict[str, Media] = {}
    for number, variant in enumerate(master.variants):
        variant_url = urllib.parse.urljoin(url, variant.uri)
        name = variant.uri
        answer = fetcher.get(variant_url, cache=True)
        found += http_rules.check_answer("variant", name, None, answer)
        if answer.status != 200:
            continue
        if number == 0:
            preflight = fetcher.preflight(variant_url)
            found += [_named(v, name) for v in http_rules.check_preflight(name, preflight)]
        try:
            media = parse_media(answer.body.decode("utf-8", "replace"))
        except PlaylistError as exc:
            found.append(Violation("PLAYLIST", name, None, str(exc)))
            continue
        medias[name] = media
        report.variants += 1
        report.segments += len(media.segments)
        found += media_rules.check_media(name, media)
        found += _check_variant(fetcher, report, name, variant_url, variant.attributes, media,
                                segments, decode, first=number == 0)
    found += media_rules.check_variants_agree(medias)
    report.requests = fetcher.requests - before
    return report


def _named(violation: Violation, name: str) -> Violation:
    return Violation(violation.rule, name, violation.segment, violation.detail)


def _check_variant(fetcher: Fetcher, report: Report, name: str, variant_url: str,
                   attributes: dict[str, str], media: Media, wanted: int | None, decode: bool,
                   first: bool) -> list[Violation]:
    found: list[Violation] = []
    maps = {s.map_uri for s in media.segments if s.map_uri is not None}
    inits: dict[str, tuple[bytes, InitInfo]] = {}
    for map_uri in sorted(maps):
        init_url = urllib.parse.urljoin(variant_url, map_uri)
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
        found += master_rules.check_codecs(name, attributes, info.codecs)
        found += master_rules.check_resolution(name, attributes, info.width, info.height)
    whole = sample(len(media.segments), wanted)

    def one(position: int) -> _Seen:
        segment = media.segments[position]
        entry = inits.get(segment.map_uri or "")
        if entry is None:
            return _Seen(None, None, [], False)
        return _check_segment(fetcher, name, urllib.parse.urljoin(variant_url, segment.uri),
                              segment.uri, segment.duration, entry, position in whole, decode)

    with ThreadPoolExecutor(max_workers=4) as pool:
        seen = list(pool.map(one, range(len(media.segments))))
    for item in seen:
        found += item.violations
        report.segments_decoded += item.decoded
    if first and media.segments:
        segment_url = urllib.parse.urljoin(variant_url, media.segments[0].uri)
        found += [_named(v, name) for v in http_rules.check_preflight(
            name, fetcher.preflight(segment_url))]
    infos = [item.info for item in seen]
    init_info = next(iter(inits.values()))[1] if inits else None
    if init_info is not None:
        found += segment_rules.check_cuts(name, media, init_info, infos)
        found += master_rules.check_frame_rate(name, attributes, segment_rules.frame_rate(init_info, infos))
    sizes = [item.size for item in seen]
    targets = media.values("EXT-X-TARGETDURATION")
    if all(size is not None for size in sizes) and len(targets) == 1 and targets[0].isdigit():
        found += master_rules.check_bandwidth(name, attributes, [s.duration for s in media.segments],
                                              [size for size in sizes if size is not None],
                                              int(targets[0]))
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
    found += segment_rules.check_keyframe(name, uri, init_info, info)
    found += segment_rules.check_extinf(name, uri, extinf, init_info, info)
    decoded = whole and decode and answer.status == 200
    if decoded:
        found += check_decodes(name, uri, init_bytes, data)
    return _Seen(info, size, found, decoded)
