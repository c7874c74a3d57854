"""The editorial JSON spec: load it and validate it precisely, or raise IngestError naming the field.

    {"asset_id": "demo",
     "frame_rate": 30 | "30000/1001",                 optional: default = most common source rate
     "segment_frames": 40,                            optional
     "renditions": [{"id": "540p", "height": 540, "maxrate_kbps": 2500,     optional ladder
                     "profile": "high" | "main" | "baseline", "level": "3.1"}],
     "max_renditions": 2,                             optional: rungs of the default ladder
     "loudness_lufs": -16 | null,                     optional: EBU R128 target; null: no gain
     "language": "en",                                optional: BCP 47 tag of the audio rendition
     "music": [{"id": "outfoxing", "name": "Outfoxing the Fox", "source": "outfoxing.mp3",
                "credit": "optional", "start": 0}],   optional music beds (start: seconds into
                                                      the file, default 0)
     "titles": [{"id": "crystal", "name": "Crystal Caves", "talent": ["..."],
                 "source": "crystal.mp4",             relative to the spec's folder
                 "clips": [{"start": 1.5 | "00:00:01.500" | "00:00:01:15", "frames": 40,
                            "id": "optional", "talent": ["optional"]}]}]}

Music sources are checked as media (exists, has audio, start before its end) by
`probe.probe_music`, before anything is encoded.

Starts are kept as written (`Start`) because an `HH:MM:SS:FF` timecode only becomes seconds once the
source's frame rate is known (see `Start.resolve`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import orjson

from ingest.errors import IngestError

DEFAULT_SEGMENT_FRAMES = 40
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CLOCK = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d(?:\.\d{1,9})?)")
_TIMECODE = re.compile(r"(\d{1,3}):([0-5]\d):([0-5]\d):(\d{2,3})")
_TOP_KEYS = {"asset_id", "titles", "frame_rate", "segment_frames", "renditions", "max_renditions",
              "loudness_lufs", "language", "music"}
_TITLE_KEYS = {"id", "name", "talent", "source", "clips"}
_CLIP_KEYS = {"start", "frames", "id", "talent"}
_RENDITION_KEYS = {"id", "height", "maxrate_kbps", "profile", "level"}
_MUSIC_KEYS = {"id", "name", "source", "credit", "start"}
RESERVED_RENDITION_ID = "audio"  # the audio rendition (docs/catalog.md, schema 2)
DEFAULT_LANGUAGE = "en"
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_PROFILES = ("high", "main", "baseline")
_LEVEL = re.compile(r"([1-5])(?:\.([0-2]))?")


@dataclass(frozen=True, slots=True)
class Start:
    """A clip start as written: seconds, or an `HH:MM:SS:FF` timecode (`frames` is then FF)."""

    text: str
    seconds: Fraction  # whole value, or the HH:MM:SS part of a timecode
    frames: int | None = None  # the FF field of an HH:MM:SS:FF timecode

    def resolve(self, source_rate: Fraction, where: str) -> Fraction:
        """Seconds from the source's first frame.

        A timecode labels a frame: its FF field counts at the nominal (rounded) rate, so at
        29.97 fps "00:00:01:15" is frame 30 + 15 = 45, which starts at 45 / (30000/1001) s.
        """
        if self.frames is None:
            return self.seconds
        nominal = round(source_rate)
        if self.frames >= nominal:
            raise IngestError(f"{where}: bad timecode {self.text!r}: frame field {self.frames} "
                              f"must be below the source's nominal rate {nominal}")
        return (self.seconds * nominal + self.frames) / source_rate


@dataclass(frozen=True, slots=True)
class ClipSpec:
    id: str
    start: Start
    frames: int
    talent: tuple[str, ...]
    where: str  # e.g. "titles[0] 'crystal' clips[2]", for messages


@dataclass(frozen=True, slots=True)
class TitleSpec:
    id: str
    name: str
    talent: tuple[str, ...]
    source: Path  # absolute
    source_text: str  # as written in the spec
    clips: tuple[ClipSpec, ...]
    where: str


@dataclass(frozen=True, slots=True)
class RenditionSpec:
    id: str
    height: int
    maxrate_kbps: int | None
    profile: str | None = None  # None: by height (ladder.default_profile)
    level: int | None = None  # H.264 level x10; None: the lowest that fits


@dataclass(frozen=True, slots=True)
class MusicSpec:
    id: str
    name: str
    credit: str
    source: Path  # absolute
    start: Fraction  # seconds into the file where the bed begins
    where: str  # e.g. "spec.json: music[0] 'outfoxing'", for messages


@dataclass(frozen=True, slots=True)
class Spec:
    path: Path
    asset_id: str
    titles: tuple[TitleSpec, ...]
    frame_rate: Fraction | None  # None: pick the most common source rate
    segment_frames: int
    renditions: tuple[RenditionSpec, ...] | None  # best first; None: the default ladder
    max_renditions: int = 2  # rungs of the default ladder
    loudness_lufs: float | None = -16.0  # EBU R128 integrated target; None: leave levels alone
    order: tuple[str, ...] | None = None  # clip ids in Mega Asset order; None: grouped by title
    mega_asset: Path | None = None  # a pre-encoded Mega Asset every title's clips come from
    language: str = DEFAULT_LANGUAGE  # BCP 47 tag of the audio rendition
    music: tuple[MusicSpec, ...] = ()  # music beds


def read_json(path: Path, what: str) -> Any:
    """A JSON input file (a spec, clip list, media map) as data; IngestError naming it otherwise."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise IngestError(f"{what} {path} is not valid JSON: {exc}") from None


