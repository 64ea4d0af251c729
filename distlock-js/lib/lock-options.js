import { ClientCode, MAX_QUEUE_TIMEOUT_MS, Mode } from './protocol.js';
import { DistLockError } from './errors.js';

/**
 * The version 2 fields of a `lock` (`queue`: with `wait`, `timeout`, `steal` and `ask`) or
 * `mlock`, checked. `steal` takes the lock now, so it never waits; `ask` only means something
 * while waiting.
 *
 * Defaults are left out (`mode: 'exclusive'`, `wait: false`), so a call without options, or
 * with only the defaults, sends exactly the version 1 frame. On a version 1 session
 * (`version` 1) the options that version lacks throw `NOT_SUPPORTED`: a version 2 server
 * would refuse them, and a version 1 server would ignore them, which is worse.
 *
 * @param {{mode?: string, wait?: boolean, timeout?: number, steal?: boolean, ask?: boolean}} options
 * @param {{queue: boolean, version: number | undefined}} how
 * @returns {{mode?: 'shared', wait?: true, timeout?: number, steal?: true, ask?: true}}
 */
export function lockFields(options, { queue, version }) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('lock options must be an object');
  }
  const { mode = Mode.EXCLUSIVE, wait = false, timeout, steal = false, ask = false } = options;
  checkMode(mode);
  const fields = {};
  if (mode === Mode.SHARED) fields.mode = mode;
  if (queue) {
    if (typeof wait !== 'boolean') {
      throw new TypeError(`wait must be a boolean, was ${typeof wait}`);
    }
    if (steal && wait) throw new TypeError('steal never waits: not with wait: true');
    if (ask && !wait) throw new TypeError('ask is only allowed with wait: true');
    if (timeout !== undefined) {
      if (!wait) throw new TypeError('timeout is only allowed with wait: true');
      checkTimeout(timeout);
      fields.timeout = timeout;
    }
    if (wait) fields.wait = true;
    if (steal) fields.steal = true;
    if (ask) fields.ask = true;
  } else if (wait || steal || ask || timeout !== undefined) {
    throw new TypeError('lockAll() takes only mode: an mlock never waits, steals or asks');
  }
  const asked = Object.keys(fields);
  if (version === 1 && asked.length > 0) {
    throw notSupported(asked.map((field) => `${field}: ${JSON.stringify(fields[field])}`).join(', '));
  }
  return fields;
}

/** A TypeError for a mode other than 'exclusive' and 'shared' (of lock(), lockAll() and request()). */
export function checkMode(mode) {
  if (mode !== Mode.EXCLUSIVE && mode !== Mode.SHARED) {
    throw new TypeError(`mode must be 'exclusive' or 'shared', was ${JSON.stringify(mode)}`);
  }
}

/** A RangeError for a queue timeout that is not a whole number of ms the server takes. */
export function checkTimeout(timeout) {
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_QUEUE_TIMEOUT_MS) {
    throw new RangeError(`timeout must be an integer from 1 to ${MAX_QUEUE_TIMEOUT_MS} (ms), was ${timeout}`);
  }
}

/** The error for an option or action a version 1 server does not have. */
export function notSupported(what) {
  return new DistLockError(ClientCode.NOT_SUPPORTED,
    `${what} needs protocol version 2, and this server speaks version 1`);
}
