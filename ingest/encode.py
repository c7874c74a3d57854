"""Encode the Mega Asset in one pass: every conformed frame goes to one encoder per rendition.

Video is libx264 (veryfast, CRF 23 capped by a per-rendition VBV maxrate and buffer, the profile
and level of the rendition, see `ladder.py`) with an IDR forced
at every planned segment start (`pict_type = I` + `forced-idr=1`) and no other keyframes
(`scenecut=0`, huge keyint, closed GOP). B-frames are off on purpose: with `bframes=0` dts == pts,
so every fragment's `tfdt` is the true presentation time of its first frame and no composition
offsets or edit lists are involved.

Audio is encoded ONCE for the whole ladder: one continuous AAC-LC 48 kHz stereo stream
(`aac.AacEncoder`, priming packet dropped so it starts at 0 with no edit list). Each clip
contributes exactly its span's samples (see `plan.audio_sample_at`), so audio never drifts from
video. The packets stay in memory (about 16 kB per second of asset) for `audio_package.py`, which
cuts them on the AAC frame grid (`grid.py`) into the audio-only rendition.

Each rendition's video is muxed by PyAV into one video-only fragmented MP4 with
`movflags=cmaf+frag_keyframe+empty_moov+default_base_moof`: a fragment starts at every IDR, so
fragments are exactly the planned segments. `package.py` splits and verifies them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ingest.aac import AacEncoder, AacPacket
from ingest.conform import conform_audio, conform_video
from ingest.errors import IngestError
from ingest.feeder import in_background
from ingest.grid import AAC_FRAME, mega_asset_spans
from ingest.ladder import Rendition
from ingest.loudness import Levelled, level
from ingest.plan import AUDIO_CHANNELS, AUDIO_RATE, Plan, PlannedClip

MOVFLAGS = "cmaf+frag_keyframe+empty_moov+default_base_moof"
# keyint larger than any clip: IDRs come only from the forced segment starts.
_X264_PARAMS = "bframes=0:scenecut=0:open-gop=0:keyint=100000:min-keyint=100000"

Progress = Callable[[int, int], None]  # (frames encoded, total frames)


class RenditionWriter:
    """One rendition's video-only fragmented MP4: a libx264 stream."""

    def __init__(self, rendition: Rendition, frame_rate: Fraction, path: Path,
                 threads: int = 0) -> None:
        self.rendition = rendition
        self.path = path
        self._container = av.open(str(path), "w", format="mp4", options={"movflags": MOVFLAGS})
        video = self._container.add_stream("libx264", rate=frame_rate)
        video.width, video.height, video.pix_fmt = rendition.width, rendition.height, "yuv420p"
        video.codec_context.options = {
            "preset": "veryfast", "profile": rendition.profile, "level": rendition.level_text,
            "crf": "23",
            "maxrate": f"{rendition.maxrate_kbps}k", "bufsize": f"{rendition.bufsize_kbps}k",
            "bf": "0", "g": "100000", "sc_threshold": "0", "forced-idr": "1",
            "x264-params": _X264_PARAMS, "threads": str(threads),
        }
        video.codec_context.thread_type = "FRAME"  # x264 frame threads: encode() returns early
        self._video = video
        self._frame_time = Fraction(1) / frame_rate

    def add_video(self, frame: av.VideoFrame) -> None:
        for packet in self._video.encode(frame):
            self._mux_video(packet)

    def _mux_video(self, packet: av.Packet) -> None:  # type: ignore[type-arg]
        if not packet.duration:  # the last sample of the file needs a duration too
            assert packet.time_base is not None
            packet.duration = int(self._frame_time / packet.time_base)
        self._container.mux(packet)

    def finish(self) -> None:
        for packet in self._video.encode(None):
            self._mux_video(packet)
        self._container.close()

    def abort(self) -> None:
        try:
            self._container.close()
        except av.error.FFmpegError:
            pass


@dataclass(frozen=True, slots=True)
class Encoded:
    """What `encode_plan` made: one video-only fMP4 per rendition and the one audio stream."""

    video: dict[str, Path]  # rendition id -> fragmented MP4
    audio_init: bytes  # CMAF header of the audio stream (ftyp + moov)
    audio: list[AacPacket]  # every AAC packet of the Mega Asset, in order, from frame 0