def parse_spec(raw: Any, path: Path) -> Spec:
    """Validate an already-decoded spec; relative sources resolve against path's folder."""
    where = path.name
    top = _object(raw, where, _TOP_KEYS, required=("asset_id", "titles"))
    asset_id = _ident(top["asset_id"], f"{where}: asset_id")
    titles_raw = top["titles"]
    if not isinstance(titles_raw, list) or not titles_raw:
        raise IngestError(f"{where}: 'titles' must be a non-empty list")
    titles = tuple(_title(t, f"{where}: titles[{i}]", path.parent) for i, t in enumerate(titles_raw))
    _unique([t.id for t in titles], f"{where}: title id")
    _unique([c.id for t in titles for c in t.clips], f"{where}: clip id")
    frame_rate = _frame_rate(top["frame_rate"], where) if "frame_rate" in top else None
    segment_frames = DEFAULT_SEGMENT_FRAMES
    if "segment_frames" in top:
        segment_frames = _positive_int(top["segment_frames"], f"{where}: segment_frames")
    renditions = _renditions(top["renditions"], where) if "renditions" in top else None
    max_renditions = 2
    if "max_renditions" in top:
        max_renditions = _positive_int(top["max_renditions"], f"{where}: max_renditions")
    loudness: float | None = -16.0
    if "loudness_lufs" in top:
        loudness = _loudness(top["loudness_lufs"], f"{where}: loudness_lufs")
    language = _language(top["language"], f"{where}: language") if "language" in top \
        else DEFAULT_LANGUAGE
    music = _music(top["music"], where, path.parent) if "music" in top else ()
    return Spec(path, asset_id, titles, frame_rate, segment_frames, renditions, max_renditions,
                loudness, language=language, music=music)


