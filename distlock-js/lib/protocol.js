/**
 * The words of the distlock wire protocol (version 1), defined once. The protocol document
 * is the contract; this file only names what the client sends and reads.
 */

/** The `action` of a request. */
export const Action = Object.freeze({
  CONNECT: 'connect',
  CLOSE: 'close',
  LOCK: 'lock',
  UNLOCK: 'unlock',
  MLOCK: 'mlock',
  MUNLOCK: 'munlock',
});

/** The `status` of a reply (`OK`, `LOCKED`, `WAIT`, `FAIL`) or a push (`RETRY`, `LOST`). */
export const Status = Object.freeze({
  OK: 'OK',
  LOCKED: 'LOCKED',
  WAIT: 'WAIT',
  RETRY: 'RETRY',
  LOST: 'LOST',
  FAIL: 'FAIL',
});

/** The `code` of a `FAIL` reply. Servers may add codes; the client passes unknown ones on. */
export const FailCode = Object.freeze({
  BAD_REQUEST: 'BAD_REQUEST',
  UNKNOWN_ACTION: 'UNKNOWN_ACTION',
  NOT_CONNECTED: 'NOT_CONNECTED',
  ALREADY_CONNECTED: 'ALREADY_CONNECTED',
  BAD_NAME: 'BAD_NAME',
  NOT_OWNER: 'NOT_OWNER',
  TOO_MANY_LOCKS: 'TOO_MANY_LOCKS',
  RATE_LIMITED: 'RATE_LIMITED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  INTERNAL: 'INTERNAL',
});

/**
 * The client's own error codes, next to the protocol's: `TIMEOUT` (no reply in time; the
 * request may still take effect), `DISCONNECTED` (the connection closed while the request
 * was pending), `NOT_CONNECTED` (no open connection, or no session to wait for; the same
 * word as the protocol's, told apart by the absence of a reply), `BAD_REPLY` (the server
 * sent something this client cannot read), `FAIL` (a `FAIL` reply without a code).
 */
export const ClientCode = Object.freeze({
  TIMEOUT: 'TIMEOUT',
  DISCONNECTED: 'DISCONNECTED',
  NOT_CONNECTED: 'NOT_CONNECTED',
  BAD_REPLY: 'BAD_REPLY',
  FAIL: 'FAIL',
});

/** Why a `lost` event fired: the server pushed `LOST`, or the connection closed. */
export const LostReason = Object.freeze({
  LOST: 'LOST',
  DISCONNECTED: 'DISCONNECTED',
});

/** The statuses that answer each action, besides `FAIL`. Anything else is a `BAD_REPLY`. */
export const REPLY_STATUSES = Object.freeze({
  [Action.CONNECT]: [Status.OK],
  [Action.CLOSE]: [Status.OK],
  [Action.UNLOCK]: [Status.OK],
  [Action.MUNLOCK]: [Status.OK],
  [Action.LOCK]: [Status.LOCKED, Status.WAIT],
  [Action.MLOCK]: [Status.LOCKED, Status.WAIT],
});

/** One request frame: the action, its `param` or `params`, and the id its reply will echo. */
export function encodeRequest(action, fields, id) {
  return JSON.stringify({ action, ...fields, id });
}

/** The lock name of a `RETRY` or `LOST` push (servers that only fill `message` exist). */
export function pushedLock(message) {
  return message.lock ?? message.message;
}

/** How a close is described in error messages: `1006`, or `1000: disconnect()`. */
export function describeClose(code, reason) {
  return reason ? `${code}: ${reason}` : `${code}`;
}
