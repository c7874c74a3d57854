"""A package built from synthetic sources: mono, missing audio, 25 fps, short clips, anamorphic."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ingest.loudness import measure
from tests.ingest.media_checks import AAC_FRAME_SECONDS, check_catalog, read_span

Package = tuple[Path, dict[str, Any]]


def clips_of(catalog: dict[str, Any], title: str) -> list[dict[str, Any]]:
    return [c for c in catalog["clips"] if c["title"] == title]


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0


def test_catalog(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    check_catalog(pkg, catalog)
    assert catalog["frame_rate"] == [30, 1]
    assert [r["id"] for r in catalog["renditions"]] == ["360p", "240p"]
    assert [t["id"] for t in catalog["titles"]] == ["alpha", "bravo", "charlie", "delta"]


def test_short_clip_is_one_short_segment(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    short = next(c for c in catalog["clips"] if c["frames"] == 25)
    assert short["id"] == "alpha-short" and len(short["segments"]) == 1
    segment = catalog["segments"][short["segments"][0]]
    assert segment["frames"] == 25 and segment["duration"] == round(25 / 30, 6)
    got = read_span(pkg, catalog["renditions"][0], short["segments"])
    assert got.frames == 25 and got.first_frame_key


def test_25fps_source_conforms_to_exact_frame_counts(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    for clip in clips_of(catalog, "bravo"):
        got = read_span(pkg, catalog["renditions"][1], clip["segments"])
        assert got.frames == clip["frames"]
        assert abs(got.video_end - got.video_pts[0] - clip["frames"] / 30) < 1e-6


def test_mono_source_is_upmixed(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    for clip in clips_of(catalog, "bravo"):
        got = read_span(pkg, catalog["renditions"][0], clip["segments"])
        assert got.audio.shape[0] == 2
        assert rms(got.audio) > 0.1
        assert rms(got.audio[0] - got.audio[1]) < 0.01 * rms(got.audio)


def test_missing_audio_becomes_silence_covering_the_video(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    for clip in clips_of(catalog, "charlie"):
        got = read_span(pkg, catalog["renditions"][0], clip["segments"])
        assert got.audio_start is not None and got.audio_end is not None
        assert abs(got.audio_start - got.video_pts[0]) <= AAC_FRAME_SECONDS + 1e-6
        assert abs(got.audio_end - got.video_end) <= AAC_FRAME_SECONDS + 1e-6
        # The AAC frames straddling the cuts carry a little of the neighbouring clips' tones.
        assert rms(got.audio[:, 2048:-2048]) < 1e-4


def test_stereo_tone_survives(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    clip = clips_of(catalog, "alpha")[1]
    got = read_span(pkg, catalog["renditions"][0], clip["segments"])
    # A 0.3-amplitude 440 Hz sine (about -10.5 LUFS) comes out levelled to the -16 LUFS default.
    assert 0.08 < rms(got.audio) < 0.15
    loudness = measure(got.audio)
    assert loudness.integrated is not None and abs(loudness.integrated + 16) < 0.5


def test_anamorphic_source_fills_the_canvas(ingest_synthetic_package: Package) -> None:
    pkg, catalog = ingest_synthetic_package
    clip = clips_of(catalog, "delta")[0]
    luma = read_span(pkg, catalog["renditions"][0], clip["segments"]).first_frame
    assert luma[:, :20].mean() > 25 and luma[:, -20:].mean() > 25
    bravo = clips_of(catalog, "bravo")[0]  # 480x360 square pixels: pillarboxed
    luma = read_span(pkg, catalog["renditions"][0], bravo["segments"]).first_frame
    assert luma[:, :70].mean() < 20 and luma[:, -70:].mean() < 20
