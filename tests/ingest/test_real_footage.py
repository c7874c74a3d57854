"""A package built from the real footage in ../shared/media, read back as a player would."""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import av
import numpy as np
import orjson
import pytest

from ingest import boxes
from ingest.build import build_package
from ingest.loudness import measure
from ingest.validate import validate
from tests.ingest.media_checks import AAC_FRAME_SECONDS, check_catalog, read_span, segment_path

Package = tuple[Path, dict[str, Any]]
EPS = 1e-6


def tfdts(path: Path) -> dict[str, tuple[int, int]]:
    """{handler-ish track id: (tfdt version, value)} of one segment file."""
    data = path.read_bytes()
    out = {}
    for traf in boxes.find_all(data, None, "moof/traf"):
        tfhd = boxes.read_tfhd(data, boxes.find(data, traf, "tfhd"))  # type: ignore[arg-type]
        tfdt = boxes.find(data, traf, "tfdt")
        assert tfdt is not None
        out[str(tfhd.track_id)] = boxes.read_tfdt(data, tfdt)
    return out


def test_catalog_matches_schema_and_files(ingest_real_package: Package) -> None:
    pkg, catalog = ingest_real_package
    check_catalog(pkg, catalog)
    assert catalog["frame_rate"] == [30, 1] and catalog["timescale"] == 15360
    assert [(r["id"], r["width"], r["height"]) for r in catalog["renditions"]] == [
        ("540p", 960, 540), ("360p", 640, 360)]
    assert [c["id"] for c in catalog["clips"]] == ["friday-01", "friday-02", "flower-01", "bud",
                                                  "stream-01", "crystal-01"]
    assert catalog["clips"][4]["talent"] == ["Guest Star"]
    assert catalog["clips"][2]["source"] == {"file": "flower.mp4",
                                             "start": round(40 * 1001 / 30000, 6)}
    assert [len(c["segments"]) for c in catalog["clips"]] == [4, 1, 2, 1, 2, 2]
    assert catalog["segments"][-1]["frames"] == 20  # crystal's 60 frames: 40 + 20


def test_every_segment_starts_with_a_keyframe(ingest_real_package: Package) -> None:
    pkg, catalog = ingest_real_package
    for rendition in catalog["renditions"]:
        for segment in catalog["segments"]:
            got = read_span(pkg, rendition, [segment["index"]])
            where = f"{rendition['id']} segment {segment['index']}"
            assert got.first_packet_key and got.first_frame_key, where
            assert 5 in got.first_packet_nal_types, where  # an IDR slice, not just an I frame
            assert got.frames == segment["frames"], where


def test_renditions_share_boundaries(ingest_real_package: Package) -> None:
    pkg, catalog = ingest_real_package
    top, other = catalog["renditions"]
    per_frame = catalog["timescale"] // 30
    for segment in catalog["segments"]:
        a = tfdts(segment_path(pkg, top, segment["index"]))
        b = tfdts(segment_path(pkg, other, segment["index"]))
        assert a == b
        assert all(version == 1 for version, _ in a.values())
        video_track = min(a)  # track 1 is video
        assert a[video_track][1] == segment["start_frame"] * per_frame


def test_clip_video_and_audio_spans(ingest_real_package: Package) -> None:
    pkg, catalog = ingest_real_package
    fps = 30.0
    for rendition in catalog["renditions"]:
        for clip in catalog["clips"]:
            got = read_span(pkg, rendition, clip["segments"])
            where = f"{rendition['id']} {clip['id']}"
            start = clip["start_frame"] / fps
            assert got.frames == clip["frames"], where
            assert abs(got.video_pts[0] - start) < EPS, where
            duration = got.video_end - got.video_pts[0]
            assert abs(duration - clip["frames"] / fps) <= 1 / fps + EPS, where
            assert abs(duration - clip["duration"]) < 1e-5, where
            assert got.audio_start is not None and got.audio_end is not None, where
            assert abs(got.audio_start - got.video_pts[0]) <= AAC_FRAME_SECONDS + EPS, where
            assert abs(got.audio_end - got.video_end) <= AAC_FRAME_SECONDS + EPS, where
            assert got.audio.shape[0] == 2, where


def test_audio_is_continuous_across_the_asset(ingest_real_package: Package) -> None:
    pkg, catalog = ingest_real_package
    rendition = catalog["renditions"][1]
    got = read_span(pkg, rendition, [s["index"] for s in catalog["segments"]])
    total = sum(c["frames"] for c in catalog["clips"]) / 30
    assert got.audio_start == 0.0 and got.video_pts[0] == 0.0
    assert abs(got.audio_end - total) < EPS  # audio ends exactly where the video does
    assert abs(got.audio.shape[1] / 48000 - total) <= 2 * AAC_FRAME_SECONDS
    assert math.sqrt(float((got.audio ** 2).mean())) > 0.01  # real sound made it through


