"""A player's view of one segment (PyAV): decode init + segment on its own and say whether the
first frame out is a key frame from the first packet. Blocking, no network."""
from __future__ import annotations

import io

import av

from conformance.report import Violation


def check_decodes(name: str, uri: str, init: bytes, segment: bytes) -> list[Violation]:
    try:
        with av.open(io.BytesIO(init + segment), mode="r", format="mp4") as container:
            if not container.streams.video:
                return [Violation("KEYFRAME", name, uri, "no video stream")]
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
    except (av.FFmpegError, ValueError) as exc:
        return [Violation("DECODE", name, uri, f"init + segment does not decode: {exc}")]
    return [Violation("DECODE", name, uri, "init + segment decodes to no video frame")]
