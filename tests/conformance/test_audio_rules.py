"""The rules for separate audio (EXT-X-MEDIA renditions, music beds) and for both timelines fire:
deliberately broken masters, playlists and segment timings fed to the pure checks. Segment bytes
come from the tiny generated package (real x264 video-only and AAC audio-only fMP4), then get broken;
timing-only cases use hand-made track runs."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from conformance import master_rules, media_rules, segment_rules
from conformance.decode import check_decodes
from conformance.fmp4 import InitInfo, SegmentInfo, TrackInfo, TrackRun, parse_init, parse_segment
from conformance.playlist import parse_master, parse_media
from ingest import boxes

MASTER = """#EXTM3U
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Original",LANGUAGE="en",CHANNELS="2",\
DEFAULT=YES,AUTOSELECT=YES,URI="audio.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1000,AVERAGE-BANDWIDTH=800,CODECS="avc1.64001e,mp4a.40.2",\
RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO="audio"
a.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500,AVERAGE-BANDWIDTH=400,CODECS="avc1.640015,mp4a.40.2",\
RESOLUTION=426x240,FRAME-RATE=30.000,AUDIO="audio"
b.m3u8
"""
SECOND = ('#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Commentary",LANGUAGE="en",CHANNELS="2",'
          'DEFAULT=NO,AUTOSELECT=YES,URI="commentary.m3u8"\n')
VIDEO = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="init.mp4"
#EXTINF:1.333333,
s00000.m4s
#EXTINF:1.333333,
s00001.m4s
#EXT-X-DISCONTINUITY
#EXTINF:1.333333,
s00007.m4s
#EXT-X-ENDLIST
"""
AUDIO = VIDEO.replace("1.333333", "1.344")


def rules(found: list[Any]) -> set[str]:
    return {v.rule for v in found}


def master_rules_of(text: str) -> set[str]:
    return rules(master_rules.check_master(parse_master(text)))


# --- master ---------------------------------------------------------------------------------

def test_good_demuxed_master_passes() -> None:
    assert master_rules.check_master(parse_master(MASTER)) == []
    with_second = MASTER.replace("#EXT-X-STREAM-INF", SECOND + "#EXT-X-STREAM-INF", 1)
    assert master_rules.check_master(parse_master(with_second)) == []
    groups = master_rules.audio_groups(parse_master(with_second))
    assert [m["NAME"] for m in groups["audio"]] == ["Original", "Commentary"]


@pytest.mark.parametrize(("old", "new", "rule"), [
    ('NAME="Original",', "", "MEDIA"),
    ('LANGUAGE="en",', "", "MEDIA"),
    ('CHANNELS="2",', "", "MEDIA"),
    ('GROUP-ID="audio",', "", "AUDIO-GROUP"),  # the group is gone, so the variants' AUDIO dangles
    ("DEFAULT=YES,", "DEFAULT=NO,", "MEDIA"),  # no default rendition in the group
    ("DEFAULT=YES,", "", "MEDIA"),
    ("AUTOSELECT=YES,", "AUTOSELECT=NO,", "MEDIA"),  # the default must be auto-selectable
    ("AUTOSELECT=YES,", "", "MEDIA"),
    ('FRAME-RATE=30.000,AUDIO="audio"\na.m3u8', 'FRAME-RATE=30.000,AUDIO="aud"\na.m3u8', "AUDIO-GROUP"),
    ("#EXT-X-STREAM-INF", SECOND.replace("DEFAULT=NO", "DEFAULT=YES") + "#EXT-X-STREAM-INF", "MEDIA"),
])
def test_audio_media_rules_fire(old: str, new: str, rule: str) -> None:
    text = MASTER.replace(old, new, 1)
    assert text != MASTER
    assert rule in master_rules_of(text)


