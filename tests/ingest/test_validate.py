"""`sizzle validate`: a spec by timecode before encoding, a package on disk after; each check fires."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest import boxes
from ingest.synthetic import write_music
from ingest.validate import run, validate, validate_spec

Package = tuple[Path, dict[str, Any]]


@pytest.fixture()
def pkg(ingest_synthetic_package: Package, tmp_path: Path) -> Path:
    """A private copy of the synthetic package, free to corrupt."""
    copy = tmp_path / "pkg"
    shutil.copytree(ingest_synthetic_package[0], copy)
    return copy


def _catalog(pkg: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((pkg / "catalog.json").read_bytes())
    return data


def _edit_catalog(pkg: Path, change: Callable[[dict[str, Any]], None]) -> None:
    catalog = _catalog(pkg)
    change(catalog)
    (pkg / "catalog.json").write_bytes(orjson.dumps(catalog))


def _video_traf(data: bytes) -> tuple[boxes.Box, boxes.Box]:
    """(moof, traf) of track 1 (video) in a segment."""
    moof = next(b for b in boxes.iter_boxes(data) if b.type == "moof")
    for traf in boxes.find_all(data, moof, "traf"):
        tfhd = boxes.find(data, traf, "tfhd")
        assert tfhd is not None
        if boxes.read_tfhd(data, tfhd).track_id == 1:
            return moof, traf
    raise AssertionError("no video traf")


def test_a_clean_package_and_spec_pass(ingest_synthetic_package: Package, synthetic_spec: Path,
                                       capfd: pytest.CaptureFixture[str]) -> None:
    assert validate(ingest_synthetic_package[0]) == []
    assert validate(synthetic_spec) == []
    assert run([str(ingest_synthetic_package[0])]) == 0
    assert run([str(synthetic_spec)]) == 0
    out, err = capfd.readouterr()
    assert out.count(": ok\n") == 2 and err == ""


def test_segment_without_idr(pkg: Path) -> None:
    rid = _catalog(pkg)["renditions"][1]["id"]
    path = pkg / rid / "s00002.m4s"
    data = bytearray(path.read_bytes())
    moof, traf = _video_traf(data)
    tfhd = boxes.read_tfhd(data, boxes.find(data, traf, "tfhd"))  # type: ignore[arg-type]
    trun_box = boxes.find(data, traf, "trun")
    assert trun_box is not None
    trun = boxes.read_trun(data, trun_box)
    at = (tfhd.base_data_offset or moof.offset) + (trun.data_offset or 0)
    end = at + trun.sizes[0]
    while at + 4 < end:  # every IDR slice NAL (type 5) becomes a non-IDR slice (type 1)
        if data[at + 4] & 0x1F == 5:
            data[at + 4] = (data[at + 4] & 0xE0) | 1
        at += 4 + int.from_bytes(data[at:at + 4], "big")
    path.write_bytes(data)
    assert validate(pkg) == [f"{rid}/s00002.m4s: does not start with an IDR frame "
                             f"(sync flag True, NAL types [1])"]


def test_shifted_tfdt_breaks_shared_boundaries(pkg: Path) -> None:
    rid = _catalog(pkg)["renditions"][1]["id"]
    path = pkg / rid / "s00003.m4s"
    data = bytearray(path.read_bytes())
    _, traf = _video_traf(data)
    tfdt = boxes.find(data, traf, "tfdt")
    assert tfdt is not None
    boxes.set_tfdt(data, tfdt, boxes.read_tfdt(data, tfdt)[1] + 512)
    path.write_bytes(data)
    problems = validate(pkg)
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{rid}/s00003.m4s: video tfdt ")
    assert "catalog start frame" in problems[0]
    assert "differs from" in problems[1] and "boundaries not shared" in problems[1]


def test_catalog_duration_not_matching_trun(pkg: Path) -> None:
    _edit_catalog(pkg, lambda c: c["segments"][1].update(duration=c["segments"][1]["duration"] + 0.01))
    problems = validate(pkg)
    assert len(problems) == 2  # once per rendition
    assert all("trun sample durations sum to" in p and "s00001.m4s" in p for p in problems)


def test_codecs_not_matching_avcc(pkg: Path) -> None:
    _edit_catalog(pkg, lambda c: c["renditions"][0].update(codecs="avc1.42e01e,mp4a.40.2"))
    rid = _catalog(pkg)["renditions"][0]["id"]
    problems = validate(pkg)
    assert len(problems) == 1 and problems[0].startswith(f"{rid}/init.mp4: catalog CODECS "
                                                         "'avc1.42e01e,mp4a.40.2' but")
    _edit_catalog(pkg, lambda c: c["renditions"][1].update(video_codec="avc1.4d401e"))
    assert "the SPS in avcC says" in validate(pkg)[1]


def test_byte_sizes_and_missing_files(pkg: Path) -> None:
    rid = _catalog(pkg)["renditions"][0]["id"]
    with (pkg / rid / "s00000.m4s").open("ab") as f:
        f.write(b"\0" * 10)
    (pkg / rid / "s00004.m4s").unlink()
    problems = validate(pkg)
    assert len(problems) == 2, problems
    assert problems[0].startswith(f"{rid}/s00000.m4s: ") and "bytes on disk, catalog says" in problems[0]
    assert problems[1].startswith(f"{rid}/s00004.m4s: ") and "No such file" in problems[1]


def test_audio_rendition_off_the_grid(pkg: Path) -> None:
    path = pkg / "audio" / "s00003.m4s"
    data = bytearray(path.read_bytes())
    tfdt = boxes.find(data, None, "moof/traf/tfdt")
    assert tfdt is not None
    boxes.set_tfdt(data, tfdt, boxes.read_tfdt(data, tfdt)[1] + 1024)
    path.write_bytes(data)
    _edit_catalog(pkg, lambda c: c["segments"][5].update(
        audio_duration=c["segments"][5]["audio_duration"] + 0.001))
    problems = validate(pkg)
    assert len(problems) == 2, problems
    assert problems[0].startswith("audio/s00003.m4s: audio tfdt ")
    assert "the AAC grid starts this segment at frame" in problems[0]
    assert problems[1].startswith("audio/s00005.m4s: trun sample durations sum to ")


def test_audio_rendition_codecs_sizes_and_tracks(pkg: Path) -> None:
    _edit_catalog(pkg, lambda c: c["audio_renditions"][0].update(codecs="mp4a.40.5"))
    assert validate(pkg) == ["audio/init.mp4: catalog CODECS 'mp4a.40.5' but esds says "
                             "'mp4a.40.2'"]
    _edit_catalog(pkg, lambda c: c["audio_renditions"][0].update(codecs="mp4a.40.2"))
    with (pkg / "audio" / "s00001.m4s").open("ab") as f:
        f.write(b"\0" * 10)
    rid = _catalog(pkg)["renditions"][0]["id"]
    (pkg / "audio" / "init.mp4").write_bytes((pkg / rid / "init.mp4").read_bytes())
    assert validate(pkg)[-1] == "audio/init.mp4: want exactly one 'soun' track, found 0"
    (pkg / rid / "s00002.m4s").write_bytes((pkg / "audio" / "s00002.m4s").read_bytes())
    assert any(p.startswith(f"{rid}/s00002.m4s: ") for p in validate(pkg))


def test_spec_music_problems(synthetic_spec: Path, tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    raw = orjson.loads(synthetic_spec.read_bytes())
    write_music(tmp_path / "short.m4a", 1.0)
    raw["music"] = [{"id": "gone", "name": "Gone", "source": "gone.mp3"},
                    {"id": "mute", "name": "Mute", "source": str(synthetic_spec.parent / "charlie.mp4")},
                    {"id": "short", "name": "Short", "source": "short.m4a"}]
    raw["titles"] = [dict(t, source=str(synthetic_spec.parent / t["source"])) for t in raw["titles"]]
    path.write_bytes(orjson.dumps(raw))
    problems = validate_spec(path)
    assert len(problems) == 3, problems
    assert problems[0].startswith("spec.json: music[0] 'gone': music file not found: ")
    assert problems[1].startswith("spec.json: music[1] 'mute': no audio stream in ")
    assert problems[2].startswith("spec.json: music[2] 'short': short.m4a has 1.0")
    assert problems[2].endswith("s after its start, less than one segment (1.355s)")


def test_not_a_package(tmp_path: Path) -> None:
    assert "cannot read" in validate(tmp_path)[0]
    (tmp_path / "catalog.json").write_text("{")
    assert "not valid JSON" in validate(tmp_path)[0]
    (tmp_path / "catalog.json").write_text('{"schema": 1}')
    assert "not a schema 1 or 2 catalog" in validate(tmp_path)[0]


def _spec(folder: Path, titles: list[dict[str, Any]]) -> Path:
    path = folder / "spec.json"
    path.write_bytes(orjson.dumps({"asset_id": "check", "titles": titles}))
    return path


def test_spec_problems_all_reported_by_timecode(synthetic_spec: Path, tmp_path: Path,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    alpha = str(synthetic_spec.parent / "alpha.mp4")  # 7 s at 30 fps
    path = _spec(tmp_path, [
        {"id": "a", "name": "A", "source": alpha, "clips": [
            {"start": 1.5, "frames": 40},
            {"start": "00:00:06:20", "frames": 40},   # ends at 7.33 s: past the end
            {"start": "00:00:01:15", "frames": 40},   # the same frame as 1.5 s at 30 fps
        ]},
        {"id": "b", "name": "B", "source": "nowhere.mp4", "clips": [{"start": 0, "frames": 40}]},
    ])
    problems = validate_spec(path)
    assert len(problems) == 3, problems
    assert "'b'" in problems[0] and "not found" in problems[0] and "nowhere.mp4" in problems[0]
    assert problems[1].startswith("spec.json: titles[0] 'a' clips[1] (start 00:00:06:20): clip runs "
                                  "past the end of alpha.mp4")
    assert problems[2].startswith("spec.json: titles[0] 'a' clips[2] (start 00:00:01:15): same start "
                                  "and length as clip 'a-01'")
    assert run([str(path)]) == 1
    out, err = capfd.readouterr()
    assert out.splitlines() == problems and "3 problem(s)" in err


def test_spec_length_not_whole_frames(synthetic_spec: Path, tmp_path: Path) -> None:
    alpha = str(synthetic_spec.parent / "alpha.mp4")
    path = _spec(tmp_path, [{"id": "a", "name": "A", "source": alpha,
                             "clips": [{"start": "00:00:01:00", "frames": 40.5}]}])
    assert validate_spec(path) == ["spec.json: titles[0] 'a' clips[0] (start 00:00:01:00): frames: "
                                   "length 40.5 is not a whole number of frames"]


def test_usage(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 2
    assert run([str(tmp_path / "missing.json")]) == 2
    _, err = capfd.readouterr()
    assert "Traceback" not in err and "no such file or folder" in err
    assert run(["--help"]) == 0


def test_sizzle_dispatches_validate(ingest_synthetic_package: Package,
                                    capfd: pytest.CaptureFixture[str]) -> None:
    from edge.cli import main

    assert main(["validate", "-q", str(ingest_synthetic_package[0])]) == 0
    assert capfd.readouterr().out == ""
