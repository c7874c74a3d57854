"""The plan: ladder, clip placement, segment table, exact audio ranges, range checks."""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import IngestError
from ingest.ladder import default_ladder
from ingest.plan import make_plan
from ingest.probe import SourceInfo, default_frame_rate
from ingest.spec import parse_spec


def source(name: str, rate: Fraction = Fraction(30), height: int = 540,
           seconds: Fraction = Fraction(10)) -> SourceInfo:
    return SourceInfo(Path(name), even_width(height), height, Fraction(1), rate,
                      int(seconds * rate), Fraction(0), seconds, True, 48000, 2)


def even_width(height: int) -> int:
    return 2 * round(height * 16 / 9 / 2)


def spec(clips: list[dict[str, Any]], **top: Any) -> Any:
    raw = {"asset_id": "a", "titles": [{"id": "t", "name": "T", "source": "t.mp4", "clips": clips}]}
    raw.update(top)
    return parse_spec(raw, Path("/x/s.json"))


def test_default_ladder() -> None:
    assert [(r.id, r.width, r.height) for r in default_ladder(540)] == [
        ("540p", 960, 540), ("360p", 640, 360)]
    assert [(r.id, r.width) for r in default_ladder(480)] == [("360p", 640), ("240p", 426)]
    assert [r.id for r in default_ladder(2160)] == ["1080p", "720p"]
    assert [r.id for r in default_ladder(200)] == ["360p", "240p"]
    assert [(r.maxrate_kbps, r.bufsize_kbps) for r in default_ladder(540)] == [(2500, 5000),
                                                                               (1000, 2000)]


def test_default_frame_rate_is_the_most_common() -> None:
    ntsc = Fraction(30000, 1001)
    assert default_frame_rate([source("a", ntsc), source("b"), source("c"), source("d", ntsc),
                               source("e")]) == 30


def test_segments_and_audio_ranges() -> None:
    plan = make_plan(spec([{"start": 0, "frames": 160}, {"start": 1, "frames": 25},
                           {"start": 2, "frames": 100}]), {"t": source("t.mp4")})
    assert [(s.start_frame, s.frames, s.clip) for s in plan.segments] == [
        (0, 40, 0), (40, 40, 0), (80, 40, 0), (120, 40, 0), (160, 25, 1),
        (185, 40, 2), (225, 40, 2), (265, 20, 2)]
    assert [c.segments for c in plan.clips] == [(0, 1, 2, 3), (4,), (5, 6, 7)]
    assert [c.start_frame for c in plan.clips] == [0, 160, 185]
    assert [(c.audio_start, c.audio_end) for c in plan.clips] == [
        (0, 256000), (256000, 296000), (296000, 456000)]
    assert plan.segment_starts() == {0, 40, 80, 120, 160, 185, 225, 265}


def test_audio_ranges_do_not_drift_at_ntsc_rates() -> None:
    rate = Fraction(30000, 1001)
    clips = [{"start": 0, "frames": 7}] + [{"start": i, "frames": 13} for i in range(1, 9)]
    plan = make_plan(spec(clips, frame_rate="30000/1001"), {"t": source("t.mp4", rate)})
    for a, b in zip(plan.clips, plan.clips[1:]):
        assert a.audio_end == b.audio_start
    total = plan.total_frames
    assert plan.clips[-1].audio_end == round(total * 48000 / rate)
    for clip in plan.clips:
        assert math.isclose(clip.audio_samples, clip.frames * 48000 / rate, abs_tol=1)


def test_segment_frames_setting() -> None:
    plan = make_plan(spec([{"start": 0, "frames": 100}], segment_frames=48), {"t": source("t.mp4")})
    assert [s.frames for s in plan.segments] == [48, 48, 4]


def test_clip_past_end_names_title_clip_and_start() -> None:
    culprit = r"titles\[0\] 't' clips\[1\] \(start 00:00:09:10\).*past the end"
    with pytest.raises(IngestError, match=culprit):
        make_plan(spec([{"start": 0, "frames": 40}, {"start": "00:00:09:10", "frames": 40}]),
                  {"t": source("t.mp4")})


def test_clip_exactly_to_the_end_is_fine() -> None:
    plan = make_plan(spec([{"start": 9, "frames": 30}]), {"t": source("t.mp4")})
    assert plan.total_frames == 30


def test_identical_clips_are_rejected() -> None:
    with pytest.raises(IngestError, match="same start and length"):
        make_plan(spec([{"start": 1, "frames": 40}, {"start": "00:00:01.000", "frames": 40}]),
                  {"t": source("t.mp4")})


def test_spec_ladder_overrides_default() -> None:
    plan = make_plan(spec([{"start": 0, "frames": 40}], renditions=[{"height": 240},
                                                                  {"height": 720}]),
                     {"t": source("t.mp4")})
    assert [(r.id, r.width, r.height) for r in plan.renditions] == [("720p", 1280, 720),
                                                                    ("240p", 426, 240)]


def test_ladder_profiles_levels_and_depth() -> None:
    from ingest.ladder import h264_level, rendition_for

    full = default_ladder(1080, max_renditions=5)
    assert [(r.id, r.profile, r.level_text) for r in full] == [
        ("1080p", "high", "4.0"), ("720p", "high", "3.1"), ("540p", "high", "3.1"),
        ("360p", "main", "3.0"), ("240p", "baseline", "3.0")]
    assert [r.id for r in default_ladder(720, max_renditions=5)] == ["720p", "540p", "360p", "240p"]
    assert rendition_for(720, frame_rate=Fraction(60)).level == 32  # 1280x720p60 needs 3.2
    assert rendition_for(360, maxrate_kbps=12000).level == 31  # Main 3.0 stops at 10 Mbit/s
    assert h264_level(1920, 1080, Fraction(30), 6000, "high") == 40
    parsed = spec([{"start": 0, "frames": 40}], max_renditions=4,
                  renditions=[{"height": 480, "profile": "main", "level": "3.1"}, {"height": 240}])
    assert parsed.max_renditions == 4
    assert [(r.profile, r.level) for r in parsed.renditions or ()] == [("main", 31), (None, None)]
    for bad in ({"height": 480, "profile": "extreme"}, {"height": 480, "level": "9.9"}):
        with pytest.raises(IngestError, match="renditions\\[0\\]"):
            spec([{"start": 0, "frames": 40}], renditions=[bad])