def test_missing_group_id_is_reported_as_media_too() -> None:
    text = MASTER.replace('GROUP-ID="audio",', "", 1)
    found = master_rules.check_master(parse_master(text))
    assert {"MEDIA", "AUDIO-GROUP"} <= rules(found)
    assert sorted(v.playlist for v in found if v.rule == "AUDIO-GROUP") == ["a.m3u8", "b.m3u8"]


def test_codecs_cover_the_audio_group() -> None:
    attributes = parse_master(MASTER).variants[0].attributes
    assert master_rules.check_codecs("a", attributes, ["avc1.64001e"], ["mp4a.40.2"]) == []
    assert master_rules.check_codecs("a", attributes, ["avc1.64001e"], ["mp4a.40.2", "mp4a.40.2"]) == []
    # a variant naming only its own init's codec, although it plays the group's AAC
    assert rules(master_rules.check_codecs("a", attributes, ["avc1.64001e", "mp4a.40.2"],
                                           ["mp4a.40.5"])) == {"CODECS"}
    video_only = {**attributes, "CODECS": "avc1.64001e"}
    assert rules(master_rules.check_codecs("a", video_only, ["avc1.64001e"], ["mp4a.40.2"])) == {"CODECS"}
    # and without any audio (group or muxed), the declared mp4a is a lie
    assert rules(master_rules.check_codecs("a", attributes, ["avc1.64001e"])) == {"CODECS"}


def test_bandwidth_counts_video_plus_audio() -> None:
    durations = [2.0, 2.0, 2.0, 2.0]
    sizes = [100_000, 100_000, 300_000, 100_000]  # video: peak 1_200_000, average 600_000
    audio = master_rules.real_bandwidth(durations, [32_000] * 4, 2)
    assert audio == (128_000, 128_000)
    declared = {"BANDWIDTH": "1328000", "AVERAGE-BANDWIDTH": "728000"}
    assert master_rules.check_bandwidth("a", declared, durations, sizes, 2, audio) == []
    # declared as video alone (audio forgotten): under by > 10% once the audio counts
    video_only = {"BANDWIDTH": "1200000", "AVERAGE-BANDWIDTH": "600000"}
    assert master_rules.check_bandwidth("a", video_only, durations, sizes, 2) == []
    assert rules(master_rules.check_bandwidth("a", video_only, durations, sizes, 2, audio)) == {
        "AVERAGE-BANDWIDTH"}  # the peak is still within 10% (1.2 M vs 1.328 M)
    big_audio = master_rules.real_bandwidth(durations, [100_000] * 4, 2)
    assert big_audio is not None
    assert rules(master_rules.check_bandwidth("a", video_only, durations, sizes, 2, big_audio)) == {
        "BANDWIDTH", "AVERAGE-BANDWIDTH"}
    assert master_rules.real_bandwidth([], [], 2) is None
    assert master_rules.real_bandwidth([2.0, float("nan")], [1, 1], 2) is None  # a bad EXTINF


def test_channels_against_the_init() -> None:
    media = parse_master(MASTER).media[0]
    assert master_rules.check_channels("audio.m3u8", media, 2) == []
    assert master_rules.check_channels("audio.m3u8", media, 0) == []  # unknown
    assert rules(master_rules.check_channels("audio.m3u8", media, 1)) == {"CHANNELS"}
    assert master_rules.check_channels("audio.m3u8", {**media, "CHANNELS": "6/JOC"}, 6) == []


# --- audio playlists against the variants -----------------------------------------------------

def test_audio_playlist_agrees_with_the_variants() -> None:
    video = parse_media(VIDEO)
    assert media_rules.check_media("audio.m3u8", parse_media(AUDIO)) == []
    assert media_rules.check_renditions_agree("a.m3u8", video, {"audio.m3u8": parse_media(AUDIO)}) == []
    target = parse_media(AUDIO.replace("TARGETDURATION:2", "TARGETDURATION:3"))
    assert rules(media_rules.check_renditions_agree("a", video, {"au": target})) == {"TARGETDURATION"}
    untagged = parse_media(AUDIO.replace("#EXT-X-DISCONTINUITY\n", ""))
    assert rules(media_rules.check_renditions_agree("a", video, {"au": untagged})) == {"DISCONTINUITY"}
    moved = parse_media(AUDIO.replace("#EXT-X-DISCONTINUITY\n", "").replace(
        "#EXTINF:1.344,\ns00001.m4s", "#EXT-X-DISCONTINUITY\n#EXTINF:1.344,\ns00001.m4s"))
    assert rules(media_rules.check_renditions_agree("a", video, {"au": moved})) == {"DISCONTINUITY"}


