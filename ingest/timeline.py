"""Editorial timelines through OpenTimelineIO: a CMX 3600 EDL or a native `.otio` becomes a Spec.

Each clip on the first video track is one Mega Asset clip, in timeline order (gaps are skipped;
transitions are refused: a Mega Asset is hard cuts only). The catalog's title order (the default
ranking) is the order of each title's first appearance.

- **Title**: the clip's `metadata["sizzle"]` = `{"title": id, "name": text, "talent": [..],
  "clip_id": optional}`, else the naming convention for the clip name (in an EDL, the
  `* FROM CLIP NAME:` comment): `title_id|Title Name|talent1;talent2` (talent optional).
- **Source file**: the media map (`{"REEL or file name": "path/to/file.mp4"}`, relative paths from
  the map's folder) looked up by EDL reel name, an EDL `* SOURCE FILE:` comment, then by the
  media reference's `target_url` (whole,
  then its file name); an `.otio` ExternalReference not in the map is used as is (relative to the
  timeline's folder). One title, one source file (as in the JSON spec).
- **Time**: source in-points are frames at the timeline rate (an EDL carries no rate: `FCM: DROP
  FRAME` or `;` timecodes mean 30000/1001, else the wrapper's `timeline_rate`, default 30) and
  become exact seconds from the source's first frame; messages quote them as SMPTE timecode
  (drop-frame where the EDL was). Clip lengths must be whole frames at the Mega Asset rate (the
  timeline rate unless the wrapper sets `frame_rate`).

A JSON wrapper spec carries the rest: `{"asset_id": "promo", "timeline": "cut.edl", "media": {...}
| "media.json", "timeline_rate": "30000/1001", + any optional top-level spec setting}`.
"""
from __future__ import annotations

import dataclasses
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from ingest.errors import IngestError
from ingest.spec import Spec, Start, parse_frame_rate, parse_spec, read_json

TIMELINE_SUFFIXES = (".edl", ".otio")
_WRAPPER_KEYS = {"asset_id", "timeline", "media", "timeline_rate"}
_PASSED_ON = {"frame_rate", "segment_frames", "renditions", "max_renditions", "loudness_lufs",
              "language", "music"}
_DF_TIMECODE = re.compile(r"\b\d\d:\d\d:\d\d[;.]\d\d\b")
_NTSC = (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001))


@dataclasses.dataclass(frozen=True, slots=True)
class _Event:
    where: str  # "cut.edl event 2 'flower|Bloom|Priya'"; checks add "(start <timecode>)"
    title: str
    name: str
    talent: list[str]
    clip_id: str | None
    source: Path
    start: Start
    frames: int


def is_timeline(path: Path) -> bool:
    return path.suffix.lower() in TIMELINE_SUFFIXES


def load_media_map(path: Path) -> dict[str, str]:
    """A media map file: {reel or file name: path}; relative paths made absolute from its folder."""
    raw = read_json(path, "media map")
    return _media(raw, path.parent.resolve(), f"media map {path.name}")


def _media(raw: Any, folder: Path, where: str) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) and v
                                            for k, v in raw.items()):
        raise IngestError(f"{where}: want a JSON object of reel or file name -> file path")
    return {k: str(folder / Path(v).expanduser()) for k, v in raw.items()}


def load_wrapper(raw: dict[str, Any], path: Path, media_map: dict[str, str] | None) -> Spec:
    """A JSON spec with a "timeline" key (see the module docstring)."""
    where = path.name
    unknown = sorted(set(raw) - _WRAPPER_KEYS - _PASSED_ON)
    if unknown:
        raise IngestError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    timeline = raw["timeline"]
    if not isinstance(timeline, str) or not timeline:
        raise IngestError(f"{where}: 'timeline' must be a path to an .edl or .otio file")
    media = dict(media_map or {})
    if "media" in raw:
        value = raw["media"]
        if isinstance(value, str):
            media = {**load_media_map(path.parent / value), **media}
        else:
            media = {**_media(value, path.parent, f"{where}: media"), **media}
    rate = parse_frame_rate(raw["timeline_rate"], f"{where}: timeline_rate") \
        if "timeline_rate" in raw else None
    settings = {k: v for k, v in raw.items() if k in _PASSED_ON}
    if isinstance(settings.get("music"), list):  # bed files are relative to the wrapper's folder
        settings["music"] = [dict(b, source=str(path.parent / Path(b["source"]).expanduser()))
                             if isinstance(b, dict) and isinstance(b.get("source"), str)
                             and b["source"] else b for b in settings["music"]]
    return load_timeline(path.parent / timeline, media, asset_id=raw.get("asset_id"),
                         rate=rate, settings=settings)