def _language(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _LANGUAGE.fullmatch(value):
        raise IngestError(f"{where}: want a BCP 47 language tag like \"en\" or \"pt-BR\", "
                          f"got {value!r}")
    return value


def _music(value: Any, where: str, folder: Path) -> tuple[MusicSpec, ...]:
    if not isinstance(value, list):
        raise IngestError(f"{where}: 'music' must be a list of beds")
    beds: list[MusicSpec] = []
    for i, raw in enumerate(value):
        at = f"{where}: music[{i}]"
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            at = f"{at} {raw['id']!r}"
        obj = _object(raw, at, _MUSIC_KEYS, required=("id", "name", "source"))
        bed_id = _ident(obj["id"], f"{at}: id")
        name = _text(obj["name"], f"{at}: name")
        credit = obj.get("credit", "")
        if not isinstance(credit, str):
            raise IngestError(f"{at}: credit: want a string, got {_kind(credit)}")
        source = Path(_text(obj["source"], f"{at}: source")).expanduser()
        start = Fraction(0)
        if "start" in obj:
            raw_start = obj["start"]
            if isinstance(raw_start, bool) or not isinstance(raw_start, (int, float)) \
                    or not math.isfinite(raw_start) or raw_start < 0:
                raise IngestError(f"{at}: start: want seconds >= 0, got {raw_start!r}")
            start = Fraction(repr(raw_start)) if isinstance(raw_start, float) else Fraction(raw_start)
        beds.append(MusicSpec(bed_id, name, credit, source if source.is_absolute()
                              else folder / source, start, at))
    _unique([b.id for b in beds], f"{where}: music id")
    return tuple(beds)


def _loudness(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -40 <= value <= -5:
        raise IngestError(f"{where}: want a target in LUFS between -40 and -5, or null; "
                          f"got {value!r}")
    return float(value)


def _title(raw: Any, where: str, folder: Path) -> TitleSpec:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        where = f"{where} {raw['id']!r}"  # name the title in every message about it
    obj = _object(raw, where, _TITLE_KEYS, required=("id", "name", "source", "clips"))
    title_id = _ident(obj["id"], f"{where}: id")
    name = _text(obj["name"], f"{where}: name")
    talent = _talent(obj.get("talent", []), f"{where}: talent")
    source_text = _text(obj["source"], f"{where}: source")
    source = Path(source_text).expanduser()
    if not source.is_absolute():
        source = folder / source
    clips_raw = obj["clips"]
    if not isinstance(clips_raw, list) or not clips_raw:
        raise IngestError(f"{where}: 'clips' must be a non-empty list")
    clips = tuple(_clip(c, f"{where} clips[{i}]", title_id, i, talent)
                  for i, c in enumerate(clips_raw))
    return TitleSpec(title_id, name, talent, source, source_text, clips, where)


def _clip(raw: Any, where: str, title_id: str, index: int, title_talent: tuple[str, ...]) -> ClipSpec:
    obj = _object(raw, where, _CLIP_KEYS, required=("start", "frames"))
    clip_id = _ident(obj["id"], f"{where}: id") if "id" in obj else f"{title_id}-{index + 1:02d}"
    start = parse_start(obj["start"], f"{where}: start")
    frames = _frames(obj["frames"], f"{where} (start {start.text}): frames")
    talent = _talent(obj["talent"], f"{where}: talent") if "talent" in obj else title_talent
    return ClipSpec(clip_id, start, frames, talent, where)


def _frames(value: Any, where: str) -> int:
    """A clip length: a positive whole number of frames (40 or 40.0, never 40.5)."""
    if isinstance(value, float) and math.isfinite(value) and value > 0:
        if not value.is_integer():
            raise IngestError(f"{where}: length {value!r} is not a whole number of frames")
        return int(value)
    return _positive_int(value, where)


def parse_start(value: Any, where: str) -> Start:
    """Seconds (a number), "HH:MM:SS.mmm" or "HH:MM:SS:FF"."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise IngestError(f"{where}: want seconds or a timecode string, got {_kind(value)}")
    if not isinstance(value, str):
        if not math.isfinite(value) or value < 0:
            raise IngestError(f"{where}: bad start {value!r}: must be finite seconds >= 0")
        exact = Fraction(repr(value)) if isinstance(value, float) else Fraction(value)
        return Start(repr(value), exact)
    text = value.strip()
    if match := _CLOCK.fullmatch(text):
        hours, minutes, seconds = match.groups()
        return Start(value, Fraction(int(hours) * 3600 + int(minutes) * 60) + Fraction(seconds))
    if match := _TIMECODE.fullmatch(text):
        hours, minutes, seconds, frames = (int(g) for g in match.groups())
        return Start(value, Fraction(hours * 3600 + minutes * 60 + seconds), frames)
    raise IngestError(f"{where}: bad timecode {value!r}: want seconds, HH:MM:SS.mmm or HH:MM:SS:FF")


def parse_frame_rate(value: Any, where: str) -> Fraction:
    """30, 29.97 or "30000/1001" as a Fraction."""
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError
        rate = Fraction(value.strip()) if isinstance(value, str) else Fraction(repr(value))
    except (ValueError, ZeroDivisionError):
        raise IngestError(f"{where}: bad frame rate {value!r}: "
                          "want e.g. 30 or \"30000/1001\"") from None
    if not 1 <= rate <= 240:
        raise IngestError(f"{where}: frame rate {value!r} out of range 1..240")
    return rate


def _frame_rate(value: Any, where: str) -> Fraction:
    return parse_frame_rate(value, f"{where}: frame_rate")


def _renditions(value: Any, where: str) -> tuple[RenditionSpec, ...]:
    if not isinstance(value, list) or not value:
        raise IngestError(f"{where}: 'renditions' must be a non-empty list")
    out: list[RenditionSpec] = []
    for i, raw in enumerate(value):
        at = f"{where}: renditions[{i}]"
        obj = _object(raw, at, _RENDITION_KEYS, required=("height",))
        height = _positive_int(obj["height"], f"{at}: height")
        if height % 2 or not 64 <= height <= 2160:
            raise IngestError(f"{at}: height {height} must be even and within 64..2160")
        rid = _ident(obj["id"], f"{at}: id") if "id" in obj else f"{height}p"
        if rid == RESERVED_RENDITION_ID:
            raise IngestError(f"{at}: id {rid!r} is reserved for the audio rendition")
        maxrate = None
        if "maxrate_kbps" in obj:
            maxrate = _positive_int(obj["maxrate_kbps"], f"{at}: maxrate_kbps")
        profile = None
        if "profile" in obj:
            profile = obj["profile"]
            if profile not in _PROFILES:
                raise IngestError(f"{at}: profile {profile!r}: want one of {', '.join(_PROFILES)}")
        level = _level(obj["level"], f"{at}: level") if "level" in obj else None
        out.append(RenditionSpec(rid, height, maxrate, profile, level))
    _unique([r.id for r in out], f"{where}: rendition id")
    _unique([str(r.height) for r in out], f"{where}: rendition height")
    return tuple(sorted(out, key=lambda r: -r.height))


def _level(value: Any, where: str) -> int:
    """An H.264 level: "3.1", "4" or 31 -> 31."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if text.isdigit() and len(text) == 2:
        text = f"{text[0]}.{text[1]}"
    match = _LEVEL.fullmatch(text)
    if not match:
        raise IngestError(f"{where}: bad H.264 level {value!r}: want e.g. \"3.1\" or \"4\"")
    return 10 * int(match.group(1)) + int(match.group(2) or 0)


def _object(raw: Any, where: str, allowed: set[str], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise IngestError(f"{where}: want a JSON object, got {_kind(raw)}")
    for key in required:
        if key not in raw:
            raise IngestError(f"{where}: missing '{key}'")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise IngestError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    return raw


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise IngestError(f"{where}: want a non-empty string, got {_kind(value)}")
    return value


def _ident(value: Any, where: str) -> str:
    text = _text(value, where)
    if not _ID.fullmatch(text):
        raise IngestError(f"{where}: {text!r} is not a valid id (letters, digits, '.', '_', '-'; "
                          "up to 64, starting with a letter or digit)")
    return text


def _talent(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise IngestError(f"{where}: want a list of non-empty strings")
    return tuple(value)


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise IngestError(f"{where}: want a positive integer, got {value!r}")
    return value


def _unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise IngestError(f"{what} {value!r} is used twice")
        seen.add(value)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
