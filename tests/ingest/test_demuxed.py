"""The demuxed layout (catalog schema 2): video-only renditions and one audio rendition cut on the
AAC frame grid, each decodable on its own and aligned with video at every segment."""
from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import orjson
import pytest

from ingest import aac, boxes, encode
from ingest.build import build_package
from ingest.grid import mega_asset_spans
from tests.ingest.media_checks import AAC_FRAME_SECONDS, check_catalog, segment_path, span_bytes

Package = tuple[Path, dict[str, Any]]


def trafs(data: bytes) -> list[tuple[int, int, int, int]]:
    """(track id, tfdt version, tfdt, samples) of every track fragment of a segment file."""
    out = []
    for traf in boxes.find_all(data, None, "moof/traf"):
        tfhd, tfdt = boxes.find(data, traf, "tfhd"), boxes.find(data, traf, "tfdt")
        assert tfhd is not None and tfdt is not None
        samples = sum(boxes.read_trun(data, t).sample_count
                      for t in boxes.find_all(data, traf, "trun"))
        out.append((boxes.read_tfhd(data, tfhd).track_id, *boxes.read_tfdt(data, tfdt), samples))
    return out


def test_video_renditions_have_one_track(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    for rendition in catalog["renditions"]:
        init = (pkg / rendition["init"]).read_bytes()
        assert len(list(boxes.find_all(init, None, "moov/trak"))) == 1
        with av.open(io.BytesIO(init), format="mp4") as container:
            assert [s.type for s in container.streams] == ["video"]
        for segment in catalog["segments"]:
            assert len(trafs(segment_path(pkg, rendition, segment["index"]).read_bytes())) == 1


def test_audio_segments_follow_the_aac_grid(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    check_catalog(pkg, catalog)
    (audio,) = catalog["audio_renditions"]
    init = (pkg / audio["init"]).read_bytes()
    assert [b.type for b in boxes.iter_boxes(init)] == ["ftyp", "moov"]
    assert boxes.find(init, None, "moov/trak/edts") is None  # no edit list: starts at 0
    segments = catalog["segments"]
    total = sum(s["frames"] for s in segments)
    spans = mega_asset_spans([s["start_frame"] for s in segments], total, Fraction(30))
    assert spans[-1][1] == -(-total * 48000 // (30 * 1024))  # every frame starting before the end
    for segment, (first, stop) in zip(segments, spans, strict=True):
        data = segment_path(pkg, audio, segment["index"]).read_bytes()
        [(track, version, tfdt, frames)] = trafs(data)  # one track
        assert (version, tfdt, frames) == (1, first * 1024, stop - first), segment["index"]
        video_start = segment["start_frame"] * 48000 // 30
        assert 0 <= tfdt - video_start < 1024  # starts within one AAC frame after the video


def test_each_segment_decodes_alone_and_stays_aligned(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    (audio,) = catalog["audio_renditions"]
    for segment in catalog["segments"]:
        index = segment["index"]
        with av.open(io.BytesIO(span_bytes(pkg, audio, [index])), format="mp4") as container:
            packets = [p for p in container.demux(audio=0) if p.size]
            assert packets[0].time_base == Fraction(1, 48000)
            audio_start = packets[0].pts / 48000
            audio_end = (packets[-1].pts + packets[-1].duration) / 48000
        with av.open(io.BytesIO(span_bytes(pkg, audio, [index])), format="mp4") as container:
            samples = sum(f.samples for f in container.decode(audio=0))
        assert samples == 1024 * len(packets)
        assert abs(audio_end - audio_start - segment["audio_duration"]) < 1e-6
        for rendition in catalog["renditions"]:
            data = span_bytes(pkg, rendition, [index])
            with av.open(io.BytesIO(data), format="mp4") as container:
                frames = list(container.decode(video=0))
            assert len(frames) == segment["frames"] and frames[0].key_frame
            video_start = float(frames[0].pts * frames[0].time_base)
            video_end = video_start + segment["duration"]
            assert 0 <= audio_start - video_start < AAC_FRAME_SECONDS, index
            assert 0 <= audio_end - video_end < AAC_FRAME_SECONDS + 1e-6, index


def test_whole_audio_rendition_is_continuous(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    (audio,) = catalog["audio_renditions"]
    every = [s["index"] for s in catalog["segments"]]
    with av.open(io.BytesIO(span_bytes(pkg, audio, every)), format="mp4") as container:
        pts = [p.pts for p in container.demux(audio=0) if p.size]
    assert pts == list(range(0, 1024 * len(pts), 1024))
    with av.open(io.BytesIO(span_bytes(pkg, audio, every)), format="mp4") as container:
        sound = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    assert sound.shape[0] == 2 and float(np.abs(sound).max()) > 0.1


def test_audio_is_encoded_once_for_the_whole_ladder(tiny_spec: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[aac.AacEncoder] = []

    class Counting(aac.AacEncoder):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(encode, "AacEncoder", Counting)
    spec = orjson.loads(tiny_spec.read_bytes())
    spec["renditions"] = [{"height": 360}, {"height": 240}, {"height": 180}]
    (tmp_path / "three.json").write_bytes(orjson.dumps(spec))
    catalog = build_package(tmp_path / "three.json", tmp_path / "pkg")
    assert len(catalog["renditions"]) == 3 and len(made) == 1
