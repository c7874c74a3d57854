"""Bad input: IngestError naming the culprit, exit 2 with one stderr line, old package intact."""
from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import orjson
import pytest

from ingest.build import build_package
from ingest.cli import run
from ingest.errors import IngestError
from ingest.synthetic import write_music
from tests.ingest.conftest import need_media

SpecMaker = Callable[[Path, Path], Path]  # (scratch folder, synthetic spec) -> spec path


def write_spec(folder: Path, source: str, clips: object = None, **top: object) -> Path:
    spec = {"asset_id": "bad", "titles": [{"id": "victim", "name": "Victim", "source": source,
                                           "clips": clips or [{"start": 0, "frames": 40}]}]}
    spec.update(top)
    path = folder / "spec.json"
    path.write_bytes(orjson.dumps(spec))
    return path


def alpha(synthetic: Path) -> str:
    return str(synthetic.parent / "alpha.mp4")


def missing_source(folder: Path, synthetic: Path) -> Path:
    return write_spec(folder, "no-such-file.mp4")


def random_bytes(folder: Path, synthetic: Path) -> Path:
    (folder / "garbage.mp4").write_bytes(np.random.default_rng(1).bytes(100_000))
    return write_spec(folder, "garbage.mp4")


def truncated_synthetic(folder: Path, synthetic: Path) -> Path:
    data = Path(alpha(synthetic)).read_bytes()
    (folder / "cut.mp4").write_bytes(data[: len(data) // 2])
    return write_spec(folder, "cut.mp4")


def truncated_real(folder: Path, synthetic: Path) -> Path:
    data = (need_media() / "crystal.mp4").read_bytes()
    (folder / "crystal-cut.mp4").write_bytes(data[: len(data) // 3])
    return write_spec(folder, "crystal-cut.mp4")


def audio_only(folder: Path, synthetic: Path) -> Path:
    with av.open(str(folder / "song.m4a"), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        stream.codec_context.layout = "stereo"
        frame = av.AudioFrame.from_ndarray(np.zeros((2, 1024), np.float32), format="fltp",
                                           layout="stereo")
        frame.sample_rate = 48000
        for i in range(10):
            frame.pts = i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return write_spec(folder, "song.m4a")


def past_end(folder: Path, synthetic: Path) -> Path:
    return write_spec(folder, alpha(synthetic), [{"start": 1, "frames": 40},
                                                  {"start": "00:00:06:10", "frames": 40}])


def bad_timecode(folder: Path, synthetic: Path) -> Path:
    return write_spec(folder, alpha(synthetic), [{"start": "00:00:7.5", "frames": 40}])


def frame_field_too_big(folder: Path, synthetic: Path) -> Path:
    return write_spec(folder, alpha(synthetic), [{"start": "00:00:01:30", "frames": 40}])


def not_json(folder: Path, synthetic: Path) -> Path:
    path = folder / "spec.json"
    path.write_text('{"asset_id": "bad", "titles": [')
    return path


def missing_key(folder: Path, synthetic: Path) -> Path:
    return write_spec(folder, alpha(synthetic), [{"start": 0}])


def no_titles(folder: Path, synthetic: Path) -> Path:
    path = folder / "spec.json"
    path.write_bytes(orjson.dumps({"asset_id": "bad"}))
    return path


def mega_missing(folder: Path, synthetic: Path) -> Path:
    path = folder / "spec.json"
    path.write_bytes(orjson.dumps({"asset_id": "bad", "mega_asset": "gone.mp4",
                                   "titles": [{"id": "victim", "name": "Victim"}],
                                   "clips": [{"title": "victim", "start": 0, "frames": 40}]}))
    return path


def edl_without_media(folder: Path, synthetic: Path) -> Path:
    path = folder / "cut.edl"
    path.write_text("TITLE: x\n\n001  VICTIM   V     C        00:00:01:00 00:00:02:10 "
                    "00:00:00:00 00:00:01:10\n* FROM CLIP NAME: victim|Victim\n")
    return path


def wrapper_bad_timeline(folder: Path, synthetic: Path) -> Path:
    (folder / "cut.otio").write_text('{"OTIO_SCHEMA": "Timeline.1", "tracks": [')
    path = folder / "spec.json"
    path.write_bytes(orjson.dumps({"timeline": "cut.otio", "media": {}}))
    return path


def with_music(folder: Path, synthetic: Path, *beds: dict[str, object]) -> Path:
    return write_spec(folder, alpha(synthetic), music=list(beds))


def music_missing(folder: Path, synthetic: Path) -> Path:
    return with_music(folder, synthetic, {"id": "bed", "name": "Bed", "source": "nope.mp3"})


def music_without_audio(folder: Path, synthetic: Path) -> Path:
    silent = str(synthetic.parent / "charlie.mp4")  # the synthetic title with no audio stream
    return with_music(folder, synthetic, {"id": "bed", "name": "Bed", "source": silent})


def music_bad_id(folder: Path, synthetic: Path) -> Path:
    write_music(folder / "tone.m4a", 3.0)
    return with_music(folder, synthetic, {"id": "a bed", "name": "Bed", "source": "tone.m4a"})


def music_duplicate_id(folder: Path, synthetic: Path) -> Path:
    write_music(folder / "tone.m4a", 3.0)
    bed = {"id": "bed", "name": "Bed", "source": "tone.m4a"}
    return with_music(folder, synthetic, bed, dict(bed, name="Again"))


def music_start_past_end(folder: Path, synthetic: Path) -> Path:
    write_music(folder / "tone.m4a", 3.0)
    return with_music(folder, synthetic, {"id": "bed", "name": "Bed", "source": "tone.m4a",
                                          "start": 5})


def music_too_short(folder: Path, synthetic: Path) -> Path:
    write_music(folder / "tone.m4a", 1.0)
    return with_music(folder, synthetic, {"id": "bed", "name": "Bed", "source": "tone.m4a"})


CASES: list[tuple[SpecMaker, str]] = [
    (missing_source, r"'victim'.*not found.*no-such-file\.mp4"),
    (random_bytes, r"'victim'.*garbage\.mp4"),
    (truncated_synthetic, r"'victim'.*cut\.mp4"),
    (truncated_real, r"'victim'.*truncated.*crystal-cut\.mp4"),
    (audio_only, r"'victim'.*no video stream.*song\.m4a"),
    (past_end, r"'victim' clips\[1\] \(start 00:00:06:10\).*past the end"),
    (bad_timecode, r"'victim' clips\[0\].*bad timecode '00:00:7\.5'"),
    (frame_field_too_big, r"'victim' clips\[0\].*bad timecode '00:00:01:30'"),
    (not_json, r"spec\.json is not valid JSON"),
    (missing_key, r"'victim' clips\[0\]: missing 'frames'"),
    (no_titles, r"spec\.json: missing 'titles'"),
    (mega_missing, r"'victim'.*not found.*gone\.mp4"),
    (edl_without_media, r"cut\.edl event 1 'victim\|Victim'.*reel 'VICTIM' is not in the media map"),
    (wrapper_bad_timeline, r"cannot read timeline cut\.otio"),
    (music_missing, r"spec\.json: music\[0\] 'bed': music file not found: .*nope\.mp3"),
    (music_without_audio, r"music\[0\] 'bed': no audio stream in .*charlie\.mp4"),
    (music_bad_id, r"music\[0\] 'a bed': id: 'a bed' is not a valid id"),
    (music_duplicate_id, r"spec\.json: music id 'bed' is used twice"),
    (music_start_past_end, r"music\[0\] 'bed': start 5s is past the end of tone\.m4a \(3\.0"),
    (music_too_short, r"music\[0\] 'bed': tone\.m4a has 1\.0\d+s after its start, less than one "
                      r"segment \(1\.355s\)"),
]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture()
def old_package(tmp_path: Path) -> Path:
    out = tmp_path / "out" / "pkg"
    (out / "360p").mkdir(parents=True)
    (out / "catalog.json").write_bytes(b'{"schema": 1, "old": true}')
    (out / "360p" / "init.mp4").write_bytes(b"old init")
    (out / "360p" / "s00000.m4s").write_bytes(os.urandom(1000))
    return out


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir())


@pytest.mark.parametrize(("make", "culprit"), CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_input_raises_and_keeps_the_old_package(make: SpecMaker, culprit: str, tmp_path: Path,
                                                    synthetic_spec: Path, old_package: Path) -> None:
    spec = make(tmp_path, synthetic_spec)
    before = snapshot(old_package)
    with pytest.raises(IngestError, match=culprit) as caught:
        build_package(spec, old_package)
    assert "\n" not in str(caught.value)
    assert snapshot(old_package) == before
    assert siblings(old_package) == ["pkg"]  # no temporary folder left behind


@pytest.mark.parametrize(("make", "culprit"), CASES, ids=[c[0].__name__ for c in CASES])
def test_cli_reports_one_line_and_exits_2(make: SpecMaker, culprit: str, tmp_path: Path,
                                          synthetic_spec: Path, old_package: Path,
                                          capfd: pytest.CaptureFixture[str]) -> None:
    spec = make(tmp_path, synthetic_spec)
    before = snapshot(old_package)
    assert run([str(spec), "--out", str(old_package)]) == 2
    out, err = capfd.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("sizzle ingest: error: "), err
    assert "Traceback" not in err
    import re
    assert re.search(culprit, err), err
    assert snapshot(old_package) == before
    assert siblings(old_package) == ["pkg"]


def test_unwritable_output(tiny_spec: Path, tmp_path: Path,
                           capfd: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a folder")
    with pytest.raises(IngestError, match="a-file"):
        build_package(tiny_spec, blocker / "pkg")
    assert run([str(tiny_spec), "--out", str(blocker / "pkg")]) == 2
    _, err = capfd.readouterr()
    assert err.count("\n") == 1 and "a-file" in err
    assert blocker.read_bytes() == b"not a folder"
    with pytest.raises(IngestError, match="not a folder"):
        build_package(tiny_spec, blocker)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_parent(tiny_spec: Path, tmp_path: Path) -> None:
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        with pytest.raises(IngestError, match="ro"):
            build_package(tiny_spec, parent / "pkg")
    finally:
        parent.chmod(0o700)


def test_refuses_to_replace_a_folder_that_is_not_a_package(tiny_spec: Path, tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    with pytest.raises(IngestError, match="refusing"):
        build_package(tiny_spec, precious)
    assert (precious / "thesis.txt").read_text() == "do not delete"


def test_usage_errors_exit_2(capfd: pytest.CaptureFixture[str]) -> None:
    assert run([]) == 2
    assert run(["spec.json"]) == 2  # no --out
    _, err = capfd.readouterr()
    assert "Traceback" not in err and "--out" in err
    assert run(["--help"]) == 0


def test_spec_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read spec"):
        build_package(tmp_path, tmp_path / "pkg")
    assert not (tmp_path / "pkg").exists()
    shutil.rmtree(tmp_path, ignore_errors=True)
