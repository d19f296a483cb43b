/**
 * Hybrid logical clock, as the server's: `<13-digit ms>-<4 hex counter>-<client_id>`.
 * Stamps compare as strings. The clock never goes back and moves past every stamp it sees.
 */

const MAX_COUNTER = 0xffff;
const PATTERN = /^(\d{13})-([0-9a-f]{4})-(.+)$/;

/** @param {number} ms @param {number} counter @param {string} node */
export function formatHlc(ms, counter, node) {
  return `${String(ms).padStart(13, "0")}-${counter.toString(16).padStart(4, "0")}-${node}`;
}

/** @param {string} stamp @returns {{ms: number, counter: number, node: string}} */
export function parseHlc(stamp) {
  const match = PATTERN.exec(stamp);
  if (!match) throw new Error(`not an hlc: ${stamp}`);
  return { ms: Number(match[1]), counter: parseInt(match[2], 16), node: match[3] };
}

export class Clock {
  /**
   * @param {string} node this client's id
   * @param {{ms: number, counter: number}} [state] as saved by `toJSON`
   * @param {() => number} [now]
   */
  constructor(node, state = { ms: 0, counter: 0 }, now = Date.now) {
    this.node = node;
    this.ms = state.ms;
    this.counter = state.counter;
    this.now = now;
  }

  /** A new stamp, later than every stamp issued or observed. */
  tick() {
    const now = this.now();
    if (now > this.ms) {
      this.ms = now;
      this.counter = 0;
    } else if (this.counter < MAX_COUNTER) {
      this.counter += 1;
    } else {
      this.ms += 1;
      this.counter = 0;
    }
    return formatHlc(this.ms, this.counter, this.node);
  }

  /** Move past a stamp from elsewhere (the server's `hlc` in a pull answer). */
  observe(stamp) {
    const { ms, counter } = parseHlc(stamp);
    if (ms > this.ms || (ms === this.ms && counter > this.counter)) {
      this.ms = ms;
      this.counter = counter;
    }
  }

  toJSON() {
    return { ms: this.ms, counter: this.counter };
  }
}
