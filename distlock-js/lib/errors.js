import { ClientCode } from './protocol.js';

/**
 * The error every call of {@link DistLockClient} rejects with.
 *
 * `code` is the protocol's code for a `FAIL` reply (`NOT_OWNER`, `BAD_NAME`,
 * `RATE_LIMITED`, ...), or one of the client's own: `TIMEOUT` (no reply in time; the
 * request may still take effect), `DISCONNECTED` (the connection closed while the request
 * was pending), `NOT_CONNECTED` (no open connection, or no session to wait for),
 * `BAD_REPLY` (the server sent something this client cannot read).
 */
export class DistLockError extends Error {
  /**
   * @param {string} code the protocol's or the client's error code
   * @param {string} message for people
   * @param {{reply?: object, cause?: unknown}} [details] the `FAIL` reply, the underlying error
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
  }
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
