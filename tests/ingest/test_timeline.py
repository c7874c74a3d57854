"""Editorial timelines through OpenTimelineIO: CMX 3600 EDLs (non-drop and 29.97 drop-frame) and
native .otio, on the real footage and on synthetic media."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import orjson
import pytest

from ingest.build import build_package, plan_spec
from ingest.cli import run
from ingest.errors import IngestError
from ingest.synthetic import write_music
from ingest.validate import validate
from tests.ingest.media_checks import check_catalog

NDF_EDL = """TITLE: Friday Promo
FCM: NON-DROP FRAME

001  FRIDAY   V     C        00:00:01:00 00:00:02:10 01:00:00:00 01:00:01:10
* FROM CLIP NAME: friday|Friday Feeling|Sam Okafor;Priya Nand
002  CRYSTAL  V     C        00:00:05:15 00:00:06:25 01:00:01:10 01:00:02:20
* FROM CLIP NAME: crystal|Crystal Caves|Mara Lindqvist
003  FRIDAY   V     C        00:00:04:00 00:00:04:20 01:00:02:20 01:00:03:10
* FROM CLIP NAME: friday|Friday Feeling|Sam Okafor;Priya Nand
"""

DF_EDL = """TITLE: Bloom DF
FCM: DROP FRAME

001  FLOWER   V     C        00:00:01;00 00:00:02;10 00:00:00;00 00:00:01;10
* FROM CLIP NAME: flower|Bloom|Priya Nand
002  AX       V     C        00:00:00;03 00:00:02;13 00:00:01;10 00:00:03;20
* FROM CLIP NAME: stream|Still Water|Kenji Mori
* SOURCE FILE: stream-of-water.mp4
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def media_map(folder: Path, media: Path) -> Path:
    return write(folder, "media.json", orjson.dumps({
        "FRIDAY": str(media / "friday.mp4"), "CRYSTAL": str(media / "crystal.mp4"),
        "FLOWER": str(media / "flower.mp4"), "stream-of-water.mp4": str(media / "stream-of-water.mp4"),
    }).decode())


def test_non_drop_edl_builds_a_package(media_dir: Path, tmp_path: Path) -> None:
    edl = write(tmp_path, "promo.edl", NDF_EDL)
    assert validate(edl, media_map(tmp_path, media_dir)) == []
    out = tmp_path / "pkg"
    assert run([str(edl), "--media-map", str(tmp_path / "media.json"), "--out", str(out),
                "-q"]) == 0
    catalog = orjson.loads((out / "catalog.json").read_bytes())
    check_catalog(out, catalog)
    assert catalog["asset_id"] == "Friday-Promo" and catalog["frame_rate"] == [30, 1]
    assert catalog["titles"] == [
        {"id": "friday", "name": "Friday Feeling", "talent": ["Sam Okafor", "Priya Nand"]},
        {"id": "crystal", "name": "Crystal Caves", "talent": ["Mara Lindqvist"]}]
    # The Mega Asset follows the timeline; clip ids count within each title.
    assert [(c["id"], c["frames"], c["source"]) for c in catalog["clips"]] == [
        ("friday-01", 40, {"file": "friday.mp4", "start": 1.0}),
        ("crystal-01", 40, {"file": "crystal.mp4", "start": 5.5}),
        ("friday-02", 20, {"file": "friday.mp4", "start": 4.0})]
    assert validate(out) == []


def test_drop_frame_edl_at_29_97(media_dir: Path, tmp_path: Path) -> None:
    edl = write(tmp_path, "bloom.edl", DF_EDL)
    plan = plan_spec(edl, media_map(tmp_path, media_dir))
    assert plan.frame_rate == Fraction(30000, 1001)
    assert [(c.id, c.source_start, c.frames) for c in plan.clips] == [
        ("flower-01", Fraction(30 * 1001, 30000), 40), ("stream-01", Fraction(3 * 1001, 30000), 70)]
    assert plan.clips[1].title.talent == ("Kenji Mori",)
    # 00:10:00;00 drop-frame is frame 17982 (18000 minus 2 x 9 dropped): 599.9994 s at 29.97.
    late = write(tmp_path, "late.edl", DF_EDL.replace("00:00:01;00 00:00:02;10",
                                                      "00:10:00;00 00:10:01;10"))
    problems = validate(late, tmp_path / "media.json")
    assert len(problems) == 1, problems
    assert problems[0].startswith("late.edl event 1 'flower|Bloom|Priya Nand' (start 00:10:00;00): "
                                  "clip runs past the end of flower.mp4: needs 599.999s")


