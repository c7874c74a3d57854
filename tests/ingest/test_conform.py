"""Conform: sample-and-hold on the output grid, aspect-true fitting, exact frame counts."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ingest.build import plan_spec
from ingest.conform import ShortSource, conform_audio, conform_video, fit, sample_and_hold
from ingest.probe import SourceInfo


def timed(rate: Fraction, count: int, offset: Fraction = Fraction(0)) -> list[tuple[Fraction, int]]:
    return [(offset + k / rate, k) for k in range(count)]


def hold(rate: Fraction, count: int, start: Fraction, frames: int,
         out: Fraction = Fraction(30)) -> list[int]:
    return list(sample_and_hold(timed(rate, count), start, frames, out, count / rate))


def test_same_rate_is_identity() -> None:
    assert hold(Fraction(30), 100, Fraction(1), 40) == list(range(30, 70))


def test_25_to_30_repeats_every_fifth_frame() -> None:
    got = hold(Fraction(25), 100, Fraction(0), 30)
    assert len(got) == 30 and len(set(got)) == 25
    assert got[:7] == [0, 0, 1, 2, 3, 4, 5]  # frame i shows floor(i * 25 / 30)
    assert got == [i * 25 // 30 for i in range(30)]


def test_ntsc_to_30_drops_one_frame_in_a_thousand() -> None:
    rate = Fraction(30000, 1001)
    got = hold(rate, 400, Fraction(0), 300)
    assert len(got) == 300 and got == [int(Fraction(i, 30) * rate + Fraction(1, 1000) * rate)
                                       for i in range(300)]


def test_start_between_source_frames_holds_the_earlier_one() -> None:
    assert hold(Fraction(30), 100, Fraction(1, 60) + 1, 3) == [30, 31, 32]


def test_first_frame_is_held_backwards() -> None:
    items = [(Fraction(1, 10), "a"), (Fraction(2, 10), "b")]
    assert list(sample_and_hold(items, Fraction(0), 4, Fraction(30), Fraction(3, 10))) == \
        ["a", "a", "a", "a"]


def test_running_out_of_source_raises() -> None:
    with pytest.raises(ShortSource):
        hold(Fraction(30), 10, Fraction(0), 20)


def info(width: int, height: int, sar: Fraction = Fraction(1)) -> SourceInfo:
    return SourceInfo(Path("x"), width, height, sar, Fraction(30), 1, Fraction(0), Fraction(1),
                      False, 0, 0)


@pytest.mark.parametrize(("src", "placed"), [
    (info(960, 540), (960, 540, 0, 0)),
    (info(640, 480), (720, 540, 120, 0)),  # 4:3 pillarbox
    (info(720, 480), (810, 540, 74, 0)),  # 3:2 pillarbox, even offset
    (info(480, 360, Fraction(4, 3)), (960, 540, 0, 0)),  # anamorphic 16:9
    (info(1920, 800), (960, 400, 0, 70)),  # 2.4:1 letterbox
    (info(720, 576, Fraction(64, 45)), (960, 540, 0, 0)),  # PAL 16:9 anamorphic
])
def test_fit(src: SourceInfo, placed: tuple[int, int, int, int]) -> None:
    p = fit(src, 960, 540)
    assert (p.width, p.height, p.x, p.y) == placed


def test_conform_25fps_source_to_30fps(synthetic_spec: Path) -> None:
    plan = plan_spec(synthetic_spec)
    clip = next(c for c in plan.clips if c.title.id == "bravo" and c.frames == 80)
    assert clip.source.frame_rate == 25 and plan.frame_rate == 30
    frames = list(conform_video(clip, plan.frame_rate, 960, 540))
    assert len(frames) == 80
    distinct = len({id(f) for f in frames})
    assert distinct in (66, 67)  # 80 frames at 30 fps cover 2.67 s = 66.7 source frames at 25 fps
    assert all((f.width, f.height, f.format.name) == (960, 540, "yuv420p") for f in frames)
    luma = frames[0].to_ndarray()[:540]
    assert luma[:, :100].max() <= 17 and luma[:, -100:].max() <= 17  # pillarbox: 480x360 -> 720x540
    assert luma[:, 200:760].mean() > 40


def test_conform_audio_exact_length_mono_and_silent(synthetic_spec: Path) -> None:
    plan = plan_spec(synthetic_spec)
    by_title = {c.title.id: c for c in plan.clips}
    mono = conform_audio(by_title["bravo"])
    assert mono.shape == (2, by_title["bravo"].audio_samples)
    assert np.allclose(mono[0], mono[1]) and np.sqrt(np.mean(mono ** 2)) > 0.1
    silent = conform_audio(by_title["charlie"])
    assert silent.shape == (2, by_title["charlie"].audio_samples) and not silent.any()