def test_music_bed_only_needs_the_same_discontinuity_count() -> None:
    continuous = parse_media(VIDEO.replace("#EXT-X-DISCONTINUITY\n", ""))
    bed = parse_media(AUDIO.replace("#EXT-X-DISCONTINUITY\n", "").replace("#EXTINF:1.344,\ns00007.m4s\n", ""))
    assert len(bed.segments) == 2
    assert media_rules.check_renditions_agree("a", continuous, {"bed": bed}) == []
    # a bed under a reel with a discontinuity: the counts differ
    assert rules(media_rules.check_renditions_agree("a", parse_media(VIDEO), {"bed": bed})) == {
        "DISCONTINUITY"}


# --- timing: cuts and AV-SYNC on hand-made runs ---------------------------------------------------

def init_of(handler: str, timescale: int) -> InitInfo:
    return InitInfo({1: TrackInfo(1, handler, timescale, 0, 0)}, (), 0, 0, 4)


def runs(*spans: tuple[int, int, int]) -> list[SegmentInfo | None]:
    """(tfdt, samples, duration) per segment, track 1."""
    return [SegmentInfo({1: TrackRun(tfdt, 1, samples, duration, True, None)}, None)
            for tfdt, samples, duration in spans]


def playlist(count: int, extinf: float, tags: dict[int, str] | None = None) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-TARGETDURATION:2", "#EXT-X-PLAYLIST-TYPE:VOD",
             '#EXT-X-MAP:URI="i.mp4"']
    for k in range(count):
        if tags and k in tags:
            lines.append(tags[k])
        lines += [f"#EXTINF:{extinf},", f"s{k}"]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


AUDIO_INIT = init_of("soun", 48000)
VIDEO_INIT = init_of("vide", 15360)
# Three 40-frame segments at 30 fps (20480 ticks each) and their audio on a 1024-sample AAC grid.
VIDEO_RUNS = runs((0, 40, 20480), (20480, 40, 20480), (40960, 40, 20480))
AUDIO_RUNS = runs((0, 63, 64512), (64512, 62, 63488), (128000, 63, 64512))


def test_audio_cuts_follow_on_within_one_aac_frame() -> None:
    media = parse_media(playlist(3, 1.344))
    assert segment_rules.check_cuts("au", media, AUDIO_INIT, AUDIO_RUNS) == []
    # a continuous timeline's cut: the next clip's audio starts 600 samples early (overlap < 1 frame)
    overlap = runs((0, 63, 64512), (64512 - 600, 62, 63488), (128000 - 600, 63, 64512))
    assert segment_rules.check_cuts("au", media, AUDIO_INIT, overlap) == []
    # ...so a DISCONTINUITY there is wrong, and a jump of a whole frame or more needs one
    tagged = parse_media(playlist(3, 1.344, {1: "#EXT-X-DISCONTINUITY"}))
    assert [v.segment for v in segment_rules.check_cuts("au", tagged, AUDIO_INIT, overlap)] == ["s1"]
    gap = runs((0, 63, 64512), (64512 + 1024, 62, 63488), (128000 + 1024, 63, 64512))
    found = segment_rules.check_cuts("au", media, AUDIO_INIT, gap)
    assert rules(found) == {"DISCONTINUITY"} and [v.segment for v in found] == ["s1"]
    assert segment_rules.check_cuts("au", tagged, AUDIO_INIT, gap) == []