def _otio_clip(name: str, url: str, start: int, frames: int, rate: float = 30,
               meta: dict[str, object] | None = None) -> otio.schema.Clip:
    clip = otio.schema.Clip(
        name=name, media_reference=otio.schema.ExternalReference(target_url=url),
        source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(start, rate),
                                             otio.opentime.RationalTime(frames, rate)))
    if meta is not None:
        clip.metadata["sizzle"] = meta
    return clip


def test_native_otio_with_metadata_and_a_wrapper(synthetic_spec: Path, tmp_path: Path) -> None:
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    alpha = str(synthetic_spec.parent / "alpha.mp4")
    track.append(_otio_clip("anything", alpha, 15, 40,
                            meta={"title": "alpha", "name": "Alpha Protocol", "talent": ["Ada"],
                                  "clip_id": "alpha-open"}))
    track.append(otio.schema.Gap(duration=otio.opentime.RationalTime(10, 30)))
    track.append(_otio_clip("delta|Delta Nights|Eve Sato", "delta.mp4", 30, 24))
    timeline = otio.schema.Timeline(name="synthetic cut", tracks=[track])
    path = tmp_path / "cut.otio"
    otio.adapters.write_to_file(timeline, str(path))
    wrapper = write(tmp_path, "wrapper.json", orjson.dumps({
        "asset_id": "wrapped", "timeline": "cut.otio", "segment_frames": 20,
        "media": {"delta.mp4": str(synthetic_spec.parent / "delta.mp4")}}).decode())
    plan = plan_spec(wrapper)
    assert plan.asset_id == "wrapped" and plan.segment_frames == 20
    assert [(c.id, c.title.id, c.source_start, c.frames, len(c.segments)) for c in plan.clips] == [
        ("alpha-open", "alpha", Fraction(1, 2), 40, 2), ("delta-01", "delta", Fraction(1), 24, 2)]
    assert validate(wrapper) == []
    # The .otio alone: the relative reference resolves beside the timeline, which has no delta.mp4.
    with pytest.raises(IngestError, match="delta"):
        build_package(path, tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()


BAD_TIMELINES = [
    ("garbage.edl", "this is not an edl\n001 what\n", r"garbage\.edl"),
    ("broken.otio", '{"OTIO_SCHEMA": "Timeline.1", "tracks": ', r"cannot read timeline broken\.otio"),
    ("noreel.edl", NDF_EDL, r"event 1 .*reel 'FRIDAY' is not in the media map"),
    ("badname.edl", NDF_EDL.replace("friday|Friday Feeling|", "just a name "),
     r"event 1 'just a name .*clip name must be 'title_id\|Title Name"),
]


@pytest.mark.parametrize(("name", "text", "culprit"), BAD_TIMELINES,
                         ids=[b[0] for b in BAD_TIMELINES])
def test_broken_timelines_fail_in_one_line(name: str, text: str, culprit: str, tmp_path: Path,
                                           capfd: pytest.CaptureFixture[str]) -> None:
    import re

    path = write(tmp_path, name, text)
    out = tmp_path / "pkg"
    assert run([str(path), "--out", str(out)]) == 2
    _, err = capfd.readouterr()
    assert err.count("\n") == 1 and "Traceback" not in err and re.search(culprit, err), err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_lengths_must_be_whole_output_frames(synthetic_spec: Path, tmp_path: Path) -> None:
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    track.append(_otio_clip("alpha|Alpha", str(synthetic_spec.parent / "alpha.mp4"), 0, 40))
    otio.adapters.write_to_file(otio.schema.Timeline(tracks=[track]), str(tmp_path / "t.otio"))
    wrapper = write(tmp_path, "w.json", '{"timeline": "t.otio", "frame_rate": 25}')
    problems = validate(wrapper)
    assert problems == ["t.otio event 1 'alpha|Alpha' (start 00:00:00:00): 40 frames at 30 fps "
                        "are not a whole number of frames at 25 fps"]


def test_wrapper_passes_music_and_language_on(synthetic_spec: Path, tmp_path: Path) -> None:
    track = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    track.append(_otio_clip("alpha|Alpha", str(synthetic_spec.parent / "alpha.mp4"), 15, 40))
    (tmp_path / "cuts").mkdir()
    otio.adapters.write_to_file(otio.schema.Timeline(tracks=[track]), str(tmp_path / "cuts" / "a.otio"))
    (tmp_path / "beds").mkdir()
    write_music(tmp_path / "beds" / "tone.m4a", 3.0)
    wrapper = write(tmp_path, "wrapper.json", orjson.dumps({
        "timeline": "cuts/a.otio", "language": "de",
        "music": [{"id": "tone", "name": "Tone", "source": "beds/tone.m4a"}]}).decode())
    plan = plan_spec(wrapper)  # the bed resolves beside the wrapper, not the timeline
    assert plan.language == "de"
    assert [(b.id, b.source.path) for b in plan.music] == [("tone", tmp_path / "beds" / "tone.m4a")]
