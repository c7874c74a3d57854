"""A player's view of one segment (PyAV): decode init + segment on its own. With video (muxed or
video-only), the first frame out must be a key frame from the first packet; an audio-only segment
(demuxed audio rendition, music bed) must decode to audio from its first packet on. Blocking, no
network."""
from __future__ import annotations

import io

import av

from conformance.report import Violation


def check_decodes(name: str, uri: str, init: bytes, segment: bytes) -> list[Violation]:
    try:
        with av.open(io.BytesIO(init + segment), mode="r", format="mp4") as container:
            if container.streams.video:
                return _check_video(name, uri, container)
            if container.streams.audio:
                return _check_audio(name, uri, container)
            return [Violation("DECODE", name, uri, "init + segment has neither a video nor an audio stream")]
    except (av.FFmpegError, ValueError) as exc:
        return [Violation("DECODE", name, uri, f"init + segment does not decode: {exc}")]


def _check_video(name: str, uri: str, container: av.container.InputContainer) -> list[Violation]:
    stream = container.streams.video[0]
    first_pts: int | None = None
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        if first_pts is None:
            first_pts = packet.pts
        for frame in packet.decode():
            if not isinstance(frame, av.VideoFrame):
                continue
            if not frame.key_frame or frame.pts != first_pts:
                return [Violation("KEYFRAME", name, uri,
                                  "the first decoded frame is not a key frame from the first packet")]
            return []
    return [Violation("DECODE", name, uri, "init + segment decodes to no video frame")]


def _check_audio(name: str, uri: str, container: av.container.InputContainer) -> list[Violation]:
    """Every packet decodes (AAC frames are independent: a player may start at any segment), and
    the samples out match the packets in (1024 per AAC-LC frame)."""
    stream = container.streams.audio[0]
    packets = samples = 0
    for packet in container.demux(stream):
        if packet.size == 0:
            continue
        packets += 1
        for frame in packet.decode():
            if isinstance(frame, av.AudioFrame):
                samples += frame.samples
    for frame in stream.codec_context.decode(None):
        if isinstance(frame, av.AudioFrame):
            samples += frame.samples
    if not packets or not samples:
        return [Violation("DECODE", name, uri, "init + segment decodes to no audio")]
    frame_size = stream.codec_context.frame_size or 1024
    if samples != packets * frame_size:
        return [Violation("DECODE", name, uri, f"{packets} audio packets decode to {samples} samples, "
                                               f"want {packets * frame_size}")]
    return []