Conformed = tuple[PlannedClip, np.ndarray, Levelled] | av.VideoFrame


def _conformed(plan: Plan, top: Rendition) -> Iterator[Conformed]:
    """Per clip: (clip, levelled audio, figures), then its canvas frames, in Mega Asset order."""
    for clip in plan.clips:
        audio, levelled = level(conform_audio(clip), plan.loudness_lufs)
        yield clip, audio, levelled
        yield from conform_video(clip, plan.frame_rate, top.width, top.height)


def _check_audio(clip: PlannedClip | None, audio_done: int) -> None:
    if clip is not None and audio_done != clip.audio_samples:
        raise AssertionError(f"{clip.id}: {audio_done} of {clip.audio_samples} audio samples")


def encode_plan(plan: Plan, folder: Path, progress: Progress | None = None,
                threads: int = 0,
                on_level: Callable[[Levelled], None] | None = None) -> Encoded:
    """Encode every clip in plan order: video per rendition into folder, the audio once.

    `threads` is x264's thread count per rendition (0: x264 picks, 1.5 x cores). Each clip's audio
    is levelled to plan.loudness_lufs with faded edges (`loudness.level`); `on_level` hears the
    figures of every clip, in order.
    """
    top = plan.renditions[0]
    keyframes = plan.segment_starts()
    total = plan.total_frames
    writers: list[RenditionWriter] = []
    encoder: AacEncoder | None = None
    packets: list[AacPacket] = []
    try:
        for rendition in plan.renditions:
            path = folder / f"{rendition.id}.mp4"
            writers.append(RenditionWriter(rendition, plan.frame_rate, path, threads))
        encoder = AacEncoder()
        done = 0
        audio_done = 0
        clip: PlannedClip | None = None
        audio = np.zeros((AUDIO_CHANNELS, 0), np.float32)
        for item in in_background(lambda: _conformed(plan, top)):
            if isinstance(item, tuple):
                _check_audio(clip, audio_done)
                clip, audio, levelled = item
                audio_done = 0
                if on_level is not None:
                    on_level(levelled)
                continue
            assert clip is not None
            frame, index = item, done
            key = index in keyframes
            for writer in writers:
                out = frame if writer.rendition is top else frame.reformat(
                    width=writer.rendition.width, height=writer.rendition.height,
                    interpolation="AREA")
                out.pts = index
                out.time_base = Fraction(1) / plan.frame_rate
                out.pict_type = av.video.frame.PictureType.I if key \
                    else av.video.frame.PictureType.NONE
                writer.add_video(out)
            # Audio in lockstep with video: the encoder's queue stays short.
            upto = round((index + 1) * AUDIO_RATE / plan.frame_rate) - clip.audio_start
            packets += encoder.push(audio[:, audio_done:upto])
            audio_done = upto
            done += 1
            if progress is not None:
                progress(done, total)
        _check_audio(clip, audio_done)
        packets += encoder.push(_grid_padding(plan))
        packets += encoder.finish()
        for writer in writers:
            writer.finish()
    except av.error.FFmpegError as exc:
        _abort(writers, encoder)
        raise IngestError(f"encoding failed: {exc}") from None
    except BaseException:
        _abort(writers, encoder)
        raise
    return Encoded({w.rendition.id: w.path for w in writers}, encoder.init_segment(), packets)


def _grid_padding(plan: Plan) -> np.ndarray:
    """Silence so every AAC frame the grid puts before the asset's end exists (rounding the sample
    count at NTSC rates can leave it a fraction short of a frame start; nearly always empty)."""
    frames = mega_asset_spans([s.start_frame for s in plan.segments], plan.total_frames,
                              plan.frame_rate)[-1][1]
    short = max(0, (frames - 1) * AAC_FRAME + 1 - plan.clips[-1].audio_end)
    return np.zeros((AUDIO_CHANNELS, short), np.float32)


def _abort(writers: list[RenditionWriter], encoder: AacEncoder | None) -> None:
    for writer in writers:
        writer.abort()
    if encoder is not None:
        encoder.close()
