/* The lobby display's announcements: a chime, then "Xin mời số A012 đến quầy số 5" (and
   "Ticket A012, please go to counter 5" on a bilingual screen).

   Calls wait in a queue: a new call never cuts off the one being spoken, and calls that
   come together are all announced, one after the other. Each language is spoken by the
   browser's own (offline) voice for it when there is one, else by joining the recorded
   clips of display/sounds/ in order: invite, the letters and digits of the number,
   to_counter, the digits of the counter.

   For tests and monitoring, every announcement is recorded in window.hangchoAnnouncements
   (the last LOG_MAX ones: {seq, ticket_id, number, counter, recall, engine, started_at,
   ended_at}, times from performance.now()) and announced on document as the DOM events
   "hangcho:announcement-start" and "hangcho:announcement-end" (detail = that record). */
(function (global) {
  "use strict";
  var LOG_MAX = 50;           // records kept in window.hangchoAnnouncements
  var PENDING_MAX = 12;       // calls waiting to be spoken; beyond that the oldest is dropped
  var STEP_TIMEOUT_MS = 15000; // a voice or clip that never reports its end cannot stall us
  var GAP_S = 0.35;           // pause between the languages and between repeats

  function Announcer(options) {
    this.clips = options.clips || {};
    this.languages = options.languages || ["vi"];
    this.repeat = Math.max(1, options.repeat || 1);
    this.text = options.text;  // (lang, call) -> the sentence for a speech voice
    this.pending = [];
    this.playing = null;
    this.enabled = false;
    this.seq = 0;
    this.buffers = {};
    this.log = global.hangchoAnnouncements = [];
    var Context = global.AudioContext || global.webkitAudioContext;
    this.ctx = Context ? new Context() : null;
  }

  /* Whether the browser lets us play sound now (autoplay allowed, or after a click). */
  Announcer.prototype.unlocked = function () {
    return !!this.ctx && this.ctx.state === "running";
  };

  /* Turn sound on; call from a click so the browser allows it. Resolves to unlocked(). */
  Announcer.prototype.enable = function () {
    var self = this;
    if ("speechSynthesis" in global) {
      // Speaking once inside the click unlocks speech on browsers that need a gesture.
      var warm = new SpeechSynthesisUtterance(" ");
      warm.volume = 0;
      global.speechSynthesis.speak(warm);
    }
    var resumed = this.ctx ? this.ctx.resume() : Promise.resolve();
    return resumed.then(function () {
      self.enabled = self.unlocked();
      if (self.enabled) {
        self.preload();
        self.pump();
      }
      return self.enabled;
    }, function () { return false; });
  };

  /* Fetch and decode the clips every announcement uses, so the first one starts at once. */
  Announcer.prototype.preload = function () {
    var self = this;
    var names = ["chime"];
    this.languages.forEach(function (lang) { names.push(lang + "/invite", lang + "/to_counter"); });
    names.forEach(function (name) { self.buffer(name); });
  };

  /* Queue a CALL for announcement; ignored until sound is enabled. */
  Announcer.prototype.announce = function (call) {
    if (!this.enabled) return false;
    for (var i = 0; i < this.pending.length; i++) {
      if (this.pending[i].ticket_id === call.ticket_id) {
        this.pending[i] = call;  // a recall of a ticket still waiting its turn: say it once
        return true;
      }
    }
    this.pending.push(call);
    if (this.pending.length > PENDING_MAX) this.pending.shift();
    this.pump();
    return true;
  };

  Announcer.prototype.pump = function () {
    var self = this;
    if (this.playing || !this.pending.length || !this.enabled) return;
    var call = this.pending.shift();
    var record = {seq: ++this.seq, ticket_id: call.ticket_id, number: call.number,
                  counter: call.counter, recall: !!call.recall, engine: null,
                  started_at: global.performance.now(), ended_at: null};
    this.playing = record;
    this.log.push(record);
    if (this.log.length > LOG_MAX) this.log.splice(0, this.log.length - LOG_MAX);
    dispatch("hangcho:announcement-start", record);
    this.speakCall(call, record).catch(function () {}).then(function () {
      record.ended_at = global.performance.now();
      self.playing = null;
      dispatch("hangcho:announcement-end", record);
      self.pump();
    });
  };

  /* Chime, then the sentence in each language; repeated, unless other calls are waiting. */
  Announcer.prototype.speakCall = function (call, record) {
    var self = this;
    var engines = [];
    var steps = [];
    var skipping = false;
    for (var round = 0; round < this.repeat; round++) {
      this.languages.forEach(function (lang, i) {
        steps.push({round: round, lang: lang, first: i === 0});
      });
    }
    return steps.reduce(function (chain, step) {
      return chain.then(function () {
        // Repeats give way to waiting calls, so the queue never falls behind at rush hour.
        if (step.round > 0 && step.first && self.pending.length) skipping = true;
        if (skipping) return null;
        var engine = self.voice(step.lang) ? "speech" : "clips";
        if (engines.indexOf(engine) < 0) engines.push(engine);
        record.engine = engines.join("+");
        var said = engine === "speech" ? self.speak(step.lang, call)
          : self.playClips(self.clipNames(step.lang, call));
        return said.then(function () { return self.pause(GAP_S); });
      });
    }, this.playClips(["chime"]));
  };

  /* The clip names of one sentence: invite, A, 0, 1, 2, to_counter, 5. */
  Announcer.prototype.clipNames = function (lang, call) {
    var names = [lang + "/invite"];
    String(call.number).toUpperCase().split("").forEach(function (ch) { names.push(lang + "/" + ch); });
    names.push(lang + "/to_counter");
    String(call.counter).split("").forEach(function (ch) { names.push(lang + "/" + ch); });
    return names;
  };

  /* The browser's own voice for a language, only one that works without the internet. */
  Announcer.prototype.voice = function (lang) {
    if (!("speechSynthesis" in global)) return null;
    var voices = global.speechSynthesis.getVoices() || [];
    for (var i = 0; i < voices.length; i++) {
      var code = String(voices[i].lang || "").toLowerCase().replace("_", "-");
      if (voices[i].localService && code.indexOf(lang) === 0) return voices[i];
    }
    return null;
  };

  Announcer.prototype.speak = function (lang, call) {
    var self = this;
    return new Promise(function (resolve) {
      var utterance = new SpeechSynthesisUtterance(self.text(lang, call));
      utterance.voice = self.voice(lang);
      utterance.lang = utterance.voice.lang;
      utterance.rate = 0.9;
      var timer = setTimeout(resolve, STEP_TIMEOUT_MS);
      utterance.onend = utterance.onerror = function () { clearTimeout(timer); resolve(); };
      global.speechSynthesis.speak(utterance);
    });
  };

  /* A decoded clip (cached), or null when the folder has no such clip or it can't decode. */
  Announcer.prototype.buffer = function (name) {
    var self = this;
    if (!this.ctx || !this.clips[name]) return Promise.resolve(null);
    if (!this.buffers[name]) {
      this.buffers[name] = fetch(this.clips[name]).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.arrayBuffer();
      }).then(function (data) {
        return new Promise(function (resolve, reject) {
          self.ctx.decodeAudioData(data, resolve, reject);
        });
      }).catch(function () {
        delete self.buffers[name];  // try again next time (the server may be back)
        return null;
      });
    }
    return this.buffers[name];
  };

  /* Play clips back to back, without gaps; resolves when the last one has ended. */
  Announcer.prototype.playClips = function (names) {
    var self = this;
    return Promise.all(names.map(function (n) { return self.buffer(n); })).then(function (buffers) {
      buffers = buffers.filter(Boolean);
      if (!buffers.length) return null;
      return new Promise(function (resolve) {
        var at = self.ctx.currentTime + 0.05;
        var last = null;
        buffers.forEach(function (buffer) {
          var source = self.ctx.createBufferSource();
          source.buffer = buffer;
          source.connect(self.ctx.destination);
          source.start(at);
          at += buffer.duration;
          last = source;
        });
        var total = (at - self.ctx.currentTime) * 1000;
        var timer = setTimeout(resolve, Math.min(total + 1500, STEP_TIMEOUT_MS * 2));
        last.onended = function () { clearTimeout(timer); resolve(); };
      });
    });
  };

  Announcer.prototype.pause = function (seconds) {
    return new Promise(function (resolve) { setTimeout(resolve, seconds * 1000); });
  };

  function dispatch(name, record) {
    var detail = {};
    Object.keys(record).forEach(function (k) { detail[k] = record[k]; });
    document.dispatchEvent(new CustomEvent(name, {detail: detail}));
  }

  global.Announcer = Announcer;
})(window);
