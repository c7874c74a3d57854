// Plays one reel with hls.js and records what happened in window.sizzle, which the test polls.
// Query: src=<master URL> [rate=<playbackRate>] [startHeight=<pin the start level>]
//        [switchAt=<fraction of the duration>] [switchMode=currentLevel|nextLevel]
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const src = params.get("src");
  const rate = parseFloat(params.get("rate") || "1");
  const startHeight = params.has("startHeight") ? parseInt(params.get("startHeight"), 10) : null;
  const switchAt = params.has("switchAt") ? parseFloat(params.get("switchAt")) : null;
  const switchMode = params.get("switchMode") || "currentLevel";
  const video = document.getElementById("video");
  const clock = () => Math.round(performance.now());
  const state = window.sizzle = {
    done: false, reason: null, ended: false, fatal: null, errors: [], stalls: 0, waiting: 0,
    playing: false, levels: [], switched: [], switchRequest: null, frags: [], rate: null,
    quality: null, presented: 0, mediaTimes: 0, gaps: [], duration: null, currentTime: null,
    wall: { start: clock(), playing: null, end: null }, events: [],
  };
  const seenMediaTimes = new Set();
  let lastMediaTime = null;

  function finish(reason) {
    if (state.done) return;
    const q = video.getVideoPlaybackQuality();
    state.quality = { total: q.totalVideoFrames, dropped: q.droppedVideoFrames };
    state.duration = video.duration;
    state.currentTime = video.currentTime;
    state.mediaTimes = seenMediaTimes.size;
    state.wall.end = clock();
    state.reason = reason;
    state.done = true;
  }

  if (!window.Hls || !Hls.isSupported()) {
    state.fatal = { details: "hls.js missing or MSE unsupported" };
    finish("unsupported");
    return;
  }
  const hls = window.hls = new Hls({ debug: false });

  hls.on(Hls.Events.ERROR, (_event, data) => {
    state.errors.push({
      type: data.type, details: data.details, fatal: data.fatal, at: video.currentTime,
      frag: data.frag ? data.frag.url : null,
      reason: data.reason || (data.error ? String(data.error) : null),
      response: data.response ? data.response.code : null,
    });
    if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) state.stalls += 1;
    if (data.fatal) {
      state.fatal = state.errors[state.errors.length - 1];
      finish("fatal");
    }
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    state.levels = hls.levels.map((level, index) => ({
      index, height: level.height, width: level.width, bitrate: level.bitrate, url: String(level.url),
    }));
    if (startHeight !== null) {
      const index = hls.levels.findIndex(level => level.height === startHeight);
      hls.startLevel = index;
      hls.loadLevel = index;  // manual level: no ABR switch before the test asks for one
    }
    video.playbackRate = rate;
    video.play().catch(error => state.events.push(`play() rejected: ${error}`));
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_event, data) => {
    state.switched.push({ level: data.level, at: video.currentTime, wall: clock() });
  });
  hls.on(Hls.Events.FRAG_LOADED, (_event, data) => {
    const frag = data.frag;
    if (frag.type !== "main") return;
    state.frags.push({ level: frag.level, sn: frag.sn, cc: frag.cc, url: frag.url,
                       at: video.currentTime, wall: clock() });
  });

  video.addEventListener("playing", () => {
    if (!state.playing) { state.playing = true; state.wall.playing = clock(); state.rate = video.playbackRate; }
  });
  video.addEventListener("waiting", () => { if (state.playing) state.waiting += 1; });
  video.addEventListener("ended", () => { state.ended = true; finish("ended"); });
  video.addEventListener("error", () => {
    state.events.push(`video error ${video.error && video.error.code}: ${video.error && video.error.message}`);
  });
  video.addEventListener("timeupdate", () => {
    if (switchAt === null || state.switchRequest || !(video.duration > 0)) return;
    if (video.currentTime < switchAt * video.duration) return;
    const from = hls.currentLevel;
    const to = from === 0 ? hls.levels.length - 1 : 0;
    state.switchRequest = { from, to, at: video.currentTime, wall: clock(), mode: switchMode };
    if (switchMode === "nextLevel") hls.nextLevel = to; else hls.currentLevel = to;
  });

  // Frames actually handed to the compositor, by media time (each distinct frame counted once).
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    const onFrame = (_now, meta) => {
      state.presented = meta.presentedFrames;
      seenMediaTimes.add(Math.round(meta.mediaTime * 1000));
      // A jump of more than 1.5 frame durations (30 fps) between presented frames is a skip.
      if (lastMediaTime !== null && Math.abs(meta.mediaTime - lastMediaTime) > 1.5 / 30) {
        state.gaps.push([lastMediaTime, meta.mediaTime]);
      }
      lastMediaTime = meta.mediaTime;
      if (!state.done) video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  hls.attachMedia(video);
  hls.loadSource(src);
})();
