// The fight clock as both pages show it (the viewer page and the console),
// served at /static/fight-clock.js: the server's time estimated from the
// `server_time` of snapshots and frames, a fight's clock now, and its face
// (the round line, the clock, a note). Counted on the server's time, never
// on the device's wall clock.

// Samples of the server clock older than this are forgotten, so a slow
// drift between the two clocks cannot pin the estimate for the whole night.
const CLOCK_WINDOW_MS = 15 * 60 * 1000;

/** `2026-12-01T14:14:12.984476767Z` → epoch ms (Date.parse wants at most ms). */
export function serverMs(text) {
  if (typeof text !== 'string') return NaN;
  return Date.parse(text.replace(/(\.\d{3})\d+/, '$1'));
}

export const serverClock = {
  samples: [],
  offset: null,
  /**
   * A `server_time` seen at local (monotonic) time `at`. The server wrote
   * it before it reached us, so `server - at` is a lower bound of the true
   * offset; the largest recent bound is the best estimate (a stale value,
   * such as a replayed frame's, only lowers a bound and is outvoted).
   */
  sample(serverTime, at = performance.now()) {
    const ms = serverMs(serverTime);
    if (!Number.isFinite(ms)) return;
    this.samples.push({ at, offset: ms - at });
    const recent = this.samples.filter((s) => s.at >= at - CLOCK_WINDOW_MS).slice(-64);
    this.samples = recent.length ? recent : this.samples.slice(-1);
    this.offset = Math.max(...this.samples.map((s) => s.offset));
  },
  /** The server's time now, in epoch ms. */
  now() {
    // Before the first sample (there is one with the first snapshot) the
    // device's clock is all there is.
    return this.offset === null ? Date.now() : performance.now() + this.offset;
  },
};

/** `m:ss` of whole seconds. */
export function mss(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A fight's clock now: mode, round, elapsed and remaining seconds. */
export function clockReading(fight) {
  const c = fight && fight.clock;
  if (!c) return null;
  const since = Math.max(0, (serverClock.now() - serverMs(c.server_time)) / 1000) || 0;
  if (c.between_rounds) {
    const rest = Math.min(c.rest_length_s, (c.rest_elapsed_s || 0) + since);
    return { mode: 'rest', round: c.round, elapsed: rest, remaining: c.rest_length_s - rest };
  }
  const elapsed = Math.min(c.round_length_s, c.elapsed_s + (c.running ? since : 0));
  const mode = c.running ? 'running' : c.paused ? 'paused' : c.stopped ? 'stopped' : 'idle';
  return { mode, round: c.round, elapsed, remaining: c.round_length_s - elapsed };
}

/**
 * What a fight's clock shows now: `round` (the line above the clock),
 * `clock` (counting down), `note` (paused and why, between rounds, …) and
 * the `reading` they come from (null without a clock).
 */
export function clockFace(fight) {
  const reading = clockReading(fight);
  if (!reading) return { reading: null, round: '–', clock: '–', note: '' };
  const rounds = fight.scheduled_rounds;
  if (fight.status === 'completed' && fight.result) {
    return { reading, round: `Final · R${fight.result.round}`, clock: fight.result.time || mss(reading.elapsed), note: '' };
  }
  if (fight.status !== 'in_progress' || reading.round === 0) {
    const round =
      fight.status === 'cancelled'
        ? 'Cancelled'
        : fight.status === 'in_progress'
          ? 'Round 1 is next'
          : `${rounds} × ${Math.round(fight.clock.round_length_s / 60)} min`;
    return { reading, round, clock: mss(fight.clock.round_length_s), note: '' };
  }
  const clock = mss(Math.ceil(reading.remaining));
  if (reading.mode === 'rest') {
    return { reading, round: `After R${reading.round} of ${rounds}`, clock, note: 'Between rounds' };
  }
  const note =
    reading.mode === 'paused'
      ? `Paused${fight.clock.pause_reason ? ` · ${fight.clock.pause_reason}` : ''}`
      : reading.mode === 'stopped'
        ? 'Round stopped'
        : reading.mode === 'idle' && reading.remaining <= 0
          ? 'End of round'
          : '';
  return { reading, round: `R${reading.round} of ${rounds}`, clock, note };
}
