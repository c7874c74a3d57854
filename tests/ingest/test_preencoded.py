"""Pre-encoded Mega Assets: stream copy when every boundary is a keyframe, else re-encode and say why."""
from __future__ import annotations

import dataclasses
import errno
import io
import threading
from pathlib import Path
from typing import Any

import av
import orjson
import pytest

from ingest import package
from ingest.build import build_package, plan_spec
from ingest.encode import MOVFLAGS
from ingest.errors import IngestError
from ingest.package import BoxStream, Splitter, package_rendition
from ingest.plan import Plan
from ingest.preencoded import copy_blockers, remux, stream_copy
from ingest.synthetic import write_music
from ingest.validate import validate
from tests.ingest.media_checks import span_bytes

Package = tuple[Path, dict[str, Any]]


def timecode(frame: int, fps: int = 30) -> str:
    return f"00:00:{frame // fps:02d}:{frame % fps:02d}"


def mux(video: bytes, audio: bytes, path: Path) -> None:
    """One fragmented H.264/AAC file from a video-only and an audio-only fMP4, by stream copy."""
    with av.open(io.BytesIO(video), format="mp4") as vsrc, \
            av.open(io.BytesIO(audio), format="mp4") as asrc, \
            av.open(str(path), "w", format="mp4", options={"movflags": MOVFLAGS}) as dst:
        vout = dst.add_stream_from_template(vsrc.streams.video[0])
        aout = dst.add_stream_from_template(asrc.streams.audio[0])
        vpackets = [p for p in vsrc.demux(vsrc.streams.video[0]) if p.size]
        apackets = [p for p in asrc.demux(asrc.streams.audio[0]) if p.size]
        for packet in sorted(vpackets + apackets,
                             key=lambda p: float(p.dts * p.time_base)):  # type: ignore[operator]
            packet.stream = vout if packet in vpackets else aout
            dst.mux(packet)


@pytest.fixture()
def mega(ingest_synthetic_package: Package, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The synthetic package's top rendition and its audio as one long fragmented H.264/AAC file
    (muxed, as a third party delivers it) + clip list."""
    pkg, catalog = ingest_synthetic_package
    top, audio = catalog["renditions"][0], catalog["audio_renditions"][0]
    path = tmp_path / "mega.mp4"
    every = [s["index"] for s in catalog["segments"]]
    mux(span_bytes(pkg, top, every), span_bytes(pkg, audio, every), path)
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
    write_music(tmp_path / "bed.m4a", 3.0)
    spec["music"] = [{"id": "bed", "name": "Bed", "source": "bed.m4a"}]  # beds need no re-encode
    notes: list[str] = []
    out = tmp_path / "pkg"
    catalog = build_package(write(tmp_path, spec), out, report=notes.append)
    assert notes[0] == "stream copy: mega.mp4 packaged as 360p without re-encoding (audio as delivered)"
    assert notes[1].startswith("music bed: 2 segments, loudness ")
    assert [(m["id"], len(m["segments"])) for m in catalog["music"]] == [("bed", 2)]
    original = ingest_synthetic_package[1]
    assert [r["id"] for r in catalog["renditions"]] == ["360p"]
    # schema 2, muxed: the audio stays in the video rendition, no audio rendition
    assert catalog["schema"] == 2 and "audio_renditions" not in catalog
    assert catalog["renditions"][0]["codecs"] == f"{original['renditions'][0]['codecs']},mp4a.40.2"
    assert [set(s["bytes"]) for s in catalog["segments"]] == [{"360p"}] * len(catalog["segments"])
    assert all(abs(s["audio_duration"] - s["duration"]) < 0.03 for s in catalog["segments"])
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


def _copy_plan(spec_path: Path) -> Plan:
    plan = plan_spec(spec_path)
    return dataclasses.replace(plan, renditions=plan.renditions[:1])


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_one_pass_stream_copy_matches_remux_then_split(mega: tuple[Path, dict[str, Any]],
                                                      tmp_path: Path) -> None:
    """stream_copy (remux, keyframe checks and split in one pass, no intermediate file) gives the
    same files and the same description as the two-pass remux + package_rendition."""
    source, spec = mega
    plan = _copy_plan(write(tmp_path, spec))
    top = plan.renditions[0]
    whole = remux(plan, source, tmp_path / "whole.mp4")
    two_pass = package_rendition(whole, tmp_path / "two", plan, top, video_only=False)
    one_pass, blockers = stream_copy(plan, source, tmp_path / "one")
    assert blockers == [] and one_pass == two_pass
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    # any chunking of the muxer's writes cuts the same boxes
    for chunk in (1, 7, 4096, 1 << 20):
        splitter = Splitter(tmp_path / f"c{chunk}", plan, "chunked", background=chunk == 7)
        sink = BoxStream(splitter)
        data = whole.read_bytes()
        for at in range(0, len(data), chunk):
            sink.write(data[at:at + chunk])
        sink.close()
        assert splitter.finish(top, video_only=False) == two_pass
        assert _files(tmp_path / f"c{chunk}") == _files(tmp_path / "two")


def test_stream_copy_of_b_frame_footage_reports_blockers(media_dir: Path, tmp_path: Path) -> None:
    spec = {"asset_id": "bloom", "mega_asset": str(media_dir / "flower.mp4"), "segment_frames": 90,
            "titles": [{"id": "flower", "name": "Bloom"}],
            "clips": [{"title": "flower", "start": 0, "frames": 90},
                      {"title": "flower", "start": "00:00:03:00", "frames": 40}]}
    plan = _copy_plan(write(tmp_path, spec))
    copied, blockers = stream_copy(plan, media_dir / "flower.mp4", tmp_path / "out")
    assert copied is None
    assert blockers == copy_blockers(plan, media_dir / "flower.mp4")
    assert any("B-frames" in b for b in blockers), blockers


def test_write_failure_during_stream_copy_leaves_nothing(mega: tuple[Path, dict[str, Any]],
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk-full error in the segment writer thread surfaces as the one-line output error (not
    PyAV's callback error), and no partial package or staging folder is left behind."""
    _, spec = mega
    real = package._write_all
    calls: list[int] = []

    def full(fd: int, pieces: list[bytes]) -> None:
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd, pieces)

    monkeypatch.setattr(package, "_write_all", full)
    out = tmp_path / "out" / "pkg"
    with pytest.raises(IngestError, match=r"cannot write output .*No space left on device"):
        build_package(write(tmp_path, spec), out)
    assert not out.exists() and list(out.parent.iterdir()) == []
    assert [t.name for t in threading.enumerate() if t.name == "segment-writer"] == []