def test_video_cuts_stay_exact() -> None:
    media = parse_media(playlist(3, 1.333333))
    assert segment_rules.check_cuts("v", media, VIDEO_INIT, VIDEO_RUNS) == []
    one_tick = runs((0, 40, 20480), (20481, 40, 20480), (40961, 40, 20480))
    assert [v.segment for v in segment_rules.check_cuts("v", media, VIDEO_INIT, one_tick)] == ["s1"]


def av_sync(audio_media: str, audio_runs: list[SegmentInfo | None], video_media: str,
            video_runs: list[SegmentInfo | None]) -> list[Any]:
    return segment_rules.check_av_sync("au", parse_media(audio_media), AUDIO_INIT, audio_runs,
                                       parse_media(video_media), VIDEO_INIT, video_runs)


def test_av_sync_per_segment() -> None:
    video, audio = playlist(3, 1.333333), playlist(3, 1.344)
    assert av_sync(audio, AUDIO_RUNS, video, VIDEO_RUNS) == []
    # a discontinuous timeline: both tracks at Mega Asset time, audio up to one frame late
    later = runs((409600, 40, 20480), (430080, 40, 20480), (983040, 40, 20480))
    late_audio = runs((1280000 + 1000, 63, 64512), (1344512, 62, 63488), (3072000 + 1023, 63, 64512))
    assert av_sync(audio, late_audio, video, later) == []
    # segment 2's audio one frame late: its start is 1024 samples + off
    drifted = runs((0, 63, 64512), (64512, 62, 63488), (128000 + 1024, 63, 64512))
    found = av_sync(audio, drifted, video, VIDEO_RUNS)
    assert rules(found) == {"AV-SYNC"} and [v.segment for v in found] == ["s2"]
    # the whole audio 50 ms late: every segment is in step, but not with the video
    shifted = runs((2400, 63, 64512), (66912, 62, 63488), (130400, 63, 64512))
    found = av_sync(audio, shifted, video, VIDEO_RUNS)
    assert [v.segment for v in found] == ["s0"]


def test_av_sync_of_a_music_bed() -> None:
    """Different segment counts (a bed on its own grid): the bed covers the video's duration and
    runs past it by at most one video segment."""
    video = playlist(3, 1.333333)  # 4.0 s
    covering = runs((0, 63, 64512), (64512, 62, 63488), (128000, 63, 64512), (192512, 62, 63488))
    assert av_sync(playlist(4, 1.344), covering, video, VIDEO_RUNS) == []  # 5.33 s: 1.33 past the end
    too_long = [*covering, *runs((256000, 63, 64512))]
    assert rules(av_sync(playlist(5, 1.344), too_long, video, VIDEO_RUNS)) == {"AV-SYNC"}
    too_short = runs((0, 63, 64512), (64512, 62, 63488))  # 2.67 s
    assert rules(av_sync(playlist(2, 1.344), too_short, video, VIDEO_RUNS)) == {"AV-SYNC"}
    # with unknown segments, the EXTINF sums stand in
    assert rules(av_sync(playlist(2, 1.344), [None, None], video, VIDEO_RUNS)) == {"AV-SYNC"}
    assert av_sync(playlist(4, 1.333333), [None] * 4, video, [None] * 3) == []
    assert rules(av_sync(playlist(5, 1.333333), [None] * 5, video, [None] * 3)) == {"AV-SYNC"}