def load_timeline(path: Path, media_map: dict[str, str] | None = None, *,
                  asset_id: Any = None, rate: Fraction | None = None,
                  settings: dict[str, Any] | None = None) -> Spec:
    """Read an EDL or .otio with OpenTimelineIO and lay its clips out as a Spec."""
    import opentimelineio as otio

    path = path.resolve() if path.exists() else path
    if not path.is_file():
        raise IngestError(f"timeline not found: {path}")
    drop_frame = False
    kwargs: dict[str, Any] = {}
    if path.suffix.lower() == ".edl":
        text = path.read_text(errors="replace")
        upper = text.upper()
        drop_frame = ("DROP FRAME" in upper and "NON-DROP" not in upper) \
            or _DF_TIMECODE.search(text) is not None
        rate = rate or (Fraction(30000, 1001) if drop_frame else Fraction(30))
        kwargs["rate"] = float(rate)
    try:
        timeline = otio.adapters.read_from_file(str(path), **kwargs)
    except Exception as exc:  # noqa: BLE001 - OTIO adapters raise anything; one line for the user
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise IngestError(f"cannot read timeline {path.name}: {reason}") from None
    if isinstance(timeline, otio.schema.SerializableCollection):
        found = list(timeline.find_children(descended_from_type=otio.schema.Timeline))
        timeline = found[0] if found else None
    if not isinstance(timeline, otio.schema.Timeline):
        raise IngestError(f"{path.name}: not a timeline")
    events = _events(timeline, path, media_map or {}, rate, drop_frame)
    return _spec(path, timeline, events, rate or events[0][1], asset_id, settings or {})


def _snap(value: float) -> Fraction:
    """An OTIO float rate as an exact fraction: 29.97 -> 30000/1001."""
    for ntsc in _NTSC:
        if abs(value - float(ntsc)) < 0.01:
            return ntsc
    return Fraction(value).limit_denominator(1001)


def _events(timeline: Any, path: Path, media: dict[str, str], rate: Fraction | None,
            drop_frame: bool) -> list[tuple[_Event, Fraction]]:
    import opentimelineio as otio

    tracks = [t for t in timeline.tracks if t.kind == otio.schema.TrackKind.Video]
    if not tracks:
        raise IngestError(f"{path.name}: no video track")
    out: list[tuple[_Event, Fraction]] = []
    number = 0
    for item in tracks[0]:
        if isinstance(item, otio.schema.Gap):
            continue
        number += 1
        where = f"{path.name} event {number} {item.name!r}"
        if isinstance(item, otio.schema.Transition):
            raise IngestError(f"{path.name}: transition {item.name!r} after event {number - 1}: "
                              "a Mega Asset has hard cuts only")
        if not isinstance(item, otio.schema.Clip):
            raise IngestError(f"{where}: unsupported {type(item).__name__} on the video track")
        source_range = item.source_range or item.available_range()
        clip_rate = rate or _snap(source_range.start_time.rate)
        start_frames = source_range.start_time.rescaled_to(float(clip_rate)).value
        length = source_range.duration.rescaled_to(float(clip_rate)).value
        timecode = otio.opentime.to_timecode(
            otio.opentime.RationalTime(round(start_frames), float(clip_rate)), float(clip_rate),
            drop_frame)
        at = f"{where} (source {timecode})"
        if abs(start_frames - round(start_frames)) > 1e-6:
            raise IngestError(f"{at}: source in-point is not on a frame")
        if abs(length - round(length)) > 1e-6 or round(length) <= 0:
            raise IngestError(f"{at}: length {length:g} is not a whole number of frames")
        title, name, talent, clip_id = _naming(item, at)
        start = Start(timecode, Fraction(round(start_frames)) / clip_rate)
        out.append((_Event(where, title, name, talent, clip_id, _source(item, at, path, media),
                           start, round(length)), clip_rate))
    if not out:
        raise IngestError(f"{path.name}: no clips on the video track")
    return out