def test_codecs_match_the_sps(ingest_real_package: Package) -> None:
    pkg, catalog = ingest_real_package
    for rendition in catalog["renditions"]:
        with av.open(io.BytesIO((pkg / rendition["init"]).read_bytes()), format="mp4") as c:
            assert [s.type for s in c.streams] == ["video"]  # demuxed: video only
            extradata = c.streams.video[0].codec_context.extradata
        assert extradata is not None and extradata[0] == 1  # avcC
        profile, compat, level = extradata[1:4]
        assert rendition["video_codec"] == f"avc1.{profile:02x}{compat:02x}{level:02x}"
        assert rendition["codecs"] == rendition["video_codec"]
    (audio_rendition,) = catalog["audio_renditions"]
    with av.open(io.BytesIO((pkg / audio_rendition["init"]).read_bytes()), format="mp4") as c:
        assert [s.type for s in c.streams] == ["audio"]
        audio = c.streams.audio[0].codec_context
        assert (audio.sample_rate, audio.layout.nb_channels) == (48000, 2)
        assert audio.extradata is not None and audio.extradata[0] >> 3 == 2  # AAC-LC
    assert audio_rendition["codecs"] == "mp4a.40.2"
    # High@3.1 for 540p, Main@3.0 for 360p (ingest/ladder.py)
    assert [r["video_codec"] for r in catalog["renditions"]] == ["avc1.64001f", "avc1.4d401e"]


def test_pillarboxed_source_has_black_sides(ingest_real_package: Package) -> None:
    pkg, catalog = ingest_real_package
    friday = catalog["clips"][0]
    for rendition in catalog["renditions"]:
        luma = read_span(pkg, rendition, friday["segments"][:1]).first_frame
        w = rendition["width"]
        bar = w * 120 // 960  # 640x480 (4:3) in 16:9: 720 of 960 wide, 120 each side
        assert luma.shape == (rendition["height"], w)
        assert luma[:, : bar - 4].mean() < 20 and luma[:, w - bar + 4:].mean() < 20
        assert luma[:, bar + 10: w - bar - 10].mean() > 40
    flower = catalog["clips"][2]  # 960x540 source fills the frame
    luma = read_span(pkg, catalog["renditions"][0], flower["segments"][:1]).first_frame
    assert luma[:, :40].mean() > 20 or luma[:, -40:].mean() > 20


@pytest.mark.parametrize("index", [0, 1, 2])
def test_no_edit_lists_and_no_negative_audio(ingest_real_package: Package, index: int) -> None:
    pkg, catalog = ingest_real_package
    rendition = [*catalog["renditions"], *catalog["audio_renditions"]][index]
    init = (pkg / rendition["init"]).read_bytes()
    assert boxes.find(init, None, "moov/trak/edts") is None
    assert [b.type for b in boxes.iter_boxes(init)] == ["ftyp", "moov"]


def test_real_music_bed(media_dir: Path, tmp_path: Path) -> None:
    """The demo's bed (97 s MP3, 44.1 kHz) from 80 s, under 6.67 s of clips: levelled, faded, valid."""
    music = media_dir / "outfoxing.mp3"
    if not music.is_file():
        pytest.skip(f"{music} not found")
    spec = {"asset_id": "bed", "titles": [
        {"id": "friday", "name": "Friday", "source": str(media_dir / "friday.mp4"),
         "clips": [{"start": 0.3, "frames": 160}, {"start": 4.0, "frames": 40}]}],
        "music": [{"id": "outfoxing", "name": "Outfoxing the Fox", "source": str(music),
                   "credit": "Kevin MacLeod (incompetech.com)", "start": 80}]}
    path = tmp_path / "spec.json"
    path.write_bytes(orjson.dumps(spec))
    notes: list[str] = []
    catalog = build_package(path, tmp_path / "pkg", report=notes.append)
    (bed,) = catalog["music"]
    # 17.4 s left after 80 s, capped at the asset's 6.67 s + one segment = 8 s: 6 whole segments
    assert len(bed["segments"]) == 6
    assert any(n.startswith("music outfoxing: 6 segments, loudness ") for n in notes), notes
    assert validate(tmp_path / "pkg") == []
    data = b"".join((tmp_path / "pkg" / n).read_bytes() for n in [
        bed["init"], *(bed["segment_template"].format(index=k) for k in range(5)),
        bed["fade_template"].format(index=5)])
    with av.open(io.BytesIO(data), format="mp4") as c:
        sound = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    loudness = measure(sound[:, : -48000 * 4 // 3])  # all but the faded last segment
    assert loudness.integrated is not None and abs(loudness.integrated + 16) < 1
    assert float(np.abs(sound[:, -480:]).max()) < 1e-3
