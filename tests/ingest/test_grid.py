"""The AAC frame grid (which 1024-sample frames a segment holds) and the pure fragment writer."""
from __future__ import annotations

from fractions import Fraction

import pytest

from ingest import boxes
from ingest.audio_package import read_fragment
from ingest.fragment import fragment
from ingest.grid import bed_spans, first_frame_at, mega_asset_spans


def test_first_frame_at_is_the_first_frame_starting_at_or_after() -> None:
    assert first_frame_at(Fraction(0)) == 0
    assert first_frame_at(Fraction(1024, 48000)) == 1  # exactly on a frame start
    assert first_frame_at(Fraction(1025, 48000)) == 2
    assert first_frame_at(Fraction(4, 3)) == 63  # 64000 samples = 62.5 frames


def test_mega_asset_spans_follow_the_contract() -> None:
    rate = Fraction(30)
    starts = [0, 40, 80, 105]  # a 25-frame clip last but one
    spans = mega_asset_spans(starts, 145, rate)
    assert spans == [(0, 63), (63, 125), (125, 165), (165, 227)]
    for n, (first, stop) in enumerate(spans):
        t_n = Fraction(starts[n]) / rate
        t_next = Fraction(([*starts, 145])[n + 1]) / rate
        # frames with t_n <= p < t_{n+1}, p = 1024 j / 48000; tfdt within one frame after t_n
        assert all(t_n <= Fraction(1024 * j, 48000) < t_next for j in range(first, stop))
        assert Fraction(1024 * (first - 1), 48000) < t_n <= Fraction(1024 * first, 48000)


def test_spans_at_ntsc_rate_cover_every_frame_once() -> None:
    rate = Fraction(30000, 1001)
    starts = list(range(0, 24 * 500, 24))
    spans = mega_asset_spans(starts, 24 * 500, rate)
    assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    assert spans[-1][1] == -(-24 * 500 * 1001 * 48000 // (30000 * 1024))


def test_bed_spans_keep_whole_segments_only() -> None:
    seconds = Fraction(4, 3)  # 40 frames at 30 fps
    assert bed_spans(188 * 1024, seconds) == [(0, 63), (63, 125), (125, 188)]
    assert bed_spans(48000 * 4, seconds) == [(0, 63), (63, 125)]  # 4 s ends inside frame 187
    assert bed_spans(125 * 1024 + 10, seconds) == [(0, 63), (63, 125)]
    assert bed_spans(125 * 1024 - 1, seconds) == [(0, 63)]  # frame 124 incomplete
    assert bed_spans(1000, seconds) == []


def test_fragment_round_trips_through_the_reader() -> None:
    samples = [(1024, b"\x01" * 300), (1024, b"\x02" * 280), (512, b"\x03" * 100)]
    data = fragment(1, 7, 2**40 + 3, samples)
    assert read_fragment(data) == (2**40 + 3, 3, 2560)
    moof, mdat = list(boxes.iter_boxes(data))
    assert (moof.type, mdat.type, mdat.size) == ("moof", "mdat", 8 + 680)
    traf = boxes.find(data, moof, "traf")
    assert traf is not None
    tfhd_box, trun_box = boxes.find(data, traf, "tfhd"), boxes.find(data, traf, "trun")
    assert tfhd_box is not None and trun_box is not None
    tfhd = boxes.read_tfhd(data, tfhd_box)
    assert tfhd.track_id == 1 and tfhd.base_data_offset is None
    assert int.from_bytes(data[tfhd_box.payload + 1:tfhd_box.payload + 4], "big") == 0x020000
    trun = boxes.read_trun(data, trun_box)
    assert trun.sizes == (300, 280, 100) and trun.durations == (1024, 1024, 512)
    assert trun.data_offset == moof.size + 8  # relative to the moof (default-base-is-moof)
    assert data[moof.offset + trun.data_offset:][:300] == b"\x01" * 300
    with pytest.raises(ValueError):
        fragment(1, 1, 0, [])
