"""Encode the Mega Asset in one pass: every conformed frame goes to one encoder per rendition.

Video is libx264 (veryfast, CRF 23 capped by a per-rendition VBV maxrate and buffer, the profile
and level of the rendition, see `ladder.py`) with an IDR forced
at every planned segment start (`pict_type = I` + `forced-idr=1`) and no other keyframes
(`scenecut=0`, huge keyint, closed GOP). B-frames are off on purpose: with `bframes=0` dts == pts,
so every fragment's `tfdt` is the true presentation time of its first frame and no composition
offsets or edit lists are involved.

Audio is one continuous AAC-LC 48 kHz stereo stream per rendition (native `aac` encoder). Each clip
contributes exactly its span's samples (see `plan.audio_sample_at`), so audio never drifts from video.
The encoder's priming packet (pts < 0) is dropped, so the audio track starts at 0 without relying
on an edit list (players ignore them).

Each rendition is muxed by PyAV into one fragmented MP4 with
`movflags=cmaf+frag_keyframe+empty_moov+default_base_moof`: a fragment starts at every IDR, so
fragments are exactly the planned segments. `package.py` splits and verifies them.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ingest.conform import conform_audio, conform_video
from ingest.errors import IngestError
from ingest.feeder import in_background
from ingest.ladder import Rendition
from ingest.loudness import Levelled, level
from ingest.plan import AUDIO_CHANNELS, AUDIO_RATE, Plan, PlannedClip

MOVFLAGS = "cmaf+frag_keyframe+empty_moov+default_base_moof"
AAC_FRAME = 1024
AUDIO_BITRATE = 128_000
# keyint larger than any clip: IDRs come only from the forced segment starts.
_X264_PARAMS = "bframes=0:scenecut=0:open-gop=0:keyint=100000:min-keyint=100000"

Progress = Callable[[int, int], None]  # (frames encoded, total frames)


class RenditionWriter:
    """One rendition's fragmented MP4: a libx264 video stream and an AAC audio stream."""

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
        audio = self._container.add_stream("aac", rate=AUDIO_RATE)
        audio.codec_context.layout = "stereo"
        audio.codec_context.bit_rate = AUDIO_BITRATE
        self._audio = audio

    def add_video(self, frame: av.VideoFrame) -> None:
        for packet in self._video.encode(frame):
            self._mux_video(packet)

    def add_audio(self, frame: av.AudioFrame | None) -> None:
        for packet in self._audio.encode(frame):
            if packet.pts is not None and packet.pts < 0:
                continue  # encoder priming: dropped so the track starts at 0 with no edit list
            self._container.mux(packet)

    def _mux_video(self, packet: av.Packet) -> None:  # type: ignore[type-arg]
        if not packet.duration:  # the last sample of the file needs a duration too
            assert packet.time_base is not None
            packet.duration = int(self._frame_time / packet.time_base)
        self._container.mux(packet)

    def finish(self) -> None:
        for packet in self._video.encode(None):
            self._mux_video(packet)
        self.add_audio(None)
        self._container.close()

    def abort(self) -> None:
        try:
            self._container.close()
        except av.error.FFmpegError:
            pass


class AudioChunker:
    """Cuts a continuous float32 stereo sample stream into AAC-sized frames with running pts."""

    def __init__(self) -> None:
        self._pending = np.zeros((AUDIO_CHANNELS, 0), np.float32)
        self._pts = 0

    def push(self, samples: np.ndarray) -> list[av.AudioFrame]:
        self._pending = np.concatenate([self._pending, samples], axis=1)
        whole = self._pending.shape[1] // AAC_FRAME * AAC_FRAME
        frames = [self._frame(self._pending[:, i:i + AAC_FRAME]) for i in range(0, whole, AAC_FRAME)]
        self._pending = self._pending[:, whole:]
        return frames

    def flush(self) -> list[av.AudioFrame]:
        if not self._pending.shape[1]:
            return []
        frame = self._frame(self._pending)
        self._pending = self._pending[:, :0]
        return [frame]

    def _frame(self, samples: np.ndarray) -> av.AudioFrame:
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp",
                                           layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._pts
        frame.time_base = Fraction(1, AUDIO_RATE)
        self._pts += samples.shape[1]
        return frame


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
                on_level: Callable[[Levelled], None] | None = None) -> dict[str, Path]:
    """Encode every clip in plan order; return {rendition id: fragmented MP4 path in folder}.

    `threads` is x264's thread count per rendition (0: x264 picks, 1.5 x cores). Each clip's audio
    is levelled to plan.loudness_lufs with faded edges (`loudness.level`); `on_level` hears the
    figures of every clip, in order.
    """
    top = plan.renditions[0]
    keyframes = plan.segment_starts()
    total = plan.total_frames
    writers: list[RenditionWriter] = []
    try:
        for rendition in plan.renditions:
            path = folder / f"{rendition.id}.mp4"
            writers.append(RenditionWriter(rendition, plan.frame_rate, path, threads))
        chunker = AudioChunker()
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
            # Audio in lockstep with video keeps the muxer's interleaving tight.
            upto = round((index + 1) * AUDIO_RATE / plan.frame_rate) - clip.audio_start
            for aframe in chunker.push(audio[:, audio_done:upto]):
                for writer in writers:
                    writer.add_audio(aframe)
            audio_done = upto
            done += 1
            if progress is not None:
                progress(done, total)
        _check_audio(clip, audio_done)
        for aframe in chunker.flush():
            for writer in writers:
                writer.add_audio(aframe)
        for writer in writers:
            writer.finish()
    except av.error.FFmpegError as exc:
        for writer in writers:
            writer.abort()
        raise IngestError(f"encoding failed: {exc}") from None
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    return {w.rendition.id: w.path for w in writers}
