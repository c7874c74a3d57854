"""Atomic output: a package appears complete or not at all, and replaces an old one only when done."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from ingest import build
from ingest.build import build_package
from ingest.cli import run
from ingest.errors import IngestError
from tests.ingest.media_checks import check_catalog


def test_build_then_rebuild_replaces_the_package(tiny_spec: Path, tmp_path: Path,
                                                 capfd: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "deep" / "pkg"
    first = build_package(tiny_spec, out)
    check_catalog(out, first)
    assert orjson.loads((out / "catalog.json").read_bytes()) == first
    assert len(first["segments"]) == 1 and first["clips"][0]["id"] == "alpha-01"
    (out / "stale.txt").write_text("from the old package")
    assert run([str(tiny_spec), "--out", str(out)]) == 0
    captured = capfd.readouterr()
    assert "tiny" in captured.out and captured.err == ""
    second = orjson.loads((out / "catalog.json").read_bytes())
    check_catalog(out, second)
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in out.parent.iterdir()) == ["pkg"]
    assert (out.stat().st_mode & 0o777) == 0o755


def test_failure_mid_build_keeps_the_old_package(tiny_spec: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "pkg"
    build_package(tiny_spec, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken_catalog(*args: Any, **kwargs: Any) -> Any:
        raise IngestError("disk on fire")

    monkeypatch.setattr(build, "build_catalog", broken_catalog)
    with pytest.raises(IngestError, match="disk on fire"):
        build_package(tiny_spec, out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pkg", "tiny.json"]


def test_progress_reports_every_frame(tiny_spec: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    build_package(tiny_spec, tmp_path / "pkg",
                  progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (1, 40) and seen[-1] == (40, 40) and len(seen) == 40


def test_version_changes_with_the_media(tiny_spec: Path, tmp_path: Path) -> None:
    a = build_package(tiny_spec, tmp_path / "a")
    spec = orjson.loads(tiny_spec.read_bytes())
    spec["titles"][0]["clips"] = [{"start": 1, "frames": 40}]
    other = tmp_path / "other.json"
    other.write_bytes(orjson.dumps(spec))
    b = build_package(other, tmp_path / "b")
    assert a["version"] != b["version"]
    assert a["segments"][0]["bytes"] != b["segments"][0]["bytes"]


def test_ntsc_rate_custom_ladder_and_segment_length(tiny_spec: Path, tmp_path: Path) -> None:
    spec = orjson.loads(tiny_spec.read_bytes())
    spec.update(frame_rate="30000/1001", segment_frames=24,
                renditions=[{"height": 240}, {"id": "top", "height": 360, "maxrate_kbps": 900},
                            {"height": 180}])
    spec["titles"][0]["clips"] = [{"start": 0.2, "frames": 50}, {"start": 2, "frames": 24}]
    path = tmp_path / "ntsc.json"
    path.write_bytes(orjson.dumps(spec))
    out = tmp_path / "pkg"
    catalog = build_package(path, out)
    check_catalog(out, catalog)
    assert catalog["frame_rate"] == [30000, 1001] and catalog["timescale"] == 30000
    assert [r["id"] for r in catalog["renditions"]] == ["top", "240p", "180p"]
    # Main@3.0, Constrained Baseline@3.0, Constrained Baseline@1.3 (the lowest level that fits)
    assert [r["video_codec"] for r in catalog["renditions"]] == ["avc1.4d401e", "avc1.42c01e",
                                                                 "avc1.42c00d"]
    assert [r["frame_rate"] for r in catalog["renditions"]] == [29.97] * 3
    assert [s["frames"] for s in catalog["segments"]] == [24, 24, 2, 24]
    assert catalog["segments"][0]["duration"] == round(24 * 1001 / 30000, 6)


def test_symlinked_package_is_replaced_by_a_real_folder(tiny_spec: Path, tmp_path: Path) -> None:
    real = build_package(tiny_spec, tmp_path / "v1")
    link = tmp_path / "current"
    link.symlink_to(tmp_path / "v1")
    catalog = build_package(tiny_spec, link)
    assert link.is_dir() and not link.is_symlink()
    assert catalog["version"] != real["version"]  # every encode gets a new version
    assert (tmp_path / "v1" / "catalog.json").is_file()  # the old target is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "tiny.json", "v1"]


def test_progress_bar_draws_one_line() -> None:
    import io

    from ingest.cli import ProgressBar

    ticks = iter([0.0, 1.0, 2.0, 3.0])
    out = io.StringIO()
    bar = ProgressBar(out, clock=lambda: next(ticks))
    bar(30, 60)
    bar(30, 60)  # same percent: not redrawn
    bar(60, 60)
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")
    assert "[###############...............]  50% 30/60 frames, 30 fps, ETA 1 s" in text
    assert "100% 60/60 frames" in text
