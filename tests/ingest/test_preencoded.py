"""Pre-encoded Mega Assets: stream copy when every boundary is a keyframe, else re-encode and say why."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest.build import build_package, plan_spec
from ingest.preencoded import copy_blockers
from ingest.validate import validate
from tests.ingest.media_checks import span_bytes

Package = tuple[Path, dict[str, Any]]


def timecode(frame: int, fps: int = 30) -> str:
    return f"00:00:{frame // fps:02d}:{frame % fps:02d}"


@pytest.fixture()
def mega(ingest_synthetic_package: Package, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The synthetic package's top rendition as one long fragmented H.264/AAC file + clip list."""
    pkg, catalog = ingest_synthetic_package
    top = catalog["renditions"][0]
    path = tmp_path / "mega.mp4"
    path.write_bytes(span_bytes(pkg, top, [s["index"] for s in catalog["segments"]]))
    spec = {"asset_id": "pre", "mega_asset": "mega.mp4", "titles": catalog["titles"],
            "clips": [{"title": c["title"], "start": timecode(c["start_frame"]),
                       "frames": c["frames"], "id": c["id"]} for c in catalog["clips"]]}
    return path, spec


def write(folder: Path, spec: dict[str, Any]) -> Path:
    path = folder / "mega.json"
    path.write_bytes(orjson.dumps(spec))
    return path


def test_keyframe_aligned_asset_is_stream_copied(mega: tuple[Path, dict[str, Any]], tmp_path: Path,
                                                 ingest_synthetic_package: Package) -> None:
    source, spec = mega
    notes: list[str] = []
    out = tmp_path / "pkg"
    catalog = build_package(write(tmp_path, spec), out, report=notes.append)
    assert notes == ["stream copy: mega.mp4 packaged as 360p without re-encoding (audio as delivered)"]
    original = ingest_synthetic_package[1]
    assert [r["id"] for r in catalog["renditions"]] == ["360p"]
    assert catalog["renditions"][0]["codecs"] == original["renditions"][0]["codecs"]
    assert [(s["start_frame"], s["frames"], s["duration"]) for s in catalog["segments"]] == [
        (s["start_frame"], s["frames"], s["duration"]) for s in original["segments"]]
    assert [c["id"] for c in catalog["clips"]] == [c["id"] for c in original["clips"]]
    assert validate(out) == []


def test_boundaries_off_keyframes_force_a_re_encode(mega: tuple[Path, dict[str, Any]],
                                                    tmp_path: Path) -> None:
    _, spec = mega
    spec["clips"] = spec["clips"][:2]
    spec["clips"][1]["start"] = timecode(50)  # the file's keyframes are at 0, 40, 80, ...
    spec["clips"][0]["frames"] = 50
    notes: list[str] = []
    out = tmp_path / "pkg"
    catalog = build_package(write(tmp_path, spec), out, report=notes.append)
    assert notes[0].startswith("re-encoding mega.mp4: 2 segment boundaries are not keyframes: "
                               "alpha-02 frame 50 (00:00:01.667), alpha-02 frame 90 (00:00:03.000)")
    assert len(catalog["renditions"]) == 2 and validate(out) == []


def test_real_footage_with_b_frames_is_not_copied(media_dir: Path, tmp_path: Path) -> None:
    spec = {"asset_id": "bloom", "mega_asset": str(media_dir / "flower.mp4"), "segment_frames": 90,
            "titles": [{"id": "flower", "name": "Bloom"}],
            "clips": [{"title": "flower", "start": 0, "frames": 90},
                      {"title": "flower", "start": "00:00:03:00", "frames": 40}]}
    plan = plan_spec(write(tmp_path, spec))
    blockers = copy_blockers(plan, media_dir / "flower.mp4")
    assert any("B-frames" in b for b in blockers), blockers
    assert not any("keyframes" in b for b in blockers), blockers  # 0 s and 3 s are keyframes


def test_bad_clip_list(tmp_path: Path, mega: tuple[Path, dict[str, Any]]) -> None:
    _, spec = mega
    spec["clips"][0]["title"] = "nobody"
    assert validate(write(tmp_path, spec)) == ["mega.json: clips[0]: unknown title 'nobody'"]


def test_more_keyframes_than_segments(mega: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    _, spec = mega
    spec["segment_frames"] = 80  # the file has an IDR every 40 frames: two fragments per segment
    notes: list[str] = []
    out = tmp_path / "pkg"
    catalog = build_package(write(tmp_path, spec), out, report=notes.append)
    assert notes[0].startswith("stream copy")
    assert max(s["frames"] for s in catalog["segments"]) == 80
    two = next(s for s in catalog["segments"] if s["frames"] == 80)
    data = (out / "360p" / f"s{two['index']:05d}.m4s").read_bytes()
    assert data.count(b"moof") == 2
    assert validate(out) == []