def _naming(clip: Any, where: str) -> tuple[str, str, list[str], str | None]:
    meta = clip.metadata.get("sizzle") if hasattr(clip.metadata, "get") else None
    if meta is not None:
        meta = dict(meta)
        title, name = meta.get("title"), meta.get("name")
        if not isinstance(title, str) or not isinstance(name, str):
            raise IngestError(f"{where}: metadata 'sizzle' needs string 'title' and 'name'")
        talent = meta.get("talent", [])
        talent = [] if talent is None else talent if isinstance(talent, str) else list(talent)
        if isinstance(talent, str) or not all(isinstance(t, str) for t in talent):
            raise IngestError(f"{where}: metadata 'sizzle' 'talent' must be a list of strings")
        clip_id = meta.get("clip_id")
        return title, name, list(talent), clip_id if isinstance(clip_id, str) else None
    parts = [p.strip() for p in (clip.name or "").split("|")]
    if len(parts) not in (2, 3) or not all(parts[:2]):
        raise IngestError(f"{where}: clip name must be 'title_id|Title Name|talent1;talent2' "
                          "(or carry 'sizzle' metadata)")
    talent = [t.strip() for t in parts[2].split(";") if t.strip()] if len(parts) == 3 else []
    return parts[0], parts[1], talent, None


def _source(clip: Any, where: str, timeline: Path, media: dict[str, str]) -> Path:
    keys: list[str] = []
    cmx = clip.metadata.get("cmx_3600") if hasattr(clip.metadata, "get") else None
    cmx = dict(cmx) if cmx is not None else {}
    reel = cmx.get("reel")
    if isinstance(reel, str) and reel:
        keys.append(reel)
    for comment in cmx.get("comments") or ():  # "* SOURCE FILE: name.mp4" (Avid, Resolve)
        if isinstance(comment, str) and comment.upper().startswith("SOURCE FILE:"):
            keys.append(comment.split(":", 1)[1].strip())
    url = getattr(clip.media_reference, "target_url", None)
    if isinstance(url, str) and url:
        keys += [url, Path(url.removeprefix("file://")).name]
    for key in keys:
        if key in media:
            return Path(media[key])
    if isinstance(url, str) and url:
        file = Path(url.removeprefix("file://")).expanduser()
        return file if file.is_absolute() else timeline.parent / file
    what = f"reel {reel!r}" if reel else "its media"
    raise IngestError(f"{where}: {what} is not in the media map (give --media-map or 'media')")


def _spec(path: Path, timeline: Any, events: list[tuple[_Event, Fraction]], timeline_rate: Fraction,
          asset_id: Any, settings: dict[str, Any]) -> Spec:
    out_rate = parse_frame_rate(settings["frame_rate"], f"{path.name}: frame_rate") \
        if "frame_rate" in settings else timeline_rate
    titles: dict[str, dict[str, Any]] = {}
    placed: list[tuple[str, int]] = []  # (title id, index within the title) in timeline order
    starts: dict[str, list[Start]] = {}
    wheres: dict[str, list[str]] = {}
    for event, clip_rate in events:
        at = f"{event.where} (start {event.start.text})"
        frames = Fraction(event.frames) / clip_rate * out_rate
        if frames.denominator != 1:
            raise IngestError(f"{at}: {event.frames} frames at {float(clip_rate):g} fps "
                              f"are not a whole number of frames at {float(out_rate):g} fps")
        title = titles.setdefault(event.title, {"id": event.title, "name": event.name,
                                                "talent": event.talent,
                                                "source": str(event.source), "clips": []})
        if Path(title["source"]) != event.source:
            raise IngestError(f"{at}: title {event.title!r} uses {title['source']}; "
                              f"one title, one source file (got {event.source})")
        clip: dict[str, Any] = {"start": 0, "frames": int(frames)}
        if event.clip_id:
            clip["id"] = event.clip_id
        placed.append((event.title, len(title["clips"])))
        title["clips"].append(clip)
        starts.setdefault(event.title, []).append(event.start)
        wheres.setdefault(event.title, []).append(event.where)
    raw: dict[str, Any] = {"asset_id": asset_id or _asset_id(timeline, path),
                           "titles": list(titles.values()),
                           "frame_rate": f"{out_rate.numerator}/{out_rate.denominator}"}
    raw.update({k: v for k, v in settings.items() if k != "frame_rate"})
    spec = parse_spec(raw, path)
    fixed = []
    for parsed in spec.titles:
        clips = tuple(dataclasses.replace(c, start=s, where=w) for c, s, w in
                      zip(parsed.clips, starts[parsed.id], wheres[parsed.id], strict=True))
        fixed.append(dataclasses.replace(parsed, clips=clips, source_text=parsed.source.name,
                                         where=f"{path.name} title {parsed.id!r}"))
    by_title = {t.id: t for t in fixed}
    order = tuple(by_title[title].clips[n].id for title, n in placed)
    return dataclasses.replace(spec, titles=tuple(fixed), order=order)


def _asset_id(timeline: Any, path: Path) -> str:
    text = "".join(c if c.isalnum() or c in "._-" else "-" for c in (timeline.name or path.stem))
    return text.strip("-._")[:64] or "timeline"
