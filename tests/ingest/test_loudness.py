"""Loudness: one EBU R128 target for every clip, clipping-safe gain, fades at every clip edge."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ingest.build import plan_spec
from ingest.conform import conform_audio
from ingest.loudness import (
    TRUE_PEAK_CEILING,
    Levelled,
    Loudness,
    fade_edges,
    gain_for,
    level,
    measure,
    spread,
)
from tests.ingest.media_checks import read_span

Package = tuple[Path, dict[str, Any]]


def tone(amplitude: float, seconds: float = 2.0, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(48000 * seconds)) / 48000
    wave = (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([wave, wave])


def test_measure_matches_the_r128_reference_tone() -> None:
    # EBU Tech 3341: a 1 kHz stereo sine at -20 dBFS measures -20 LUFS (+-0.1).
    got = measure(tone(10 ** (-20 / 20)))
    assert got.integrated is not None and abs(got.integrated + 20) < 0.1
    assert abs(got.true_peak + 20) < 0.2
    assert measure(np.zeros((2, 48000), np.float32)) == Loudness(None, -math.inf)


def test_gain_reaches_the_target_but_never_clips() -> None:
    quiet, levelled = level(tone(0.01), -16.0)
    assert levelled.after.integrated is not None and abs(levelled.after.integrated + 16) < 0.2
    assert gain_for(Loudness(None, -90.0), -16.0) == 0.0  # silence is left alone
    assert gain_for(Loudness(-60.0, -50.0), -16.0) == 30.0  # never boost room tone by 44 dB
    loud, _ = level(tone(0.99), -16.0)  # turned down: no limiter needed
    assert np.abs(loud).max() < 10 ** (TRUE_PEAK_CEILING / 20)
    # Quiet speech-like programme with one sharp click: the gain would clip, the limiter holds it.
    spiky = tone(0.02)
    spiky[:, 48000] = 0.9
    out, got = level(spiky, -16.0)
    assert got.gain_db > 15 and got.after.true_peak <= TRUE_PEAK_CEILING + 0.2
    assert got.after.integrated is not None and abs(got.after.integrated + 16) < 1.0


def test_fades_at_both_edges() -> None:
    samples = np.ones((2, 4800), np.float32)
    fade_edges(samples)
    assert samples[0, 0] == 0 and samples[0, -1] < 0.01
    assert samples[0, 240] == 1 and samples[0, -241] == 1  # 5 ms at 48 kHz
    assert np.all(np.diff(samples[0, :240]) >= 0)


def test_real_footage_clips_end_up_within_one_lu(real_spec: Path,
                                                 ingest_real_package: Package) -> None:
    pkg, catalog = ingest_real_package
    plan = plan_spec(real_spec)
    before = [measure(conform_audio(clip)) for clip in plan.clips]
    rendition = catalog["renditions"][-1]
    after = [measure(read_span(pkg, rendition, c["segments"]).audio) for c in catalog["clips"]]
    figures = spread([Levelled(b, a, 0.0) for b, a in zip(before, after, strict=True)])
    print(figures.line(-16.0), [b.integrated for b in before], [a.integrated for a in after])
    # flower.mp4's audio track is silent (below the -70 LUFS gate): left alone, not counted.
    assert figures.clips == len(plan.clips) - 2
    assert figures.before > 3  # the footage really differs
    assert figures.after <= 1.0
    for got in after:
        if got.integrated is None:
            continue
        assert got.integrated is not None and abs(got.integrated + 16) <= 1.0
        assert got.true_peak <= 0.0
    # Every cut starts and ends in (near) silence: no click.
    audio = read_span(pkg, rendition, [s["index"] for s in catalog["segments"]]).audio
    for clip in catalog["clips"][1:]:
        at = round(clip["start"] * 48000)
        assert np.abs(audio[:, at - 24:at + 24]).max() < 0.05, clip["id"]
