// One reel in one player (hls.js or Shaka, HLS mode), driven by a script in the query, recording
// into window.sizzle what the viewer saw and heard. The test polls window.sizzle.done.
// Query: player=hls|shaka, src=<master URL>, plan=<JSON {startHeight, switches:[{at, height}],
//        seek:{at, to} | null, captures:[{from, to} media time windows]}>
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const which = params.get("player");
  const src = params.get("src");
  const plan = JSON.parse(params.get("plan"));
  const video = document.getElementById("video");
  const canvas = document.getElementById("canvas");
  const ctx2d = canvas.getContext("2d", { willReadFrequently: true });
  const clock = () => Math.round(performance.now());
  const state = window.sizzle = {
    player: which, version: null, done: false, reason: null, ended: false, fatal: null,
    errors: [], waiting: 0, waitingAt: [], playing: false, heights: [], switches: [], seek: null,
    captures: [], audio: null, quality: null, duration: null, gaps: [], events: [],
    wall: { start: clock(), playing: null, end: null },
  };
  const captures = plan.captures.slice();
  const switches = plan.switches.slice();
  let seekIssued = false;
  let seekSettled = true;
  let lastMediaTime = null;
  let lastHeight = null;

  function finish(reason) {
    if (state.done) return;
    const q = video.getVideoPlaybackQuality();
    state.quality = { total: q.totalVideoFrames, dropped: q.droppedVideoFrames };
    state.duration = video.duration;
    state.wall.end = clock();
    state.reason = reason;
    state.done = true;
  }
  function fatal(details) {
    state.fatal = details;
    finish("fatal");
  }

  // Sound: element -> analyser -> speakers (a fake device in headless Chromium). Unmuted: a muted
  // element feeds silence into the graph.
  const audio = new AudioContext();
  const source = audio.createMediaElementSource(video);
  const analyser = audio.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0;
  source.connect(analyser);
  analyser.connect(audio.destination);
  const spectrum = new Float32Array(analyser.frequencyBinCount);
  const wave = new Float32Array(analyser.fftSize);
  video.volume = 1;
  video.muted = false;

  function listen() {
    analyser.getFloatFrequencyData(spectrum);
    analyser.getFloatTimeDomainData(wave);
    let peak = 1;
    for (let i = 2; i < spectrum.length; i++) if (spectrum[i] > spectrum[peak]) peak = i;
    // Parabolic interpolation around the peak bin for a finer frequency.
    const a = spectrum[peak - 1], b = spectrum[peak], c = spectrum[peak + 1];
    const shift = (a - 2 * b + c) !== 0 ? 0.5 * (a - c) / (a - 2 * b + c) : 0;
    let energy = 0;
    for (let i = 0; i < wave.length; i++) energy += wave[i] * wave[i];
    const hz = (peak + shift) * audio.sampleRate / analyser.fftSize;
    return { hz: Number.isFinite(hz) ? hz : 0, db: Number.isFinite(b) ? b : -1000,
             rms: Math.sqrt(energy / wave.length), contextState: audio.state };
  }

  function look() {
    ctx2d.drawImage(video, 0, 0, canvas.width, canvas.height);
    const pixels = ctx2d.getImageData(0, 0, canvas.width, canvas.height).data;
    // 16x9 block means of BT.601 luma over the 160x90 picture.
    const blocks = new Array(16 * 9).fill(0);
    for (let y = 0; y < canvas.height; y++) {
      for (let x = 0; x < canvas.width; x++) {
        const i = 4 * (y * canvas.width + x);
        const luma = 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
        blocks[Math.floor(y / 10) * 16 + Math.floor(x / 10)] += luma / 100;
      }
    }
    return blocks.map(v => Math.round(v * 10) / 10);
  }

  function onFrame(_now, meta) {
    if (state.done) return;
    const t = meta.mediaTime;
    if (meta.height !== lastHeight) {
      state.heights.push({ height: meta.height, at: t, wall: clock() });
      lastHeight = meta.height;
    }
    if (lastMediaTime !== null && seekSettled && Math.abs(t - lastMediaTime) > 1.5 / 30) {
      state.gaps.push([lastMediaTime, t]);
    }
    lastMediaTime = t;
    while (captures.length && t >= captures[0].from) {
      const window_ = captures.shift();
      if (t < window_.to) {
        state.captures.push({ want: window_.from, at: t, height: meta.height, luma: look(), sound: listen() });
      } else {
        state.captures.push({ want: window_.from, at: t, missed: true });
      }
    }
    while (switches.length && t >= switches[0].at) {
      const request = switches.shift();
      state.switches.push({ ...request, requestedAt: t, wall: clock(), result: doSwitch(request) });
    }
    if (plan.seek && !seekIssued && t >= plan.seek.at) {
      seekIssued = true;
      seekSettled = false;
      state.seek = { from: t, to: plan.seek.to, wall: clock(), firstFrame: null };
      video.currentTime = plan.seek.to;
    }
    if (state.seek && state.seek.firstFrame === null && !video.seeking && t >= plan.seek.to - 0.05) {
      state.seek.firstFrame = t;
      seekSettled = true;
    }
    video.requestVideoFrameCallback(onFrame);
  }

  video.addEventListener("playing", () => {
    if (!state.playing) { state.playing = true; state.wall.playing = clock(); }
  });
  video.addEventListener("waiting", () => {
    // A stall is a wait that nothing asked for: not the seek's own rebuffering.
    if (state.playing && seekSettled && !video.seeking) {
      state.waiting += 1;
      state.waitingAt.push(video.currentTime);
    }
  });
  video.addEventListener("ended", () => { state.ended = true; finish("ended"); });
  video.addEventListener("error", () => {
    state.events.push(`video error ${video.error && video.error.code}: ${video.error && video.error.message}`);
  });
  video.requestVideoFrameCallback(onFrame);

  function start() {
    video.play().catch(error => state.events.push(`play() rejected: ${error}`));
    audio.resume().catch(error => state.events.push(`audio resume rejected: ${error}`));
  }

  let doSwitch = () => "no player";

  if (which === "hls") {
    if (!window.Hls || !Hls.isSupported()) { fatal({ details: "hls.js missing or MSE unsupported" }); return; }
    state.version = Hls.version;
    const hls = window.hls = new Hls({ debug: false });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      state.errors.push({ details: data.details, fatal: data.fatal, at: video.currentTime,
                          reason: data.reason || (data.error ? String(data.error) : null) });
      if (data.fatal) fatal(state.errors[state.errors.length - 1]);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      const index = hls.levels.findIndex(level => level.height === plan.startHeight);
      hls.startLevel = index;
      hls.loadLevel = index;  // manual level: no ABR switch unless the script asks
      start();
    });
    // A smooth switch: keep what plays now, flush what is buffered after the next fragment.
    doSwitch = (request) => {
      const index = hls.levels.findIndex(level => level.height === request.height);
      hls.nextLevel = index;
      return `hls.nextLevel = ${index}`;
    };
    hls.attachMedia(video);
    hls.loadSource(src);
  } else if (which === "shaka") {
    shaka.polyfill.installAll();
    if (!shaka.Player.isBrowserSupported()) { fatal({ details: "Shaka: browser not supported" }); return; }
    state.version = shaka.Player.version;
    const player = window.player = new shaka.Player();
    player.addEventListener("error", event => {
      const error = event.detail;
      const entry = { details: `shaka ${error.code}`, fatal: error.severity === 2, at: video.currentTime,
                      reason: JSON.stringify(error.data).slice(0, 300) };
      state.errors.push(entry);
      if (entry.fatal) fatal(entry);
    });
    player.configure({
      abr: { enabled: false },
      streaming: { bufferingGoal: 8, rebufferingGoal: 1 },
    });
    // Immediate switch that keeps 2 s ahead of the playhead, so nothing already decoded is lost and
    // the new rendition has time to arrive.
    doSwitch = (request) => {
      const track = player.getVariantTracks().find(t => t.height === request.height);
      if (!track) return `no ${request.height}p track`;
      player.selectVariantTrack(track, true, 2);
      return `selectVariantTrack(${track.height}p, clearBuffer, safeMargin 2)`;
    };
    (async () => {
      try {
        await player.attach(video);
        await player.load(src);
        const track = player.getVariantTracks().find(t => t.height === plan.startHeight);
        if (track) player.selectVariantTrack(track, true);
        start();
      } catch (error) {
        fatal({ details: `shaka load failed: ${error && error.code}`, reason: String(error && error.message) });
      }
    })();
  } else {
    fatal({ details: `unknown player ${which}` });
  }
})();
