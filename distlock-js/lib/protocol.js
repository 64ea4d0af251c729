/**
 * The words of the distlock wire protocol (versions 1 and 2), defined once. The protocol
 * documents are the contract; this file only names what the client sends and reads.
 */

/** The protocol version this client asks for in `connect`; a server without it answers without `version`. */
export const PROTOCOL_VERSION = 2;

/** The `action` of a request. */
export const Action = Object.freeze({
  CONNECT: 'connect',
  CLOSE: 'close',
  LOCK: 'lock',
  UNLOCK: 'unlock',
  MLOCK: 'mlock',
  MUNLOCK: 'munlock',
  /** Version 2: leave a lock's queue. */
  CANCEL: 'cancel',
  /** Version 2: take a session over on a new connection, within its grace period. */
  RESUME: 'resume',
  /** Version 2: answered `OK`, touches nothing; proves the connection is alive. */
  PING: 'ping',
  /** Version 2: the holders and queue of up to {@link MAX_QUERY_NAMES} locks (`OK` with `state`). */
  QUERY: 'query',
  /** Version 2: `CHANGED` pushes for these names (or a `prefix`) from now on; `OK` with `state`. */
  WATCH: 'watch',
  UNWATCH: 'unwatch',
});

/**
 * The `status` of a reply (`OK`, `LOCKED`, `WAIT`, `FAIL`; version 2: `QUEUED`) or a push
 * (`RETRY`, `LOST`; version 2: `GRANTED`, `CANCELLED`, `ASKED`, `CHANGED`).
 */
export const Status = Object.freeze({
  OK: 'OK',
  LOCKED: 'LOCKED',
  WAIT: 'WAIT',
  QUEUED: 'QUEUED',
  RETRY: 'RETRY',
  LOST: 'LOST',
  GRANTED: 'GRANTED',
  CANCELLED: 'CANCELLED',
  /** Version 2: someone queued with `ask` for a lock this session holds. */
  ASKED: 'ASKED',
  /** Version 2: a watched lock's holders or queue changed; `state` is that lock's. */
  CHANGED: 'CHANGED',
  FAIL: 'FAIL',
});

/** The `mode` of a version 2 lock: shared grants coexist, an exclusive one excludes all. */
export const Mode = Object.freeze({
  EXCLUSIVE: 'exclusive',
  SHARED: 'shared',
});

/** The longest `timeout` (ms) a version 2 server accepts on a queued `lock`. */
export const MAX_QUEUE_TIMEOUT_MS = 3_600_000;

/** The most names one `query` may name. */
export const MAX_QUERY_NAMES = 64;

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
  /** Version 2: `cancel` for a lock the session does not queue for. */
  NOT_QUEUED: 'NOT_QUEUED',
  /** Version 2: `resume` of an unknown session, with a wrong secret, or after its grace. */
  SESSION_EXPIRED: 'SESSION_EXPIRED',
});

/**
 * The client's own error codes, next to the protocol's: `TIMEOUT` (no reply in time; the
 * request may still take effect), `DISCONNECTED` (the connection closed while the request
 * was pending), `NOT_CONNECTED` (no open connection, or no session to wait for; the same
 * word as the protocol's, told apart by the absence of a reply), `BAD_REPLY` (the server
 * sent something this client cannot read), `FAIL` (a `FAIL` reply without a code),
 * `NOT_SUPPORTED` (an option the server's protocol version lacks: shared mode, queueing and
 * `cancel` on a version 1 server), `CANCELLED` (a request() left the lock's queue without
 * the lock: the server pushed `CANCELLED`, or its `timeout` passed).
 */
export const ClientCode = Object.freeze({
  TIMEOUT: 'TIMEOUT',
  DISCONNECTED: 'DISCONNECTED',
  NOT_CONNECTED: 'NOT_CONNECTED',
  BAD_REPLY: 'BAD_REPLY',
  FAIL: 'FAIL',
  NOT_SUPPORTED: 'NOT_SUPPORTED',
  CANCELLED: 'CANCELLED',
  /** A request() whose lock was lost while its callback ran (`error.lost` is the `lost` event's detail). */
  LOST: 'LOST',
  /** A request() for a lock this session holds through lock(): it is the application's, not request()'s. */
  ALREADY_HELD: 'ALREADY_HELD',
});

/**
 * Why a `lost` event fired: the server pushed `LOST`; the connection closed and the session
 * ended with it (no grace); the session expired (its grace passed, or the server refused to
 * resume it); close() ended the session.
 */
export const LostReason = Object.freeze({
  LOST: 'LOST',
  DISCONNECTED: 'DISCONNECTED',
  EXPIRED: 'EXPIRED',
  CLOSED: 'CLOSED',
});

/** The statuses that answer each action, besides `FAIL`. Anything else is a `BAD_REPLY`. */
export const REPLY_STATUSES = Object.freeze({
  [Action.CONNECT]: [Status.OK],
  [Action.CLOSE]: [Status.OK],
  [Action.UNLOCK]: [Status.OK],
  [Action.MUNLOCK]: [Status.OK],
  [Action.LOCK]: [Status.LOCKED, Status.WAIT, Status.QUEUED],
  [Action.MLOCK]: [Status.LOCKED, Status.WAIT],
  [Action.CANCEL]: [Status.OK],
  [Action.RESUME]: [Status.OK],
  [Action.PING]: [Status.OK],
  [Action.QUERY]: [Status.OK],
  [Action.WATCH]: [Status.OK],
  [Action.UNWATCH]: [Status.OK],
});

/** A TypeError unless `value` (a lock or session name: `what`) is a string. */
export function requireString(value, what) {
  if (typeof value !== 'string') {
    throw new TypeError(`${what} must be a string, was ${typeof value}`);
  }
}

/** Whether `names` is an array of lock names (strings). */
export function isNameList(names) {
  return Array.isArray(names) && names.every((name) => typeof name === 'string');
}

/** The protocol version an `OK` reply to `connect` announces: 2 if it says so, else 1 (no `version` field). */
export function negotiatedVersion(reply) {
  return Number.isInteger(reply.version) && reply.version >= PROTOCOL_VERSION ? PROTOCOL_VERSION : 1;
}

/** One request frame: the action, its `param` or `params`, and the id its reply will echo. */
export function encodeRequest(action, fields, id) {
  return JSON.stringify({ action, ...fields, id });
}

/** The lock name of a push (`RETRY`, `LOST`, `GRANTED`, `CANCELLED`; servers that only fill `message` exist). */
export function pushedLock(message) {
  return message.lock ?? message.message;
}

/** How a close is described in error messages: `1006`, or `1000: disconnect()`. */
export function describeClose(code, reason) {
  return reason ? `${code}: ${reason}` : `${code}`;
}