def test_a_bed_with_the_same_count_by_chance_is_on_its_own_grid() -> None:
    """A reel of 40 + 10 + 40 frames has three segments, and so has its bed (ceil(90 / 40)), but the
    bed's are whole: its segment 2 starts 1.33 s in, the video's 0.67 s. Only coverage counts."""
    video = playlist(3, 1.333333).replace("#EXTINF:1.333333,\ns1", "#EXTINF:0.333333,\ns1")
    video_runs = runs((0, 40, 20480), (20480, 10, 5120), (25600, 40, 20480))  # 3.0 s
    bed = runs((0, 63, 64512), (64512, 62, 63488), (128000, 63, 64512))  # 4.0 s
    assert not segment_rules.same_grid(parse_media(playlist(3, 1.344)), parse_media(video),
                                       segment_rules.Fraction(1024, 48000))
    assert av_sync(playlist(3, 1.344), bed, video, video_runs) == []
    assert rules(av_sync(playlist(2, 1.344), bed[:2], video, video_runs)) == {"AV-SYNC"}  # 2.67 s
    # the clips' own audio on that grid is held to it segment by segment
    audio = playlist(3, 1.344).replace("#EXTINF:1.344,\ns1", "#EXTINF:0.32,\ns1")
    own = runs((0, 63, 64512), (64512, 15, 15360), (79872, 63, 64512))
    assert av_sync(audio, own, video, video_runs) == []
    late = [*own[:2], *runs((79872 + 3840, 63, 64512))]
    found = av_sync(audio, late, video, video_runs)
    assert [v.segment for v in found] == ["s2"]  # starts 1.744 s in, its video 1.667 s


def test_audio_segment_sample_rules() -> None:
    info = runs((0, 63, 64512))[0]
    assert info is not None
    assert segment_rules.check_samples("au", "s0", AUDIO_INIT, info) == []
    empty = SegmentInfo({1: TrackRun(0, 1, 0, 0, None, None)}, None)
    assert rules(segment_rules.check_samples("au", "s0", AUDIO_INIT, empty)) == {"SEGMENT"}
    short = SegmentInfo({1: TrackRun(0, 0, 63, 64512, True, None)}, None)
    assert rules(segment_rules.check_samples("au", "s0", AUDIO_INIT, short)) == {"TFDT"}
    assert rules(segment_rules.check_samples("au", "s0", AUDIO_INIT, SegmentInfo({}, None))) == {"SEGMENT"}
    # a video playlist keeps the key frame rules
    assert rules(segment_rules.check_samples("v", "s0", VIDEO_INIT, empty)) == {"KEYFRAME"}
    assert segment_rules.check_extinf("au", "s0", 1.344, AUDIO_INIT, info) == []
    # within one AAC frame of the samples is fine (a clip's last audio segment on a continuous
    # timeline); more is not
    assert not rules(segment_rules.check_extinf("au", "s0", 1.333333, AUDIO_INIT, info))
    assert rules(segment_rules.check_extinf("au", "s0", 1.3, AUDIO_INIT, info)) == {"EXTINF"}


# --- real audio-only bytes ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def audio(synthetic_package: Path) -> dict[str, Any]:
    catalog = orjson.loads(synthetic_package.read_bytes())
    if not catalog.get("audio_renditions"):
        pytest.skip("the synthetic package has muxed audio (schema 1)")
    pkg = synthetic_package.parent
    rendition = catalog["audio_renditions"][0]
    video = catalog["renditions"][0]
    init = (pkg / rendition["init"]).read_bytes()
    count = len(catalog["segments"])

    def files(template: str) -> list[bytes]:
        return [(pkg / template.format(index=n)).read_bytes() for n in range(count)]

    return {
        "catalog": catalog, "rendition": rendition, "init": init, "info": parse_init(init),
        "segments": files(rendition["segment_template"]),
        "video_info": parse_init((pkg / video["init"]).read_bytes()),
        "video": files(video["segment_template"]),
    }


def test_audio_init_and_segments(audio: dict[str, Any]) -> None:
    info = audio["info"]
    assert info.video is None and info.audio is not None and info.primary is info.audio
    assert info.codecs == (audio["rendition"]["codecs"],)
    assert info.channels == audio["rendition"]["channels"] == 2
    assert audio["video_info"].channels == 0 and audio["video_info"].audio is None
    for n, data in enumerate(audio["segments"][:4]):
        parsed = parse_segment(data, info)
        assert segment_rules.check_samples("au", f"s{n}", info, parsed) == []
        extinf = audio["catalog"]["segments"][n]["audio_duration"]
        assert segment_rules.check_extinf("au", f"s{n}", extinf, info, parsed) == []
        assert rules(segment_rules.check_extinf("au", f"s{n}", extinf + 0.03, info, parsed)) == {"EXTINF"}


