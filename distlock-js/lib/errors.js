import { ClientCode } from './protocol.js';

/**
 * The error every call of {@link DistLockClient} rejects with.
 *
 * `code` is the protocol's code for a `FAIL` reply (`NOT_OWNER`, `BAD_NAME`,
 * `RATE_LIMITED`, ...), or one of the client's own: `TIMEOUT` (no reply in time; the
 * request may still take effect), `DISCONNECTED` (the connection closed while the request
 * was pending), `NOT_CONNECTED` (no open connection, or no session to wait for),
 * `BAD_REPLY` (the server sent something this client cannot read), `NOT_SUPPORTED` (the
 * server's protocol version lacks the option or action), `CANCELLED` (a request() left the
 * lock's queue without the lock; `reason` says why: `timeout` or `backend`), `LOST` (a
 * request()'s lock was lost while its callback ran; `lost` says how), `ALREADY_HELD` (a
 * request() for a lock the session holds through lock(), or a lock() or lockAll() of a lock a
 * request() holds or waits for).
 */
export class DistLockError extends Error {
  /**
   * @param {string} code the protocol's or the client's error code
   * @param {string} message for people
   * @param {{reply?: object, cause?: unknown, reason?: string}} [details] the `FAIL` reply (or
   *   `CANCELLED` push), the underlying error, why a `CANCELLED` was
   */
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DistLockError';
    /** @type {string} */
    this.code = code;
    if (details.reply !== undefined) {
      /** The server's reply, when the error is a `FAIL` reply. */
      this.reply = details.reply;
    }
    if (details.reason !== undefined) {
      /** For `CANCELLED`: why the request left the queue (`timeout`, `backend`). */
      this.reason = details.reason;
    }
    if (details.lost !== undefined) {
      /** For `LOST`: the `lost` event's detail (`lock`, `token`, `reason`, `cause`, `by`). */
      this.lost = details.lost;
    }
  }
}

/**
 * A request() that left the lock's queue without the lock: the server pushed `CANCELLED`
 * (`push` is that frame), or its `timeout` passed while the client still waited itself.
 */
export function cancelledError(name, reason, push) {
  const why = reason === 'timeout' ? 'its timeout passed' : `the server cancelled it (${reason})`;
  return new DistLockError(ClientCode.CANCELLED, `gave up waiting for "${name}": ${why}`,
    push === undefined ? { reason } : { reason, reply: push });
}

/** A lost connection (as opposed to a refusal): the session and its place in line are gone. */
export function isConnectionLoss(error) {
  return error instanceof DistLockError
    && (error.code === ClientCode.DISCONNECTED || (error.code === ClientCode.NOT_CONNECTED && error.reply === undefined));
}

/** Why a request() cannot wait for a session: it was lost (`DISCONNECTED`), or there never was one. */
export function noSession(code) {
  return code === ClientCode.DISCONNECTED
    ? new DistLockError(code, 'the connection was lost while waiting for the lock, and no new session is being opened')
    : new DistLockError(code, 'not connected: call connect() first');
}
