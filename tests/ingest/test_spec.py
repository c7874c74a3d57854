"""Spec validation: every mistake is an IngestError naming the field."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import IngestError
from ingest.spec import parse_frame_rate, parse_spec, parse_start


def spec(**top: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"asset_id": "a", "titles": [
        {"id": "t1", "name": "One", "talent": ["X"], "source": "one.mp4",
         "clips": [{"start": 1, "frames": 40}, {"start": "00:00:02.500", "frames": 80, "id": "c2",
                                                "talent": ["Y"]}]}]}
    base.update(top)
    return base


def test_valid_spec_defaults(tmp_path: Path) -> None:
    parsed = parse_spec(spec(), tmp_path / "s.json")
    title = parsed.titles[0]
    assert parsed.segment_frames == 40 and parsed.frame_rate is None and parsed.renditions is None
    assert title.source == tmp_path / "one.mp4"
    assert [c.id for c in title.clips] == ["t1-01", "c2"]
    assert [c.talent for c in title.clips] == [("X",), ("Y",)]
    assert title.clips[1].start.seconds == Fraction(5, 2)


def test_optional_settings(tmp_path: Path) -> None:
    parsed = parse_spec(spec(frame_rate="30000/1001", segment_frames=48,
                             renditions=[{"height": 360}, {"id": "hd", "height": 720,
                                                           "maxrate_kbps": 4000}]),
                        tmp_path / "s.json")
    assert parsed.frame_rate == Fraction(30000, 1001) and parsed.segment_frames == 48
    assert [(r.id, r.height) for r in parsed.renditions or ()] == [("hd", 720), ("360p", 360)]


@pytest.mark.parametrize(("text", "seconds", "frames"), [
    (0, Fraction(0), None), (1.5, Fraction(3, 2), None), ("00:01:02.250", Fraction(249, 4), None),
    ("01:00:00", Fraction(3600), None), ("00:00:03:15", Fraction(3), 15),
])
def test_start_notations(text: Any, seconds: Fraction, frames: int | None) -> None:
    start = parse_start(text, "x")
    assert (start.seconds, start.frames) == (seconds, frames)


def test_timecode_frames_count_at_nominal_rate() -> None:
    start = parse_start("00:00:01:15", "x")
    assert start.resolve(Fraction(30), "x") == Fraction(3, 2)
    assert start.resolve(Fraction(25), "x") == Fraction(8, 5)
    assert start.resolve(Fraction(30000, 1001), "x") == 45 / Fraction(30000, 1001)
    with pytest.raises(IngestError, match="00:00:01:15"):
        start.resolve(Fraction(15), "x")


@pytest.mark.parametrize("bad", ["1:2:3", "00:00:61.000", "00:61:00", "abc", "00:00:01;15", -1,
                                 float("nan"), True, None, [1]])
def test_bad_starts(bad: Any) -> None:
    with pytest.raises(IngestError, match="start"):
        parse_start(bad, "clips[0]: start")


@pytest.mark.parametrize("value", [0, -30, "0/1", "abc", "30/0", 1000, True])
def test_bad_frame_rates(value: Any) -> None:
    with pytest.raises(IngestError, match="frame"):
        parse_frame_rate(value, "frame_rate")


@pytest.mark.parametrize(("mutate", "culprit"), [
    (lambda s: s.pop("titles"), "missing 'titles'"),
    (lambda s: s.pop("asset_id"), "missing 'asset_id'"),
    (lambda s: s.update(titles=[]), "titles"),
    (lambda s: s.update(extra=1), "unknown key"),
    (lambda s: s["titles"][0].pop("source"), "titles\\[0\\] 't1': missing 'source'"),
    (lambda s: s["titles"][0].update(clips=[]), "'clips' must be a non-empty list"),
    (lambda s: s["titles"][0]["clips"][0].update(frames=0), "clips\\[0\\] \\(start 1\\): frames"),
    (lambda s: s["titles"][0]["clips"][0].update(frames=2.5), "length 2.5 is not a whole number"),
    (lambda s: s["titles"][0]["clips"][0].pop("frames"), "clips\\[0\\]: missing 'frames'"),
    (lambda s: s["titles"][0]["clips"][1].update(start="1:00"), "clips\\[1\\]: start"),
    (lambda s: s["titles"][0]["clips"][1].update(id="t1-01"), "clip id 't1-01' is used twice"),
    (lambda s: s["titles"].append(dict(s["titles"][0], clips=[{"start": 0, "frames": 4}])),
     "title id 't1' is used twice"),
    (lambda s: s["titles"][0].update(id="bad id"), "not a valid id"),
    (lambda s: s["titles"][0].update(talent="X"), "talent"),
    (lambda s: s.update(segment_frames=0), "segment_frames"),
    (lambda s: s.update(renditions=[{"height": 361}]), "height 361"),
    (lambda s: s.update(renditions=[{"height": 360}, {"height": 360}]), "used twice"),
    (lambda s: s.update(asset_id=3), "asset_id"),
    (lambda s: s.update(renditions=[{"id": "audio", "height": 360}]),
     "renditions\\[0\\]: id 'audio' is reserved for the audio rendition"),
    (lambda s: s.update(language="english!"), "language: want a BCP 47"),
    (lambda s: s.update(music={}), "'music' must be a list"),
    (lambda s: s.update(music=[{"id": "m", "name": "M"}]), "music\\[0\\] 'm': missing 'source'"),
    (lambda s: s.update(music=[{"id": "bad id", "name": "M", "source": "m.mp3"}]),
     "music\\[0\\] 'bad id': id: 'bad id' is not a valid id"),
    (lambda s: s.update(music=[{"id": "m", "name": "M", "source": "a.mp3"},
                               {"id": "m", "name": "N", "source": "b.mp3"}]),
     "music id 'm' is used twice"),
    (lambda s: s.update(music=[{"id": "m", "name": "M", "source": "a.mp3", "start": -1}]),
     "music\\[0\\] 'm': start: want seconds >= 0"),
    (lambda s: s.update(music=[{"id": "m", "name": "M", "source": "a.mp3", "volume": 1}]),
     "music\\[0\\] 'm': unknown key"),
])
def test_schema_errors(mutate: Any, culprit: str, tmp_path: Path) -> None:
    raw = spec()
    mutate(raw)
    with pytest.raises(IngestError, match=culprit):
        parse_spec(raw, tmp_path / "s.json")


def test_music_and_language(tmp_path: Path) -> None:
    parsed = parse_spec(spec(language="pt-BR", music=[
        {"id": "fox", "name": "Fox", "source": "beds/fox.mp3", "credit": "KM", "start": 1.5},
        {"id": "calm", "name": "Calm", "source": "/abs/calm.m4a"}]), tmp_path / "s.json")
    assert parsed.language == "pt-BR"
    fox, calm = parsed.music
    assert (fox.id, fox.name, fox.credit, fox.start) == ("fox", "Fox", "KM", Fraction(3, 2))
    assert fox.source == tmp_path / "beds" / "fox.mp3" and calm.source == Path("/abs/calm.m4a")
    assert (calm.credit, calm.start) == ("", 0)
    assert parse_spec(spec(), tmp_path / "s.json").music == ()
    assert parse_spec(spec(), tmp_path / "s.json").language == "en"


def test_not_an_object(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="JSON object"):
        parse_spec([1, 2], tmp_path / "s.json")