def test_audio_only_segments_decode(audio: dict[str, Any]) -> None:
    init, data = audio["init"], audio["segments"][1]
    assert check_decodes("au", "s1", init, data) == []
    mdat = boxes.find(data, None, "mdat")
    assert mdat is not None
    assert rules(check_decodes("au", "s1", init, data[:mdat.offset])) == {"DECODE"}  # moof, no samples
    assert rules(check_decodes("au", "s1", init, b"\0" * 64)) == {"DECODE"}


def audio_traf_tfdt(data: bytearray) -> boxes.Box:
    tfdt = boxes.find(data, None, "moof/traf/tfdt")
    assert tfdt is not None
    return tfdt


def test_real_audio_cuts_and_sync(audio: dict[str, Any]) -> None:
    """Segments 0-2 of the package in encode order: in sync and continuous; then segment 2's audio
    tfdt rewritten by half an AAC frame (still fine) and by more than one (a cut, out of sync)."""
    info, video_info = audio["info"], audio["video_info"]
    audio_infos = [parse_segment(d, info) for d in audio["segments"][:3]]
    video_infos = [parse_segment(d, video_info) for d in audio["video"][:3]]
    text = playlist(3, 1.333333)
    media = parse_media(text)
    assert segment_rules.check_cuts("au", media, info, audio_infos) == []

    def sync(infos: Sequence[SegmentInfo | None]) -> list[Any]:
        return segment_rules.check_av_sync("au", media, info, infos, media, video_info, video_infos)

    assert sync(audio_infos) == []
    for shift, broken in ((512, False), (1100, True)):
        data = bytearray(audio["segments"][2])
        tfdt = audio_traf_tfdt(data)
        boxes.set_tfdt(data, tfdt, boxes.read_tfdt(data, tfdt)[1] + shift)
        moved = [*audio_infos[:2], parse_segment(bytes(data), info)]
        assert rules(sync(moved)) == ({"AV-SYNC"} if broken else set())
        assert rules(segment_rules.check_cuts("au", media, info, moved)) == (
            {"DISCONTINUITY"} if broken else set())


def test_sample_duration_fallbacks() -> None:
    track = TrackInfo(1, "soun", 44100, 0, 0)
    assert segment_rules.sample_duration(track, None) == 1024  # one AAC frame
    assert segment_rules.sample_duration(dataclasses.replace(track, default_duration=1024), None) == 1024
    assert segment_rules.sample_duration(track, TrackRun(0, 1, 10, 10240, True, None)) == 1024


def test_extinf_runs_add_up_to_the_samples() -> None:
    """Each EXTINF within one AAC frame of its segment is not enough: a run's EXTINFs must add up
    to the time its samples span (within one frame), or players drift from the real timeline."""
    spans = runs((0, 63, 64512), (64512, 63, 64512), (129024, 63, 64512))
    honest = parse_media(playlist(3, 1.344))
    assert segment_rules.check_runs("au", honest, AUDIO_INIT, spans) == []
    drifting = parse_media(playlist(3, 1.36))  # 16 ms each: every segment alone passes
    assert all(not segment_rules.check_extinf("au", f"s{k}", 1.36, AUDIO_INIT, info)
               for k, info in enumerate(spans) if info is not None)
    assert rules(segment_rules.check_runs("au", drifting, AUDIO_INIT, spans)) == {"EXTINF"}
    # a discontinuity splits the runs: two honest runs of a cut reel
    cut = runs((0, 63, 64512), (500000, 63, 64512), (564512, 63, 64512))
    assert segment_rules.check_runs("au", parse_media(playlist(3, 1.344, {1: "#EXT-X-DISCONTINUITY"})),
                                    AUDIO_INIT, cut) == []
