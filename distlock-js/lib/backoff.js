/** Default reconnect backoff: first attempt after 0.25-0.5 s, never more than 30 s apart. */
export const DEFAULT_RECONNECT = Object.freeze({ initialDelayMs: 500, maxDelayMs: 30_000 });

/**
 * Checks the `reconnect` option and returns the settings, or false for no reconnects.
 *
 * @param {boolean | {initialDelayMs?: number, maxDelayMs?: number}} reconnect
 * @returns {false | Readonly<{initialDelayMs: number, maxDelayMs: number}>}
 */
export function reconnectSettings(reconnect) {
  if (reconnect === false) return false;
  if (reconnect === true) return DEFAULT_RECONNECT;
  if (reconnect === null || typeof reconnect !== 'object') {
    throw new TypeError('reconnect must be true, false or {initialDelayMs, maxDelayMs}');
  }
  const { initialDelayMs = DEFAULT_RECONNECT.initialDelayMs, maxDelayMs = DEFAULT_RECONNECT.maxDelayMs } = reconnect;
  if (!Number.isFinite(initialDelayMs) || initialDelayMs <= 0) {
    throw new RangeError(`reconnect.initialDelayMs must be a positive number, was ${initialDelayMs}`);
  }
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < initialDelayMs) {
    throw new RangeError(`reconnect.maxDelayMs must be a number >= initialDelayMs (${initialDelayMs}), was ${maxDelayMs}`);
  }
  return Object.freeze({ initialDelayMs, maxDelayMs });
}

/**
 * The delay before reconnect attempt number `attempt` (0 for the first). Exponential
 * backoff with "equal jitter": between half and all of min(maxDelayMs, initialDelayMs *
 * 2^attempt), so clients dropped together (a server restart) spread out, and none retries
 * in a tight loop. With `leftMs` to a deadline (a suspended session's grace period), the
 * ceiling is also at most half of that, though never under initialDelayMs: attempts grow
 * denser towards the deadline, so a network back before it is found before it, not after a
 * long backoff that outlasts the grace period.
 */
export function reconnectDelay({ initialDelayMs, maxDelayMs }, attempt, leftMs = Infinity) {
  const ceiling = Math.max(initialDelayMs, Math.min(maxDelayMs, initialDelayMs * 2 ** attempt, leftMs / 2));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Resolves after `ms`. */
export function delay(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}
