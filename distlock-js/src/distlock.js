/**
 * distlock JavaScript client: named locks, exclusive or shared, shared by every browser (and
 * server) connected to a distlock server, over one WebSocket.
 *
 * GENERATED from lib/*.js by scripts/build.mjs (`npm run build`): edit those, not this file.
 *
 * The wire protocol (versions 1 and 2) is the contract; this file only speaks it. The facts
 * of that protocol that shape everything below:
 *
 * - A lock is owned by a *session*. Without a grace period a session lives exactly as long
 *   as its WebSocket: when the socket drops, the server releases every lock of the session
 *   (and its places in queues). With one (version 2, `grace`), the session outlives the drop
 *   for that long and the client `resume`s it on a new connection (`suspended`, then
 *   `resumed`, or `expired`). Either way this client never queues commands while
 *   disconnected and never replays them: it rejects what was pending, reports every lock it
 *   can no longer vouch for as `lost`, and lets the application decide what to lock again.
 * - `lock` never blocks: the answer is `LOCKED` or `WAIT`, and after `WAIT` the server pushes
 *   one `RETRY` when the lock becomes free. `request()` turns that into "wait, run, release".
 * - `connect` asks for version 2. A version 2 server says so in its reply, and then also
 *   queues: `lock` with `wait: true` answers `QUEUED` and pushes `GRANTED` (or `CANCELLED`)
 *   later, first come first served across sessions and nodes; `request()` waits that way
 *   there. A server that does not say so gets exactly version 1.
 * - Replies carry the `id` of their request; pushes (`RETRY`, `LOST`, `GRANTED`,
 *   `CANCELLED`, `ASKED`, `CHANGED`) carry none (`GRANTED` names the queued request in
 *   `request`). A version 2 server also tells who holds what (`query`, `watch` and its
 *   `CHANGED` pushes), takes locks over (`steal`), and asks holders for them (`ask`, `ASKED`).
 *
 * Fencing tokens are JSON numbers. The reference server issues tokens around 1.7e15
 * (microseconds), well below 2^53, so they are exact as plain JavaScript numbers.
 *
 * No runtime dependencies: it needs `WebSocket`, `EventTarget`, `CustomEvent`, `Promise`,
 * `DOMException` and `TextEncoder`, which every current browser and Node 20+ have (Node gets
 * its `WebSocket` injected, e.g. from the `ws` package, until its global one is available).
 *
 * @module distlock
 */
/**
 * The words of the distlock wire protocol (versions 1 and 2), defined once. The protocol
 * documents are the contract; this file only names what the client sends and reads.
 */

/** The protocol version this client asks for in `connect`; a server without it answers without `version`. */
const PROTOCOL_VERSION = 2;

/** The `action` of a request. */
const Action = Object.freeze({
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
const Status = Object.freeze({
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
const Mode = Object.freeze({
  EXCLUSIVE: 'exclusive',
  SHARED: 'shared',
});

/** The longest `timeout` (ms) a version 2 server accepts on a queued `lock`. */
const MAX_QUEUE_TIMEOUT_MS = 3_600_000;

/** The most names one `query` may name. */
const MAX_QUERY_NAMES = 64;

/** The `code` of a `FAIL` reply. Servers may add codes; the client passes unknown ones on. */
const FailCode = Object.freeze({
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
const ClientCode = Object.freeze({
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
const LostReason = Object.freeze({
  LOST: 'LOST',
  DISCONNECTED: 'DISCONNECTED',
  EXPIRED: 'EXPIRED',
  CLOSED: 'CLOSED',
});

/** The statuses that answer each action, besides `FAIL`. Anything else is a `BAD_REPLY`. */
const REPLY_STATUSES = Object.freeze({
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
function requireString(value, what) {
  if (typeof value !== 'string') {
    throw new TypeError(`${what} must be a string, was ${typeof value}`);
  }
}

/** Whether `names` is an array of lock names (strings). */
function isNameList(names) {
  return Array.isArray(names) && names.every((name) => typeof name === 'string');
}

/** The protocol version an `OK` reply to `connect` announces: 2 if it says so, else 1 (no `version` field). */
function negotiatedVersion(reply) {
  return Number.isInteger(reply.version) && reply.version >= PROTOCOL_VERSION ? PROTOCOL_VERSION : 1;
}

/** One request frame: the action, its `param` or `params`, and the id its reply will echo. */
function encodeRequest(action, fields, id) {
  return JSON.stringify({ action, ...fields, id });
}

/** The lock name of a push (`RETRY`, `LOST`, `GRANTED`, `CANCELLED`; servers that only fill `message` exist). */
function pushedLock(message) {
  return message.lock ?? message.message;
}

/** How a close is described in error messages: `1006`, or `1000: disconnect()`. */
function describeClose(code, reason) {
  return reason ? `${code}: ${reason}` : `${code}`;
}

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
class DistLockError extends Error {
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
function cancelledError(name, reason, push) {
  const why = reason === 'timeout' ? 'its timeout passed' : `the server cancelled it (${reason})`;
  return new DistLockError(ClientCode.CANCELLED, `gave up waiting for "${name}": ${why}`,
    push === undefined ? { reason } : { reason, reply: push });
}

/** A lost connection (as opposed to a refusal): the session and its place in line are gone. */
function isConnectionLoss(error) {
  return error instanceof DistLockError
    && (error.code === ClientCode.DISCONNECTED || (error.code === ClientCode.NOT_CONNECTED && error.reply === undefined));
}

/** Why a request() cannot wait for a session: it was lost (`DISCONNECTED`), or there never was one. */
function noSession(code) {
  return code === ClientCode.DISCONNECTED
    ? new DistLockError(code, 'the connection was lost while waiting for the lock, and no new session is being opened')
    : new DistLockError(code, 'not connected: call connect() first');
}

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
function lockFields(options, { queue, version }) {
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
function checkMode(mode) {
  if (mode !== Mode.EXCLUSIVE && mode !== Mode.SHARED) {
    throw new TypeError(`mode must be 'exclusive' or 'shared', was ${JSON.stringify(mode)}`);
  }
}

/** A RangeError for a queue timeout that is not a whole number of ms the server takes. */
function checkTimeout(timeout) {
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_QUEUE_TIMEOUT_MS) {
    throw new RangeError(`timeout must be an integer from 1 to ${MAX_QUEUE_TIMEOUT_MS} (ms), was ${timeout}`);
  }
}

/** The error for an option or action a version 1 server does not have. */
function notSupported(what) {
  return new DistLockError(ClientCode.NOT_SUPPORTED,
    `${what} needs protocol version 2, and this server speaks version 1`);
}

/**
 * Queued requests nobody waits for any more (version 2): a request() aborted while queued, a
 * queued lock() whose reply came after its call timed out. A `GRANTED` for one of them must
 * be unlocked when it comes, unless the lock is wanted again by then (`keep()`).
 *
 * Marks are by the `id` of the `lock` request that queued, which `GRANTED` names in
 * `request`. A mark ends with its grant ({@link UnwantedGrants#take}), a `CANCELLED` for its
 * place, the end of the session, or its place known gone otherwise (a `cancel` answered `OK`,
 * even after its call timed out; a resume OK that no longer lists it) ({@link UnwantedGrants#settle}),
 * or `forget()`.
 */
class UnwantedGrants {
  /** request id to `{name, keep, settle}`. */
  #marks = new Map();

  /**
   * Marks the queued request `requestId` for `name` as unwanted.
   *
   * @param {number | undefined} requestId the `id` of the `lock` request that queued;
   *   undefined when it is not known (a place a resumed session listed that nobody asked for
   *   in it): then the mark is met by the lock name alone
   * @param {string} name the lock name
   * @param {(again: () => void) => boolean} keep asked when the grant comes: true if the lock is
   *   wanted again; `again()` asks again (and unlocks the grant if it is not wanted by then)
   * @returns {{settled: Promise<void>, forget: () => void}} `settled` resolves when the mark
   *   ends, however it ends; `forget()` ends it
   */
  mark(requestId, name, keep) {
    let settle;
    const settled = new Promise((resolve) => { settle = resolve; });
    requestId ??= Symbol(name);
    this.#marks.set(requestId, { name, keep, settle });
    const forget = () => {
      if (this.#marks.get(requestId)?.settle === settle) this.#marks.delete(requestId);
      settle();
    };
    return { settled, forget };
  }

  /**
   * Removes and returns the mark a `GRANTED` push meets: by its `request` (a mark of the same
   * lock: an id of another lock's mark is a request of another page, see PendingRequests),
   * or by lock name when the server left `request` out. Undefined if the grant is wanted.
   * A mark made without a request id never meets the grant of `live`, the request this page
   * knows queues for the lock now: that place is not the unknown one the mark was made for.
   *
   * @returns {{name: string, keep: () => boolean, settle: () => void} | undefined}
   */
  take(requestId, name, live) {
    const id = requestId !== undefined && this.#marks.get(requestId)?.name === name
      ? requestId
      : requestId === undefined || requestId !== live ? this.#idFor(name, requestId === undefined) : undefined;
    const mark = this.#marks.get(id);
    if (mark !== undefined) this.#marks.delete(id);
    return mark;
  }

  /**
   * Ends the marks for `name` (every mark without a name); with `requestId` (the place that
   * ended), only its mark and those made without a request id. True if there was one.
   */
  settle(name, requestId) {
    let found = false;
    for (const [id, mark] of this.#marks) {
      if (name === undefined || (mark.name === name && (requestId === undefined || id === requestId || typeof id === 'symbol'))) {
        this.#marks.delete(id);
        mark.settle();
        found = true;
      }
    }
    return found;
  }

  /** A mark for `name`: any (`any`), or only one made without a request id. */
  #idFor(name, any) {
    for (const [id, mark] of this.#marks) {
      if (mark.name === name && (any || typeof id === 'symbol')) return id;
    }
    return undefined;
  }
}

/** Default reconnect backoff: first attempt after 0.25-0.5 s, never more than 30 s apart. */
const DEFAULT_RECONNECT = Object.freeze({ initialDelayMs: 500, maxDelayMs: 30_000 });

/**
 * Checks the `reconnect` option and returns the settings, or false for no reconnects.
 *
 * @param {boolean | {initialDelayMs?: number, maxDelayMs?: number}} reconnect
 * @returns {false | Readonly<{initialDelayMs: number, maxDelayMs: number}>}
 */
function reconnectSettings(reconnect) {
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
function reconnectDelay({ initialDelayMs, maxDelayMs }, attempt, leftMs = Infinity) {
  const ceiling = Math.max(initialDelayMs, Math.min(maxDelayMs, initialDelayMs * 2 ** attempt, leftMs / 2));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Resolves after `ms`. */
function delay(ms) {
  return new Promise((resolve) => { setTimeout(resolve, ms); });
}

/**
 * Where the next WebSocket goes: one URL, several (the nodes of a multi-node deployment), or
 * a function the client calls before every socket (so that a URL carrying an auth token can
 * be refreshed between reconnects).
 *
 * With several URLs the client stays on the one that last opened, and moves to the next one
 * (round robin) when a socket fails to open: a dead node is skipped at the next attempt, and
 * a blip does not move a healthy session. A session that survives a dropped connection can
 * be resumed on any node, so moving is always safe.
 *
 * @param {string | URL | ReadonlyArray<string | URL> | ((attempt: {reconnect: boolean}) => string | URL | PromiseLike<string | URL>)} spec
 * @returns {{next(reconnect: boolean): string | Promise<string>, failed(): void}}
 */
function urlSource(spec) {
  if (typeof spec === 'function') {
    return {
      next: (reconnect) => {
        const url = spec({ reconnect });
        return typeof url?.then === 'function' ? Promise.resolve(url).then(checkedUrl) : checkedUrl(url);
      },
      failed: () => {},
    };
  }
  const urls = (Array.isArray(spec) ? spec : [spec]).map(checkedUrl);
  if (urls.length === 0) throw new TypeError('url: the list of URLs is empty');
  let index = 0;
  return {
    next: () => urls[index],
    failed: () => { index = (index + 1) % urls.length; },
  };
}

function checkedUrl(url) {
  if (typeof url !== 'string' && !(url instanceof URL)) {
    throw new TypeError(`url must be a string or a URL, was ${typeof url}`);
  }
  return String(url);
}

/** `WebSocket.OPEN`, spelled out because an injected WebSocket class may not define it. */
const WS_OPEN = 1;

/**
 * The states of a {@link Connection}, after OkHttp's `RealWebSocket`:
 *
 * - `IDLE`: no socket yet.
 * - `CONNECTING`: a socket is opening, within the open timeout (which also covers a URL
 *   function's promise, before there is a socket). `reconnect` says whether it is an
 *   automatic attempt after a drop (a failure then schedules the next attempt; a first open
 *   that fails is the caller's to retry).
 * - `OPEN`: the socket is open; requests may be sent.
 * - `CLOSING`: close() asked the socket to close and its close event has not come. The
 *   client has already let go of it (calls were rejected, `close` was emitted).
 * - `CLOSED`: no socket and no reconnect planned.
 * - `RECONNECT_WAIT`: dropped; a reconnect attempt is scheduled after the backoff.
 *
 * The moves (the table below is checked on every one):
 *
 * | from | to | on |
 * |---|---|---|
 * | IDLE, CLOSED, CLOSING | CONNECTING | open() |
 * | RECONNECT_WAIT | CONNECTING | the backoff timer, or at once: open(), the browser's `online` event |
 * | CONNECTING | OPEN | the socket's open event |
 * | CONNECTING, OPEN | RECONNECT_WAIT | a drop, a failed or timed-out open, abandon(); if reconnects are on and the socket had opened or was a reconnect attempt |
 * | CONNECTING, OPEN | CLOSED | the same, otherwise (and open() on a socket found closing) |
 * | CONNECTING, OPEN | CLOSING | close() |
 * | CLOSING | CLOSED | the socket's close event, or the open timeout if it never comes |
 * | RECONNECT_WAIT | CLOSED | close() |
 *
 * An attempt whose URL function or WebSocket constructor throws fails like a socket that
 * did not open (CONNECTING to RECONNECT_WAIT or CLOSED).
 */
const ConnectionState = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  OPEN: 'open',
  CLOSING: 'closing',
  CLOSED: 'closed',
  RECONNECT_WAIT: 'reconnect-wait',
});

const S = ConnectionState;

/** Every move {@link Connection} makes; anything else is a bug and throws. */
const TRANSITIONS = Object.freeze({
  [S.IDLE]: [S.CONNECTING],
  [S.CONNECTING]: [S.OPEN, S.CLOSING, S.CLOSED, S.RECONNECT_WAIT],
  [S.OPEN]: [S.CLOSING, S.CLOSED, S.RECONNECT_WAIT],
  [S.CLOSING]: [S.CONNECTING, S.CLOSED],
  [S.CLOSED]: [S.CONNECTING],
  [S.RECONNECT_WAIT]: [S.CONNECTING, S.CLOSED],
});

/**
 * The WebSocket's lifecycle: opening with a time limit, the reconnect backoff, and closing.
 * It knows nothing of sessions or requests; it tells its listener:
 *
 * - `opened(reconnected)`: the socket opened (`reconnected`: after a drop);
 * - `message(data)`: a frame arrived on the current socket;
 * - `closed({code, reason, wasClean, willReconnect, delayMs?})`: the current socket is
 *   gone (dropped, failed to open, or closed by {@link Connection#close}). By then the
 *   state has moved on (to `RECONNECT_WAIT` if `willReconnect`).
 *
 * Every state change goes through `#moveTo`. Each socket's handlers check that it is still
 * the current one, so a stale socket's late events change nothing.
 */
class Connection {
  /** Where each socket goes: see {@link urlSource}. */
  #urls;
  #WebSocket;
  #openTimeoutMs;
  /** `false` for no reconnects, else `{initialDelayMs, maxDelayMs}`. */
  #backoff;
  /** When a reconnect must have happened by (epoch ms; Infinity for no such time), read at each drop. */
  #reconnectBy;
  #listener;

  /**
   * `{name}` plus, per state: `ws` and `socket` (CONNECTING, OPEN, CLOSING); `reconnect`,
   * `opening`, `resolveOpening`, `rejectOpening`, `openTimer` (CONNECTING); `timer`,
   * `delayMs` (RECONNECT_WAIT).
   */
  #state = { name: S.IDLE };
  /** Reconnect attempts since the backoff was last reset: the backoff's exponent. */
  #attempt = 0;
  /** How many sockets were lost (dropped, failed, or closed by close()). */
  #closes = 0;

  /**
   * @param {{url: string | string[] | Function, WebSocket: new (url: string) => any, openTimeoutMs: number,
   *   backoff: false | {initialDelayMs: number, maxDelayMs: number}, reconnectBy?: () => number,
   *   listener: {opened(reconnected: boolean): void, message(data: any): void, closed(detail: object): void}}} options
   */
  constructor({ url, WebSocket, openTimeoutMs, backoff, reconnectBy = () => Infinity, listener }) {
    this.#urls = urlSource(url);
    this.#WebSocket = WebSocket;
    this.#openTimeoutMs = openTimeoutMs;
    this.#backoff = backoff;
    this.#reconnectBy = reconnectBy;
    this.#listener = listener;
  }

  /** One of {@link ConnectionState}. */
  get state() {
    return this.#state.name;
  }

  /** How many sockets were lost so far; tells request() waiters whether they lost theirs. */
  get closes() {
    return this.#closes;
  }

  /** True from a drop that will be followed by a reconnect until a socket opens again. */
  get reconnecting() {
    const state = this.#state;
    return state.name === S.RECONNECT_WAIT || (state.name === S.CONNECTING && state.reconnect);
  }

  /** Whether a frame can be sent now. */
  get isOpen() {
    const state = this.#state;
    return state.name === S.OPEN && state.socket.ws.readyState === WS_OPEN;
  }

  /** The current socket (connecting or open), or null: compare it later to see if it is still current. */
  get current() {
    const { socket } = this.#state;
    return this.#isLive(socket) ? socket.ws : null;
  }

  /** Sends a frame on the open socket; throws if it cannot. */
  send(frame) {
    if (this.#state.name !== S.OPEN) throw new Error(`the connection is ${this.#state.name}`);
    this.#state.socket.ws.send(frame);
  }

  /** A session was opened: the next drop starts the backoff from the beginning. */
  resetBackoff() {
    this.#attempt = 0;
  }

  /** Resolves when the socket is open, opening one (at once, even during a backoff) if there is none. */
  open() {
    const state = this.#state;
    if (state.name === S.CONNECTING) return state.opening;
    if (state.name === S.OPEN) {
      if (state.socket.ws.readyState === WS_OPEN) return Promise.resolve();
      // Closing, and its close event is not here yet: let it go and start afresh.
      this.#lose(state.socket, { code: 1006, reason: 'closing', wasClean: false }, { reconnect: false });
    }
    return this.#connect();
  }

  /**
   * Closes the socket for good (no reconnect) and cancels a planned reconnect. The listener
   * hears `closed` at once; the promise resolves when the socket has closed (or after the
   * open timeout if it never says so).
   */
  close() {
    const state = this.#state;
    if (state.name === S.RECONNECT_WAIT) {
      clearTimeout(state.timer);
      this.#moveTo({ name: S.CLOSED });
      return Promise.resolve();
    }
    if (state.name !== S.CONNECTING && state.name !== S.OPEN) {
      return Promise.resolve(); // no socket, or one already closing
    }
    const { socket } = state;
    const { ws } = socket;
    let fallback;
    const closed = new Promise((resolve) => {
      socket.onClosed = () => {
        if (this.#state.name === S.CLOSING && this.#state.socket === socket) {
          this.#moveTo({ name: S.CLOSED });
        }
        resolve();
      };
      fallback = setTimeout(socket.onClosed, this.#openTimeoutMs);
    }).finally(() => clearTimeout(fallback));
    this.#lose(socket, { code: 1000, reason: 'disconnect()', wasClean: true }, { reconnect: false, closing: true });
    if (ws === null) {
      socket.onClosed(); // its URL was still being resolved: there is no socket to wait for
      return closed;
    }
    try {
      ws.close(1000, 'client disconnect');
    } catch {
      socket.onClosed();
    }
    return closed;
  }

  /**
   * Gives up the current socket (it is of no use, e.g. its session could not be reopened)
   * and closes it with `code`; a reconnect follows as after a drop.
   */
  abandon(code, reason) {
    const { socket } = this.#state;
    if (!this.#isLive(socket) || socket.ws === null) return;
    this.#lose(socket, { code, reason, wasClean: false });
    try { socket.ws.close(code, reason); } catch { /* dropped anyway */ }
  }

  // ---------------------------------------------------------------- transitions

  #moveTo(next) {
    const from = this.#state.name;
    if (!TRANSITIONS[from].includes(next.name)) {
      throw new Error(`distlock: bug: no transition from ${from} to ${next.name}`);
    }
    this.#state = next;
    // On the window only while a reconnect waits: a connection closed for good leaves nothing there.
    if (next.name === S.RECONNECT_WAIT) globalThis.addEventListener?.('online', this.#online);
    else if (from === S.RECONNECT_WAIT) globalThis.removeEventListener?.('online', this.#online);
  }

  /** Whether `socket` (`{ws, onClosed}`, one per attempt) is the current one, connecting or open. */
  #isLive(socket) {
    const state = this.#state;
    return socket !== undefined && state.socket === socket && (state.name === S.CONNECTING || state.name === S.OPEN);
  }

  /**
   * Starts an attempt: to CONNECTING, then creates the WebSocket once its URL is known (at
   * once, unless the URL function returned a promise). A URL function that throws, or a
   * WebSocket constructor that throws, fails the attempt like a socket that did not open.
   */
  #connect() {
    const from = this.#state;
    const reconnect = this.reconnecting;
    if (from.name === S.RECONNECT_WAIT) clearTimeout(from.timer);
    const socket = { ws: null, onClosed: null };
    const state = { name: S.CONNECTING, socket, reconnect, opening: null, resolveOpening: null, rejectOpening: null, openTimer: null };
    state.opening = new Promise((resolve, reject) => {
      state.resolveOpening = resolve;
      state.rejectOpening = reject;
    });
    state.opening.catch(() => {}); // a reconnect attempt has nobody awaiting it; its failure is a `close` event
    this.#moveTo(state);
    state.openTimer = setTimeout(() => {
      this.#lose(socket, { code: 1006, reason: 'open timed out', wasClean: false },
        { openError: new DistLockError(ClientCode.TIMEOUT, `the WebSocket did not open within ${this.#openTimeoutMs} ms`) });
      try { socket.ws?.close(); } catch { /* it is being dropped anyway */ }
    }, this.#openTimeoutMs);
    let url;
    try {
      url = this.#urls.next(reconnect);
    } catch (error) {
      this.#cannotOpen(socket, 'the url function failed', error);
      return state.opening;
    }
    if (typeof url === 'string') {
      this.#createSocket(socket, url);
    } else {
      url.then((resolved) => {
        if (this.#isLive(socket)) this.#createSocket(socket, resolved);
      }, (error) => this.#cannotOpen(socket, 'the url function failed', error));
    }
    return state.opening;
  }

  #createSocket(socket, url) {
    let ws;
    try {
      ws = new this.#WebSocket(url);
    } catch (error) {
      this.#cannotOpen(socket, `cannot open a WebSocket to ${url}`, error);
      return;
    }
    socket.ws = ws;
    ws.onopen = () => this.#opened(socket);
    ws.onmessage = (event) => {
      if (this.#isLive(socket)) this.#listener.message(event.data);
    };
    ws.onclose = (event) => {
      socket.onClosed?.();
      this.#lose(socket, { code: event?.code ?? 1006, reason: event?.reason ?? '', wasClean: event?.wasClean ?? false });
    };
    // Browsers hide an error's cause, and a close event (1006) follows it: before the socket
    // opened, the attempt has failed either way, so it ends here, as that close would end it
    // (Node 20's experimental WebSocket sends no close after a refused connection, and the
    // attempt waited for its open timeout). Later, the close event says all we can know.
    // Having a handler also keeps Node's "ws" from throwing on an unhandled 'error'.
    ws.onerror = () => {
      if (this.#state.name === S.CONNECTING) this.#lose(socket, { code: 1006, reason: '', wasClean: false });
    };
  }

  /** An attempt failed before it had a socket. */
  #cannotOpen(socket, what, error) {
    this.#lose(socket, { code: 1006, reason: what, wasClean: false },
      { openError: new DistLockError(ClientCode.DISCONNECTED, `${what}: ${error?.message ?? error}`, { cause: error }) });
  }

  /** CONNECTING to OPEN. */
  #opened(socket) {
    const state = this.#state;
    if (state.name !== S.CONNECTING || state.socket !== socket) return;
    clearTimeout(state.openTimer);
    this.#moveTo({ name: S.OPEN, socket });
    this.#listener.opened(state.reconnect);
    state.resolveOpening();
  }

  /**
   * The current socket is gone: to RECONNECT_WAIT if it was open (or was a reconnect
   * attempt) and reconnects are on, else to CLOSED (CLOSING for close()). Runs once per
   * socket; later calls for it do nothing.
   */
  #lose(socket, { code, reason, wasClean }, { reconnect = true, openError = null, closing = false } = {}) {
    if (!this.#isLive(socket)) return;
    const state = this.#state;
    const opened = state.name === S.OPEN;
    clearTimeout(state.openTimer);
    if (socket.ws !== null) socket.ws.onopen = socket.ws.onmessage = null;
    if (!opened) this.#urls.failed(); // try the next URL, if there are several
    this.#closes++;
    const willReconnect = reconnect && this.#backoff !== false && (opened || state.reconnect);
    let delayMs;
    if (willReconnect) {
      delayMs = this.#waitToReconnect();
    } else {
      this.#attempt = 0;
      this.#moveTo(closing ? { name: S.CLOSING, socket } : { name: S.CLOSED });
    }
    if (!opened) {
      state.rejectOpening(openError ?? new DistLockError(ClientCode.DISCONNECTED,
        `the WebSocket closed before it opened (${describeClose(code, reason)})`));
    }
    this.#listener.closed(willReconnect
      ? { code, reason, wasClean, willReconnect, delayMs }
      : { code, reason, wasClean, willReconnect });
  }

  /**
   * A browser back online (its network came back) tries at once, not at the end of a backoff
   * that grew while it was offline: the next attempt now, if one is waiting for its backoff.
   */
  #online = () => {
    if (this.#state.name === S.RECONNECT_WAIT) this.#connect().catch(() => {});
  };

  /** To RECONNECT_WAIT: schedules the next attempt after the backoff. @returns {number} the delay in ms */
  #waitToReconnect() {
    const delayMs = reconnectDelay(this.#backoff, this.#attempt, this.#reconnectBy() - Date.now());
    this.#attempt++;
    const state = { name: S.RECONNECT_WAIT, delayMs, timer: null };
    this.#moveTo(state);
    state.timer = setTimeout(() => {
      if (this.#state !== state) return;
      this.#connect().catch(() => {}); // failure shows as a `close` event and schedules the next attempt
    }, delayMs);
    return delayMs;
  }
}

/**
 * Request matching: the requests sent on the current connection and not answered yet, by
 * id, in send order.
 *
 * The protocol answers every request exactly once, in request order, echoing its `id`;
 * pushes carry no id. A reply is matched by id only (never by arrival order), so a frame
 * with an unknown id, or none, matches nothing and is left to the caller.
 *
 * An entry stays here after its call timed out (marked `expired`) so that a late reply still
 * updates what the client knows the session holds. Entries end when their reply arrives
 * ({@link PendingRequests#take}) or the connection closes ({@link PendingRequests#rejectAll}).
 */
class PendingRequests {
  /**
   * Ids count up from a random start (an integer, as the protocol allows, below 2^53 for
   * good), not from 1: a page reloaded with a stored session resumes it, and the `GRANTED` of
   * a place the old page queued names the old page's request id, which must not be one of
   * this page's.
   */
  #nextId = 1 + Math.floor(Math.random() * 2 ** 52);
  /** id to entry, in send order (a Map keeps insertion order). */
  #entries = new Map();
  #timeoutMs;

  /** @param {number} timeoutMs how long a call waits for its reply before it rejects with `TIMEOUT` */
  constructor(timeoutMs) {
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Sends one request through `transmit` and returns the promise of its reply.
   *
   * @param {string} action
   * @param {object} fields `param` or `params`
   * @param {{names?: string[], sessionName?: string, reconnected?: boolean}} meta what the reply will need
   * @param {(frame: string) => void} transmit writes the frame to the socket; may throw
   */
  send(action, fields, meta, transmit) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const entry = { id, action, names: meta.names ?? [], meta, resolve, reject, expired: false, timer: null };
      entry.timer = setTimeout(() => {
        entry.expired = true;
        reject(new DistLockError(ClientCode.TIMEOUT, `no reply to ${action} within ${this.#timeoutMs} ms; it may still take effect`));
      }, this.#timeoutMs);
      this.#entries.set(id, entry);
      try {
        transmit(encodeRequest(action, fields, id));
      } catch (error) {
        clearTimeout(entry.timer);
        this.#entries.delete(id);
        reject(new DistLockError(ClientCode.DISCONNECTED, `cannot send ${action}: ${error?.message ?? error}`, { cause: error }));
      }
    });
  }

  /** The id the next request will have: replies to it and later ones come after anything sent before it. */
  get nextId() {
    return this.#nextId;
  }

  /** Removes and returns the entry a reply with this `id` answers, or undefined if none does. */
  take(id) {
    const entry = id === undefined ? undefined : this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(entry.id);
    clearTimeout(entry.timer);
    return entry;
  }

  /** The connection closed: rejects every pending call with the error `errorFor(entry)` makes. */
  rejectAll(errorFor) {
    const entries = [...this.#entries.values()];
    this.#entries.clear(); // first: what a rejection runs (an `after` of locking()) sees none out
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.reject(errorFor(entry));
    }
  }

  /**
   * Whether a `lock` or `mlock` for `name` is out, its caller still waiting for the reply; with
   * `after`, that one is also called with its call's result when its reply comes (or with
   * nothing when the connection closes first).
   */
  locking(name, after) {
    for (const entry of this.#entries.values()) {
      if (!entry.expired && (entry.action === Action.LOCK || entry.action === Action.MLOCK) && entry.names.includes(name)) {
        if (after) {
          const { resolve, reject } = entry;
          entry.resolve = (result) => { resolve(result); after(result); };
          entry.reject = (error) => { reject(error); after(); };
        }
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a request sent after `entry` (so, replies being in order, still pending now)
   * names one of its locks: then someone asked again and counts on the grant.
   */
  hasLaterRequestFor(entry) {
    for (const other of this.#entries.values()) {
      if (other.id > entry.id && other.names.some((name) => entry.names.includes(name))) return true;
    }
    return false;
  }
}

/**
 * The local FIFO of request() calls per lock name, Web Locks style.
 *
 * All request() calls of a client share its single session, and the server answers `LOCKED`
 * to a session that already holds the lock, so without this queue two request() callbacks
 * could run at once. The Web Locks API queues the same way within one origin.
 */
class LockQueues {
  /** Lock name to the slots of the calls for it, first come first served; absent when empty. */
  #queues = new Map();

  /**
   * The first slot for `name`: the request() of this client that holds or asks for it (the
   * others wait for their turn), with `asked` once it asked the server; undefined if none.
   */
  head(name) {
    return this.#queues.get(name)?.[0];
  }

  /**
   * Takes a place in line for `name`. `slot.turn` resolves when it is first; `slot.release()`
   * (idempotent) leaves the line and lets the next one go.
   *
   * @returns {{turn: Promise<void>, release: () => void, released: boolean, asked?: boolean}}
   */
  enqueue(name) {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(name, queue);
    }
    let start;
    const slot = {
      turn: new Promise((resolve) => { start = resolve; }),
      released: false,
      release: () => {
        if (slot.released) return;
        slot.released = true;
        const index = queue.indexOf(slot);
        queue.splice(index, 1);
        if (queue.length === 0) {
          this.#queues.delete(name);
        } else if (index === 0) {
          queue[0].start();
        }
      },
      start: () => start(),
    };
    queue.push(slot);
    if (queue.length === 1) {
      slot.start();
    }
    return slot;
  }
}

/**
 * Small pieces for waiting that can be interrupted: RETRY watchers, queue watchers (version
 * 2), and the cancellation state of one request() (its AbortSignal, its timeout).
 */

/** Wake-up functions of request() calls waiting for a `RETRY` push, by lock name. */
class RetryWatchers {
  #watchers = new Map();

  /**
   * Starts watching for a RETRY for `name`. `promise` resolves when one arrives or the
   * waiting is moot (connection gone, session closed: see {@link RetryWatchers#wakeAll});
   * `dispose()` stops watching.
   */
  watch(name) {
    let wake;
    const promise = new Promise((resolve) => { wake = resolve; });
    return { promise, dispose: join(this.#watchers, name, wake) };
  }

  wake(name) {
    for (const wake of this.#watchers.get(name) ?? []) wake();
  }

  wakeAll() {
    for (const watchers of this.#watchers.values()) {
      for (const wake of watchers) wake();
    }
  }
}

/**
 * What happens to a request() waiting in a lock's queue (version 2), by lock name: the
 * `GRANTED` and `CANCELLED` pushes, and the end of the session. Events are kept until read,
 * so one that arrives right behind the `QUEUED` reply (before the waiter's continuation
 * runs) or while the waiter is busy is not missed.
 *
 * Events: `{kind: 'granted', detail}`, `{kind: 'cancelled', reason, push}`, `{kind: 'closed'}`.
 */
class QueueWatchers {
  #watchers = new Map();

  /**
   * Starts watching `name`: `ready()` resolves when an event is there, `take()` removes and
   * returns the oldest (or undefined), `drain()` all of them; `dispose()` stops watching.
   */
  watch(name) {
    const events = [];
    let wake = null;
    const watcher = {
      push: (event) => {
        events.push(event);
        wake?.();
        wake = null;
      },
    };
    return {
      ready: () => (events.length > 0 ? Promise.resolve() : new Promise((resolve) => { wake = resolve; })),
      take: () => events.shift(),
      drain: () => events.splice(0),
      dispose: join(this.#watchers, name, watcher),
    };
  }

  /** Tells the watchers of `name`. */
  deliver(name, event) {
    for (const watcher of this.#watchers.get(name) ?? []) watcher.push(event);
  }

  deliverAll(event) {
    for (const watchers of this.#watchers.values()) {
      for (const watcher of watchers) watcher.push(event);
    }
  }
}

/**
 * Adds `member` to the set that `map` keeps for `name`; returns the function that takes it out
 * again (and the set, once empty and still the map's).
 */
function join(map, name, member) {
  let members = map.get(name);
  if (members === undefined) {
    members = new Set();
    map.set(name, members);
  }
  members.add(member);
  return () => {
    members.delete(member);
    if (members.size === 0 && map.get(name) === members) {
      map.delete(name);
    }
  };
}

function abortReason(signal) {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * The cancellation state of one request(): abort sets it and interrupts the current wait.
 *
 * Its timeout (`expire`) does the same, except while the request waits in a version 2
 * server's queue (`onServer`): the server got the time that was left and will push
 * `CANCELLED` itself. Should the request leave the server's queue without an answer (a
 * dropped connection), `leaveServer()` applies an expiry that came meanwhile.
 */
function newAttempt() {
  const attempt = {
    cancelled: false,
    reason: undefined,
    interrupt: null,
    onServer: false,
    expired: undefined,
    cancel: (reason) => {
      if (attempt.cancelled) return;
      attempt.cancelled = true;
      attempt.reason = reason;
      attempt.interrupt?.();
    },
    expire: (reason) => {
      attempt.expired = reason;
      if (!attempt.onServer) attempt.cancel(reason);
    },
    leaveServer: () => {
      attempt.onServer = false;
      if (attempt.expired !== undefined) attempt.cancel(attempt.expired);
    },
  };
  return attempt;
}

/** Waits for `promise`, or until the attempt is cancelled (then resolves; the caller checks). */
function interruptible(attempt, promise) {
  return new Promise((resolve, reject) => {
    if (attempt.cancelled) {
      resolve(); // cancelled while a reply was in flight, before this wait began
      return;
    }
    attempt.interrupt = resolve;
    promise.then(resolve, reject);
  }).finally(() => {
    attempt.interrupt = null;
  });
}

/** Like `promise`, but rejects with the signal's reason as soon as it aborts (calling `onAbort`). */
function untilAborted(promise, signal, onAbort) {
  if (signal === undefined || signal === null) return promise;
  return new Promise((resolve, reject) => {
    const abort = () => {
      const reason = abortReason(signal);
      onAbort(reason);
      reject(reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}

/** An attempt's answer meaning "ask again": the session it asked in is gone, or a RETRY came. */
const AGAIN = Symbol('again');
/** How an unlock after a callback ended: released by it, not held (any more), or refused `NOT_OWNER`. */
const UNLOCKED = 1;
const GONE = 2;
const REFUSED = 3;

/**
 * `request()`: wait for a lock, run a callback while holding it, release it; in the spirit
 * of the Web Locks API. Built on the client's calls and what it knows of the session, which
 * it reaches through `host`:
 *
 * - `lock(name, [options])`, `unlock(name)`, `cancel(name)`: the client's calls;
 * - `version()`: the open session's protocol version (1 or 2), or undefined;
 * - `unwantedGrant(requestId, name, keep)`: have a `GRANTED` for that queued request
 *   unlocked when it comes (unless `keep()`); returns `{settled, forget}`;
 * - `requestTimeoutMs`: how long the client waits for a reply;
 * - `heldToken(name)`: the token this session holds `name` under, or undefined (also while
 *   the client unlocks a grant nobody wants);
 * - `unlockOut(name)`: while the client unlocks such a grant of `name`, the promise of that
 *   unlock's end (it never rejects), else undefined;
 * - `locking(name)`: a `lock` or `mlock` for `name` is out (the application's, when no
 *   request() has asked for it);
 * - `queued(name)`: the session queues for `name`, as the server last told it;
 * - `forget(name)`: take `name` out of what the session holds (an unlock of a grant nobody
 *   wants was cut by a drop: the resume, which lists it, unlocks it again);
 * - `lostSoon(name)`: `name` is no longer held, and its `lost` event is still to come (a
 *   resumed session no longer has it, and the pushes it missed are not all in);
 * - `hasSession()`: a session is open on an open socket;
 * - `sessionExpected()`: a session is on its way (a connect() or a reconnect), or may be
 *   (the socket is closing: its close event will tell);
 * - `suspended()`: the session is suspended, or may be about to be (the socket is closing);
 * - `closes()`: how many connections were lost so far;
 * - `reportError(error)`: an `error` event.
 *
 * The client tells it about `RETRY`, `GRANTED` and `CANCELLED` pushes ({@link LockRequests#retry},
 * {@link LockRequests#granted}, {@link LockRequests#cancelled}), and whenever the session may
 * have come or gone ({@link LockRequests#wakeAll}, {@link LockRequests#sessionChanged}).
 *
 * How one request() waits depends on the session it asks in: on a version 2 server in the
 * lock's queue (`lock` with `wait: true`, then `QUEUED` and the `GRANTED` push), on a version
 * 1 server with `WAIT` and `RETRY`. It decides per session, so a reconnect to a server of
 * another version is fine.
 */
class LockRequests {
  #host;
  #queues = new LockQueues();
  #retryWatchers = new RetryWatchers();
  #queueWatchers = new QueueWatchers();
  /** request() calls waiting for a session (during connect() or a reconnect). */
  #sessionWaiters = new Set();
  /**
   * The grants whose callbacks run, or whose unlock after the callback waits for a resume:
   * lock name to `{token, controller}` (`lock.signal` is the controller's).
   */
  #running = new Map();
  /** The waits of unlocks after a callback (for a resume, a retry, a `lost`): the session's end interrupts them. */
  #releases = new Set();
  /**
   * Lock name to the detail of the last `lost` event for it while a request() had asked for
   * it and ran no callback: a `LOST` (or the session's end) right behind the `LOCKED` reply,
   * before request() got the token. Read and dropped by that request() (see #lostBeforeCallback).
   */
  #lostBefore = new Map();

  constructor(host) {
    this.#host = host;
  }

  /** A `RETRY` push for `lock`. */
  retry(lock) {
    this.#retryWatchers.wake(lock);
  }

  /** A `GRANTED` push for `lock` that no unwanted mark claimed: for the request() queued for it. */
  granted(lock, detail) {
    this.#queueWatchers.deliver(lock, { kind: 'granted', detail });
  }

  /** A `CANCELLED` push for `lock` that no unwanted mark claimed: the queued request() fails. */
  cancelled(lock, reason, push) {
    this.#queueWatchers.deliver(lock, { kind: 'cancelled', reason, push });
  }

  /**
   * Whether a request() of this client holds `name`, or waits for it and has asked the server:
   * then the session's grant of `name` is its grant. One that has not asked yet asks once the
   * client has sent the unlock of a grant nobody wants (see `ALREADY_HELD` in #acquire).
   */
  wants(name) {
    return this.#queues.head(name)?.asked;
  }

  /**
   * Whether a `lock(name)` of the application would meet a request()'s grant or place: one
   * holds the lock or waits for it (asked or not yet; request()'s own `lock` call is marked
   * as such by the client).
   */
  claims(name) {
    return this.#queues.head(name) !== undefined;
  }

  /** The session closed or the connection is gone: every waiter looks again. */
  wakeAll() {
    this.#retryWatchers.wakeAll();
    this.#queueWatchers.deliverAll({ kind: 'closed' });
    for (const attempt of this.#releases) attempt.interrupt?.();
  }

  /**
   * The connection is lost but the session is kept (its grace period): requests queued on the
   * server keep their places and go on waiting; those waiting for a `RETRY` ask again once
   * the session is back.
   */
  suspended() {
    this.#retryWatchers.wakeAll();
  }

  /** The resumed session no longer queues for these names: their waiters ask again. */
  placesLost(names) {
    for (const name of names) this.#queueWatchers.deliver(name, { kind: 'closed' });
  }

  /**
   * A `lost` event (or, for a lock a resume OK no longer lists, its provisional detail): a
   * callback running with that grant has its `signal` aborted. Without one, a request() that
   * asked for the lock keeps the detail: the grant may be the one its reply is bringing.
   */
  lost(detail) {
    const running = this.#running.get(detail.lock);
    if (running === undefined) {
      if (this.#queues.head(detail.lock)?.asked) this.#lostBefore.set(detail.lock, detail);
      return;
    }
    if (detail.token !== undefined && detail.token !== running.token) return;
    const { pending } = running;
    if (pending === undefined) {
      running.controller.abort(lostError(detail));
      return;
    }
    // Aborted at the resume already: its reason (the same error) now says why.
    running.pending = undefined;
    pending.error.lost = detail;
    pending.error.message = lostMessage(detail);
    pending.told();
  }

  /**
   * A resume OK no longer lists `lock`, held under `token`: a callback running with it has its
   * signal aborted now, with `LOST`. The `lost` event comes when the pushes the session missed
   * are in (with the server's cause if its missed `LOST` is among them); the error, the
   * signal's reason, then gets that detail, and request() waits for it before it rejects.
   */
  goneOnResume(lock, token) {
    const running = this.#running.get(lock);
    if (running === undefined || running.token !== token || running.controller.signal.aborted) return;
    const error = lostError({ lock, token, reason: LostReason.LOST });
    let told;
    running.pending = { error, told: () => told(), promise: new Promise((resolve) => { told = resolve; }) };
    running.controller.abort(error);
  }

  /** Lets waiters for a session go on (there is one now) or fail (none is coming). */
  sessionChanged() {
    if (this.#host.hasSession()) {
      for (const waiter of this.#sessionWaiters) waiter.resolve();
      this.#sessionWaiters.clear();
    } else if (!this.#host.sessionExpected()) {
      for (const waiter of this.#sessionWaiters) {
        waiter.reject(noSession(waiter.code));
      }
      this.#sessionWaiters.clear();
    }
  }

  /** See `DistLockClient#request`, which validates nothing itself and calls this. */
  async request(name, optionsOrCallback, maybeCallback) {
    const [options, callback] = typeof optionsOrCallback === 'function'
      ? [{}, optionsOrCallback]
      : [optionsOrCallback ?? {}, maybeCallback];
    requireString(name, 'lock name');
    const { signal, ifAvailable = false, mode = Mode.EXCLUSIVE, steal = false, ask = false, timeout, onQueued } = options;
    // As Web Locks: a string or number is no options object, and not to be ignored; a signal
    // checked now, before the request queues (found out when the wait begins, it would leave
    // its place behind). Duck-typed: an AbortSignal of 2021 has no throwIfAborted() yet.
    if (typeof callback !== 'function' || typeof options !== 'object'
      || (onQueued !== undefined && typeof onQueued !== 'function')
      || (signal != null && typeof signal.addEventListener !== 'function')) {
      throw new TypeError('request(name, [options], callback): callback must be a function, options an object, its signal an AbortSignal');
    }
    checkMode(mode);
    // As Web Locks: steal takes the lock now, so it cannot be combined with what is about
    // waiting (nor with shared mode); ask means "while I wait", so not with ifAvailable.
    if (steal ? ifAvailable || ask || signal || timeout !== undefined || mode === Mode.SHARED : ask && ifAvailable) {
      throw new DOMException('steal cannot be combined with ifAvailable, ask, signal, timeout or mode "shared"; ask not with ifAvailable',
        'NotSupportedError');
    }
    if (timeout !== undefined) checkTimeout(timeout);
    if (signal?.aborted) {
      throw abortReason(signal);
    }
    if (ifAvailable && this.#queues.head(name)) {
      // Held or awaited by another request() of this client: not available, as in Web Locks,
      // which never calls back before request() has returned.
      await null;
      return callback(null);
    }

    const slot = this.#queues.enqueue(name);
    const attempt = newAttempt();
    const waitsFor = ifAvailable ? undefined : timeout;
    const deadline = waitsFor === undefined ? undefined : Date.now() + waitsFor;
    const timer = waitsFor === undefined ? null : setTimeout(() => attempt.expire(cancelledError(name, 'timeout')), waitsFor);
    const acquiring = this.#acquire(name, slot, attempt, { mode, ifAvailable, deadline, onQueued, steal, ask });
    let token;
    try {
      token = await untilAborted(acquiring, signal, attempt.cancel);
    } catch (error) {
      this.#lostBefore.delete(name);
      // Aborted with a token already past the last check: it comes anyway, and nobody will use it.
      acquiring.then((late) => late !== null && this.#releaseAfterCallback(name, late, slot), () => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (token === null) {
      this.#lostBefore.delete(name);
      return callback(null);
    }

    const controller = new AbortController();
    const running = { token, controller };
    this.#running.set(name, running);
    // Registered until the lock is released (or found gone): a `lost` that comes meanwhile
    // (say, right behind the unlock's NOT_OWNER) still aborts the signal.
    let outcome;
    let releaseError;
    try {
      this.#lostBeforeCallback(name, token, controller);
      if (!controller.signal.aborted) {
        try {
          outcome = { value: await callback(Object.freeze({ name, mode, token, signal: controller.signal })) };
        } catch (error) {
          outcome = { error };
        }
      }
      releaseError = await this.#releaseAfterCallback(name, token, slot, running);
      if (running.pending !== undefined) await this.#pause(this.#host.requestTimeoutMs, running.pending.promise);
    } finally {
      if (this.#running.get(name) === running) this.#running.delete(name);
    }
    if (controller.signal.aborted) {
      // Lost while the callback ran (whatever it did, it did without the lock), or before a
      // suspended session could release it.
      throw controller.signal.reason;
    }
    if ('error' in outcome) {
      throw outcome.error; // the callback's failure is what the caller needs to see (an unlock failure is an `error` event)
    }
    if (releaseError !== null) {
      throw releaseError;
    }
    return outcome.value;
  }

  /**
   * The grant request() is about to hand to its callback may be gone already. Frames of one read come in one go (`ws` dispatches them synchronously), so a
   * `LOST` (a steal, a lost lease) or the session's end (close(), a drop without grace) can be
   * applied right behind the `LOCKED` reply, before this request() had registered its
   * callback. Checked synchronously, right before the callback would run: if the session no
   * longer holds `name` under `token`, the callback does not run and request() rejects with
   * `LOST`, as it does for a loss while the callback runs. That is what Web Locks users
   * expect: a callback only ever runs while its lock is held, and a holder whose lock is taken
   * away sees its request() reject; its `lost` event, for this very token, has fired. Asking
   * again instead would queue silently behind whoever stole the lock, against the steal's
   * intent, and hide from the caller a loss the `lost` event reports.
   */
  #lostBeforeCallback(name, token, controller) {
    const last = this.#lostBefore.get(name);
    this.#lostBefore.delete(name);
    if (this.#host.heldToken(name) === token) return;
    controller.abort(lostError(last?.token === token ? last : { lock: name, token, reason: LostReason.LOST }));
  }

  /**
   * Releases the lock after a callback, and the slot with it. Resolves with null once
   * released, or with the error of a first attempt that failed: then the lock is still held,
   * so the slot stays taken (no other request() of this client may be handed the lock) and
   * the unlock is tried again until it is released or no longer this session's. While the
   * session is suspended it waits for the resume (or the expiry) instead; if the lock turns
   * out lost meanwhile, its `lost` event aborts `running`'s signal (request() rejects with it).
   *
   * A lock found not this session's any more (not held, or the unlock answered `NOT_OWNER`)
   * was lost while the callback ran, whatever the callback did: `running`'s signal is aborted
   * with `LOST`. The `lost` event, which says why, may still be on its way (the server may send
   * its `LOST` after the `NOT_OWNER` reply): it is waited for, at most `requestTimeoutMs`.
   */
  async #releaseAfterCallback(name, token, slot, running) {
    let failure;
    try {
      const released = await this.#release(name, token);
      slot.release();
      if (released !== UNLOCKED && running !== undefined) await this.#untilLost(name, token, running.controller);
      return null;
    } catch (error) {
      failure = error;
    }
    const retrying = this.#keepReleasing(name, token, failure).finally(slot.release);
    if (isConnectionLoss(failure)) {
      // The session is suspended: released after the resume, or lost (the resume no longer
      // lists it, or the session expires, or the unlock then is refused). Not listed after the
      // unlock the drop cut, and not lost: the server released it, as asked.
      if (running === undefined) return retrying;
      const released = await retrying;
      if (released === REFUSED || (released === GONE && this.#host.lostSoon(name))) {
        await this.#untilLost(name, token, running.controller);
      }
      return null;
    }
    return failure;
  }

  /**
   * Waits until `controller` is aborted by a `lost` event, at most `requestTimeoutMs` or until
   * the session ends; then aborts it with a `LOST` of its own if nothing did.
   */
  async #untilLost(name, token, controller) {
    const { signal } = controller;
    if (signal.aborted) return;
    await this.#pause(this.#host.requestTimeoutMs, new Promise((resolve) => { signal.addEventListener('abort', resolve); }));
    if (!signal.aborted) controller.abort(lostError({ lock: name, token, reason: LostReason.LOST }));
  }

  /**
   * Resolves after `ms`, when `promise` does, or when the session ends (wakeAll), whichever
   * is first; the timer is cleared then, so it never keeps Node alive after disconnect().
   */
  async #pause(ms, promise) {
    const attempt = newAttempt();
    let timer;
    this.#releases.add(attempt);
    try {
      const timeout = new Promise((resolve) => { timer = setTimeout(resolve, ms); });
      await interruptible(attempt, promise === undefined ? timeout : Promise.race([promise, timeout]));
    } finally {
      clearTimeout(timer);
      this.#releases.delete(attempt);
    }
  }

  /** Resolves with how it ended: UNLOCKED, GONE (no longer this session's) or REFUSED. */
  async #keepReleasing(name, token, failure) {
    for (;;) {
      if (!isConnectionLoss(failure)) {
        this.#host.reportError(failure);
        // Interrupted by the session's end (wakeAll), which takes the lock with it.
        await this.#pause(this.#host.requestTimeoutMs);
      }
      if (this.#host.heldToken(name) !== token) return GONE;
      // Interrupted by the session's end (wakeAll): then the lock went with it.
      const attempt = newAttempt();
      this.#releases.add(attempt);
      try {
        await this.#untilSession(attempt, ClientCode.NOT_CONNECTED);
      } catch {
        return GONE; // no session is coming: the lock went with the last one
      } finally {
        this.#releases.delete(attempt);
      }
      if (this.#host.heldToken(name) !== token) return GONE;
      try {
        return await this.#release(name, token);
      } catch (error) {
        failure = error;
      }
    }
  }

  /**
   * Takes the lock: resolves with the token, or null for `ifAvailable` when the lock is
   * taken. Releases the slot itself unless it resolves with a token (then the caller
   * releases it after the callback).
   */
  async #acquire(name, slot, attempt, how) {
    // A waiter whose connection dropped (and that no reconnect will serve) was pending when
    // the connection was lost: DISCONNECTED. Otherwise there just is no session: NOT_CONNECTED.
    const closesAtStart = this.#host.closes();
    try {
      await interruptible(attempt, slot.turn);
      for (;;) {
        if (attempt.cancelled) throw attempt.reason;
        await this.#untilSession(attempt,
          this.#host.closes() === closesAtStart ? ClientCode.NOT_CONNECTED : ClientCode.DISCONNECTED);
        if (attempt.cancelled) throw attempt.reason;
        const unlocking = slot.asked ? undefined : this.#host.unlockOut(name);
        if (unlocking !== undefined) {
          await interruptible(attempt, unlocking); // see DistLockClient#releaseUnwanted
          continue;
        }
        if (!slot.asked && (this.#host.heldToken(name) !== undefined || this.#host.locking(name))) {
          // Held by this session through lock() (or asked for, the reply still out): the
          // application's, and request() would release it after the callback. (After a first
          // ask, a held lock is this request's own grant, told by a resume. A grant nobody
          // asked for, say of an aborted request() whose cancel got no reply, is no longer
          // held: the client is unlocking it.)
          if (how.ifAvailable) {
            slot.release();
            return null;
          }
          throw new DistLockError(ClientCode.ALREADY_HELD,
            `"${name}" is held (or asked for) by this session through lock(): unlock() it before request()`);
        }
        slot.asked = true; // from now on the session's grant of this lock is this request's (wants())

        const answer = this.#host.version() >= 2
          ? await this.#askQueue(name, slot, attempt, how)
          : await this.#askAndRetry(name, attempt, how);
        if (answer === AGAIN) continue;
        if (answer === null) slot.release();
        return answer;
      }
    } catch (error) {
      slot.release();
      throw error;
    }
  }

  /**
   * One try on a version 1 session: `lock`, then `LOCKED` (the token), `WAIT` with
   * `ifAvailable` (null), or `WAIT` and sleep until the `RETRY` push, a dropped connection,
   * close(), or abort (AGAIN).
   */
  async #askAndRetry(name, attempt, how) {
    const { mode, ifAvailable, steal, ask } = how;
    if (mode === Mode.SHARED || steal || ask) {
      throw new DOMException('mode "shared", steal and ask need a distlock server that speaks protocol version 2; this one speaks version 1',
        'NotSupportedError');
    }
    // Watch for RETRY before asking: with some WebSocket implementations the push can
    // be delivered right behind the WAIT reply, before our continuation runs.
    const retry = this.#retryWatchers.watch(name);
    try {
      const reply = await this.#ask(name, undefined);
      if (reply === AGAIN) return AGAIN;
      if (reply.status === Status.LOCKED) return await this.#tokenUnlessCancelled(name, attempt, reply.token);
      if (ifAvailable) return null;
      this.#tellQueued(how, reply);
      await interruptible(attempt, retry.promise);
      return AGAIN;
    } finally {
      retry.dispose();
    }
  }

  /**
   * One try on a version 2 session: `lock` with `wait: true` (and the time left of the
   * timeout, and `ask`), then `LOCKED` (the token) or `QUEUED` and wait for the grant in the
   * queue. With `ifAvailable` or `steal`, `lock` without `wait`: `LOCKED` or `WAIT` (null;
   * a steal only while the server recovers from a possible loss of Redis data).
   */
  async #askQueue(name, slot, attempt, how) {
    const { mode, ifAvailable, deadline, steal, ask } = how;
    const options = mode === Mode.SHARED ? { mode } : {};
    if (ifAvailable || steal) {
      if (steal) options.steal = true;
      const reply = await this.#ask(name, options);
      if (reply === AGAIN) return AGAIN;
      return reply.status === Status.LOCKED ? this.#tokenUnlessCancelled(name, attempt, reply.token) : null;
    }
    options.wait = true;
    if (ask) options.ask = true;
    // Watch before asking: the GRANTED can come right behind the QUEUED. A RETRY is watched
    // too, for a WAIT from a lock() that a subclass overrode without passing the options on.
    const queue = this.#queueWatchers.watch(name);
    const retry = this.#retryWatchers.watch(name);
    attempt.onServer = true;
    try {
      const reply = await this.#ask(name, options, deadline, attempt);
      if (reply === AGAIN) return AGAIN;
      if (reply.status === Status.LOCKED) return await this.#tokenUnlessCancelled(name, attempt, reply.token);
      if (reply.status === Status.WAIT) {
        attempt.leaveServer(); // not queued: the server does not know the timeout
        this.#tellQueued(how, reply);
        await interruptible(attempt, retry.promise);
        return AGAIN;
      }
      this.#tellQueued(how, reply);
      return await this.#waitInQueue(name, slot, attempt, queue, reply.request);
    } finally {
      queue.dispose();
      retry.dispose();
      attempt.leaveServer();
    }
  }

  /** The request's `onQueued` option, told that it waits (`QUEUED` or `WAIT`) and for whom; what it throws is an `error` event. */
  #tellQueued({ onQueued }, { position, holder }) {
    try {
      onQueued?.({ position, holder });
    } catch (error) {
      this.#host.reportError(error);
    }
  }

  /**
   * Waits in the queue for `GRANTED` (the token), `CANCELLED` (rejects), or the end of the
   * session (AGAIN: queue again in the next one). Aborted meanwhile: leaves the queue.
   */
  async #waitInQueue(name, slot, attempt, queue, requestId) {
    for (;;) {
      await interruptible(attempt, queue.ready());
      if (attempt.cancelled) return this.#leaveQueue(name, slot, attempt, queue, requestId);
      const event = queue.take();
      if (event.kind === 'granted') {
        // A grant the session no longer has: an earlier request's, granted and lost while
        // detached (wait on); or ours, lost before we took it (ask again).
        if (event.detail.token === this.#host.heldToken(name)) return event.detail.token;
        if (event.detail.request === requestId) return AGAIN;
        continue;
      }
      if (event.kind === 'cancelled') throw cancelledError(name, event.reason, event.push);
      return AGAIN; // 'closed': the session and its place in the queue are gone
    }
  }

  /**
   * Aborted while queued: sends `cancel`, and makes sure that a grant which crossed the abort
   * is unlocked. The slot stays taken until that is settled (or for one request timeout at
   * most after a `NOT_QUEUED`; while suspended, until the resume), so that no other request()
   * of this client asks for the lock meanwhile and is answered with the grant that is about
   * to be released. Always throws the abort's reason.
   */
  async #leaveQueue(name, slot, attempt, queue, requestId) {
    // All in one go, with nothing awaited: what came before is in `queue`, what comes after
    // meets the unwanted mark.
    queue.dispose();
    const events = queue.drain();
    const grant = events.find((event) => event.kind === 'granted');
    if (grant !== undefined) {
      await this.#releaseUnused(name, grant.detail.token);
      throw attempt.reason;
    }
    if (events.length > 0) throw attempt.reason; // cancelled by the server, or the session is gone
    const unwanted = this.#host.unwantedGrant(requestId, name, () => slot.released && this.wants(name));
    for (;;) {
      try {
        await this.#host.cancel(name);
        unwanted.forget(); // out of the queue: no grant will come
      } catch (error) {
        if (error instanceof DistLockError && error.code === FailCode.NOT_QUEUED) {
          // Granted (its GRANTED may still be on the way) or cancelled by the server meanwhile.
          await settledOrAfter(unwanted.settled, this.#host.requestTimeoutMs);
        } else if (!isConnectionLoss(error)) {
          this.#host.reportError(error); // e.g. no reply in time: the mark stays for a late grant
        } else if (!this.#host.suspended()) {
          unwanted.forget(); // the session and its queue place are gone
        } else {
          // The suspended session keeps its place (or gets the grant: the mark has it unlocked)
          // until it is resumed or expires (which settles the mark). Resumed: cancel there if
          // the resume kept the place. One it no longer lists ended (settled), or was granted
          // (the mark has the grant unlocked, and a request() asks after that unlock): a cancel
          // would only be answered NOT_QUEUED.
          await Promise.race([unwanted.settled, this.#untilSession(newAttempt(), ClientCode.NOT_CONNECTED).catch(() => {})]);
          if (this.#host.hasSession() && this.#host.queued(name)) continue;
        }
      }
      throw attempt.reason;
    }
  }

  /**
   * `lock` through the host; AGAIN if the session was lost meanwhile and another is coming.
   * With a `deadline` (a queued request() with a timeout) each `lock` sent carries the time
   * left of it as `timeout`, counted when it is sent; none left: `CANCELLED` (timeout),
   * sending nothing. An `ask` refused as `RATE_LIMITED` (this session asked for the lock less
   * than 10 s ago, e.g. before a reconnect) queues without asking: the holders were asked
   * already, and the caller wants the lock more than a second ask. (That second `lock` once
   * carried the first one's `timeout`, so the server kept the place a round trip past the
   * caller's deadline.) Aborted (`attempt`) while the refused ask was out, it sends nothing more
   * and throws the abort's reason: nothing of this request is out, and a `lock` now would only
   * take a place to `cancel` next.
   */
  async #ask(name, options, deadline, attempt) {
    try {
      return await (options === undefined || Object.keys(options).length === 0
        ? this.#host.lock(name)
        : this.#host.lock(name, timeLeft(name, options, deadline)));
    } catch (error) {
      if (isConnectionLoss(error) && this.#host.sessionExpected()) {
        return AGAIN; // the session is gone and with it our turn in line: ask the next session
      }
      if (error?.code === FailCode.RATE_LIMITED && options?.ask) {
        if (attempt.cancelled) throw attempt.reason;
        delete options.ask;
        return this.#ask(name, options, deadline, attempt);
      }
      throw error;
    }
  }

  /** The token of a grant, unless the request was aborted while it was asked for: then released. */
  async #tokenUnlessCancelled(name, attempt, token) {
    if (attempt.cancelled) {
      // Aborted while the request was in flight: nobody will use this lock.
      await this.#releaseUnused(name, token);
      throw attempt.reason;
    }
    return token;
  }

  /**
   * Unlocks a grant nobody will use. Cut by a drop while the session is suspended (so still
   * held): forgotten, so that the resume, which lists it, unlocks it again.
   */
  #releaseUnused(name, token) {
    return this.#release(name, token).catch((error) => (isConnectionLoss(error) ? this.#host.forget(name) : this.#host.reportError(error)));
  }

  /**
   * Unlocks, unless the lock is no longer this session's under this token (lost, expired,
   * closed, or unlocked by the application): unlocking then would at best fail and at worst
   * release a newer grant. A connection lost meanwhile is a failure only if the lock is still
   * held (the session is suspended). Resolves with UNLOCKED, GONE (not held, or lost with the
   * connection) or REFUSED (`NOT_OWNER`: lost, its `LOST` may follow).
   */
  async #release(name, token) {
    if (this.#host.heldToken(name) !== token) {
      return GONE;
    }
    try {
      await this.#host.unlock(name);
      return UNLOCKED;
    } catch (error) {
      if (error instanceof DistLockError && error.code === FailCode.NOT_OWNER) return REFUSED;
      if (isConnectionLoss(error) && this.#host.heldToken(name) !== token) return GONE;
      throw error;
    }
  }

  /**
   * Resolves when there is a session to ask (now, or after a connect() or reconnect in
   * progress); rejects with `code` when none is coming.
   */
  async #untilSession(attempt, code) {
    if (this.#host.hasSession()) return;
    if (!this.#host.sessionExpected()) {
      throw noSession(code);
    }
    let waiter;
    const ready = new Promise((resolve, reject) => {
      waiter = { resolve, reject, code };
      this.#sessionWaiters.add(waiter);
    });
    try {
      await interruptible(attempt, ready);
    } finally {
      this.#sessionWaiters.delete(waiter);
    }
  }
}

/** The error request() rejects with when its lock was lost: `lost` is the `lost` event's detail. */
function lostError(detail) {
  return new DistLockError(ClientCode.LOST, lostMessage(detail), { lost: detail });
}

function lostMessage(detail) {
  const why = detail.cause === undefined ? detail.reason : `${detail.reason}: ${detail.cause}${detail.by === undefined ? '' : ` by ${detail.by}`}`;
  return `the lock "${detail.lock}" was lost (${why})`;
}

/**
 * Sets `options.timeout` to what is left of `deadline` (ms since the epoch; undefined: no
 * timeout) and returns `options`; throws `CANCELLED` (timeout) when nothing is left, as
 * request()'s own timer does (the server takes no timeout below 1 ms).
 */
function timeLeft(name, options, deadline) {
  if (deadline !== undefined) {
    const left = Math.ceil(deadline - Date.now());
    if (left < 1) throw cancelledError(name, 'timeout');
    options.timeout = left;
  }
  return options;
}

/** Resolves when `promise` does, or after `ms`, whichever is first. */
function settledOrAfter(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** How long a page waits for the previous holder of a stored session to let go of it. */
const CLAIM_WAIT_MS = 1000;

/**
 * Optional survival of a page reload: the session's id and resume secret, kept in
 * `sessionStorage` (or a Storage-like object) under the session name, so that a reloaded
 * page resumes the session (and keeps its locks) within its grace period.
 *
 * Off by default, because any script of the page's origin can read `sessionStorage`: with
 * the id and the secret it can resume the session from anywhere and take over its locks.
 *
 * The page whose session an entry names holds a Web Lock named after the session until the
 * session ends or the page unloads. `window.open()` and "Duplicate tab" copy `sessionStorage`:
 * a copy finds that lock held, so `load` answers null (a new session) instead of resuming the
 * session from under the page that has it. A reloaded page finds it free (the old page let go
 * as it unloaded); `load` waits for it up to CLAIM_WAIT_MS. Without `navigator.locks`, no claim.
 *
 * @param {boolean | {getItem(key: string): string | null, setItem(key: string, value: string): void, removeItem(key: string): void}} option
 * @returns {{load(name: string): Promise<{session: string, resume: string, grace: number} | null>, save(name: string, entry: object): void, remove(name: string): void} | null}
 */
function sessionStore(option) {
  if (option === false || option === undefined) return null;
  const storage = option === true ? globalThis.sessionStorage : option;
  if (storage === null || typeof storage?.getItem !== 'function') {
    throw new TypeError('sessionStorage must be true, false, or a Storage-like object (getItem, setItem, removeItem)');
  }
  const key = (name) => `distlock:${name}`;
  // Storage throws when full or disabled (private modes): a session that cannot be stored
  // just does not survive a reload.
  const quietly = (action) => {
    try { return action(); } catch { return null; }
  };
  const locks = globalThis.navigator?.locks;
  const claims = new Map(); // session name -> {session, release}: this page's hold on a stored session
  // Holds the session's Web Lock until unclaim(name); resolves with true once granted.
  const claim = (name, session) => {
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    claims.set(name, { session, release });
    return new Promise((granted) => locks.request(key(session), () => { granted(true); return held; }));
  };
  const unclaim = (name) => {
    claims.get(name)?.release(); // a request still waiting lets go as soon as it is granted
    claims.delete(name);
  };
  return {
    async load(name) {
      const entry = quietly(() => JSON.parse(storage.getItem(key(name))));
      if (typeof entry?.session !== 'string' || typeof entry.resume !== 'string') return null;
      // This page's own claim (a second connect() while the first is loading) is no copy's.
      if (locks === undefined || claims.get(name)?.session === entry.session) return entry;
      const gaveUp = new Promise((resolve) => { setTimeout(resolve, CLAIM_WAIT_MS, false); });
      if (await Promise.race([claim(name, entry.session), gaveUp])) return entry;
      unclaim(name);
      return null; // another page has the session
    },
    save(name, entry) {
      quietly(() => storage.setItem(key(name), JSON.stringify(entry)));
      if (locks !== undefined && claims.get(name)?.session !== entry.session) {
        unclaim(name);
        claim(name, entry.session);
      }
    },
    remove(name) {
      quietly(() => storage.removeItem(key(name)));
      unclaim(name);
    },
  };
}

/**
 * The most bytes of JSON a renewal puts in one frame's `params`: the server closes a frame
 * over its limit (8 KiB by default) with 1009, so well under it, with room for the rest.
 */
const MAX_PARAMS_BYTES = 7000;

/**
 * The watches of one client (version 2): who wants to hear about which locks, and what the
 * server must be told about it.
 *
 * The server keeps one set of watched names and prefixes per connection, so several watches
 * of this client for the same name share one server-side watch: `unwatch` goes out for a
 * name (or a prefix) only when no other watch of this client needs it, counting watches whose
 * `watch` is still in flight (an `unwatch` sent then would undo theirs).
 *
 * A watch is `{names}` or `{prefix}`, with its `callback`; `live` once its `OK` came (only
 * live watches are called back, so the first call is always the `OK`'s state).
 */
class Watches {
  #all = new Set();
  /**
   * Locks last seen held or queued for. Those under a prefix (and not watched by name) are
   * queried after a reconnect, since a prefix `watch` answers with no state: a holder that
   * left meanwhile is not shown for ever. (A free lock needs no refresh; one taken while
   * disconnected shows at its next change.)
   */
  #busy = new Set();
  /**
   * Of those, the ones queried after a reconnect and not answered yet: a `CHANGED` that comes
   * before the answer is newer than it (the answer is dropped for that lock).
   */
  #refreshing = new Set();
  #reportError;

  /** @param {(error: unknown) => void} reportError what a callback throws goes here */
  constructor(reportError) {
    this.#reportError = reportError;
  }

  /** Adds a watch (not live yet) for a name, names, or `{prefix}`; throws TypeError for anything else. */
  add(target, callback) {
    const names = typeof target === 'string' ? [target] : target;
    const watch = typeof target?.prefix === 'string' ? { prefix: target.prefix, callback }
      : { names: isNameList(names) && names.length > 0 && [...names], callback };
    if (!watch.names && !watch.prefix || typeof callback !== 'function') {
      throw new TypeError('watch(target, callback): target is a lock name, names or {prefix}; callback a function');
    }
    this.#all.add(watch);
    return watch;
  }

  /**
   * Removes a watch. Returns the fields of the `unwatch` the server needs (the names, or the
   * prefix, that no other watch needs), or null when there is nothing to send.
   */
  remove(watch) {
    return this.#all.delete(watch) ? this.#unneeded(watch) : null;
  }

  /** The fields of an `unwatch` of what `watch` (not in the list) asked for and no watch in it needs, or null. */
  #unneeded(watch) {
    const others = [...this.#all];
    if (watch.prefix !== undefined) {
      return others.some((other) => other.prefix === watch.prefix) ? null : { prefix: watch.prefix };
    }
    const names = watch.names.filter((name) => !others.some((other) => other.names?.includes(name)));
    return names.length > 0 ? { params: names } : null;
  }

  /**
   * A `watch` `OK` with its `state` (lock name to `{holders, queue}`): told to `watch`, which
   * is live from now on. Without `watch` (a renewal's `watch`), to every watch. Returns the
   * fields of the `unwatch` to send, or null: a watch whose call gave up (`TIMEOUT`) was removed,
   * but the server, which answered late, watches it now.
   */
  opened(watch, state) {
    if (watch !== undefined && !this.#all.has(watch)) return this.#unneeded(watch);
    if (watch !== undefined) watch.live = true;
    for (const [lock, lockState] of Object.entries(state ?? {})) this.changed(lock, lockState, watch);
    return null;
  }

  /**
   * One lock's new state (a `CHANGED` push): every live watch of it is called, in the order
   * they were made; with `only`, just that one (its own `OK`).
   */
  changed(lock, state, only) {
    if (only === undefined) this.#refreshing.delete(lock); // told to all: no refresh needed
    if (state?.holders?.length || state?.queue?.length) this.#busy.add(lock);
    else this.#busy.delete(lock);
    for (const watch of this.#all) {
      if (!watch.live || (only !== undefined && only !== watch) || !matches(watch, lock)) continue;
      try {
        watch.callback(lock, state);
      } catch (error) {
        this.#reportError(error); // one callback's failure must not keep the others from hearing
      }
    }
  }

  /** A `query` answer for the locks {@link Watches#renewal} called stale. */
  refreshed(state) {
    for (const [lock, lockState] of Object.entries(state ?? {})) { // an OK without `state`, as in opened()
      if (this.#refreshing.has(lock)) this.changed(lock, lockState);
    }
  }

  /** Whether there is any watch (to renew on a new connection). */
  get size() {
    return this.#all.size;
  }

  /**
   * What to send on a new connection (the server forgot the old one's watches): every
   * watched name, every prefix, and the busy locks under a prefix to query. The names come
   * in lists, one frame each, that stay under the server's frame limit (and, to query, at
   * most {@link MAX_QUERY_NAMES} long): one watch() at a time fitted, all of them may not.
   */
  renewal() {
    const all = [...this.#all];
    const names = new Set(all.flatMap((watch) => watch.names ?? []));
    const prefixes = new Set(all.map((watch) => watch.prefix).filter(Boolean));
    const stale = [...this.#busy].filter((lock) => !names.has(lock) && [...prefixes].some((prefix) => lock.startsWith(prefix)));
    this.#refreshing = new Set(stale);
    return { names: inFrames(names), prefixes: [...prefixes], stale: inFrames(stale, MAX_QUERY_NAMES) };
  }
}

/**
 * `names` cut into lists of at most `max` names and {@link MAX_PARAMS_BYTES} of JSON (in
 * UTF-8, as the server counts). A name is never cut.
 *
 * @param {Iterable<string>} names
 * @param {number} [max] no limit if absent
 * @returns {string[][]}
 */
function inFrames(names, max) {
  const lists = [];
  let bytes = Infinity;
  for (const name of names) {
    const size = new TextEncoder().encode(JSON.stringify(name)).length + 1; // and a comma
    if (bytes + size > MAX_PARAMS_BYTES || lists.at(-1).length >= max) {
      lists.push([]);
      bytes = 0;
    }
    lists.at(-1).push(name);
    bytes += size;
  }
  return lists;
}

/** The fields of a `watch` or `unwatch` request for one watch. */
function watchFields(watch) {
  return watch.prefix === undefined ? { params: watch.names } : { prefix: watch.prefix };
}

function matches(watch, lock) {
  return watch.prefix === undefined ? watch.names.includes(lock) : lock.startsWith(watch.prefix);
}

// Some 600 lines on purpose: about half of it is the public API's documentation, which
// belongs next to the methods it documents. The logic lives in the modules imported here;
// what stays is the session: what it holds, the replies and pushes that change that.

/**
 * What an application can show of the session (`client.state`, and an event of the same
 * name for each but `idle`):
 *
 * - `idle`: no session (not connected yet, or after close() or disconnect()).
 * - `connected`: a new session is open.
 * - `suspended`: the connection is lost, and the session is within its grace period: the
 *   server keeps its locks and queue places while the client reconnects ("reconnecting, your
 *   locks are kept"). Nothing can be sent; `heldLocks` shows what the session held when the
 *   connection was last heard from, which the server keeps until the grace period ends.
 * - `resumed`: the session was taken over on a new connection (the same session, the same
 *   tokens); locks the server gave up meanwhile were reported `lost`.
 * - `expired`: the session is gone without close(): the connection dropped without a grace
 *   period, the grace period passed, or the server refused to resume it. Every lock was
 *   reported `lost` and every queue place `cancelled`. A reconnect opens a new session
 *   (`connected`).
 */
const SessionState = Object.freeze({
  IDLE: 'idle',
  CONNECTED: 'connected',
  SUSPENDED: 'suspended',
  RESUMED: 'resumed',
  EXPIRED: 'expired',
});

const SS = SessionState;

/** Every move of the session state; anything else is a bug and throws. */
const SESSION_MOVES = Object.freeze({
  [SS.IDLE]: [SS.CONNECTED, SS.RESUMED],
  [SS.CONNECTED]: [SS.SUSPENDED, SS.EXPIRED, SS.IDLE],
  [SS.SUSPENDED]: [SS.RESUMED, SS.EXPIRED, SS.IDLE],
  [SS.RESUMED]: [SS.SUSPENDED, SS.EXPIRED, SS.IDLE],
  [SS.EXPIRED]: [SS.CONNECTED, SS.RESUMED, SS.IDLE],
});

/** A `resume` refused for good: the session is gone (or the node cannot resume at all). */
const RESUME_REFUSED = [FailCode.SESSION_EXPIRED, FailCode.UNKNOWN_ACTION, FailCode.BAD_REQUEST];
/** How long a reloaded page waits before it asks again to resume a session whose resume is still in progress. */
const RESUME_RETRY_DELAYS_MS = [100, 200, 400, 800];

/**
 * A client for one distlock server URL. Create it, `connect(name)`, then `lock()` /
 * `unlock()` or the higher-level `request()`.
 *
 * `connect` asks for protocol version 2; a server that answers without `version` speaks
 * version 1, and the session then uses version 1 only (no queue, no shared mode, `request()`
 * waits with `WAIT` and `RETRY` as it always did). `session.version` tells which.
 *
 * Events (`CustomEvent`s; or use {@link DistLockClient#on}):
 * - `open` `{reconnected}`: the WebSocket opened.
 * - `session` `{session, name, version, reconnected}`: a session was opened, by `connect()`
 *   or automatically after a reconnect.
 * - `close` `{code, reason, wasClean, willReconnect, delayMs}`: the WebSocket closed.
 * - `retry` `{lock}`: a lock this session got `WAIT` for became free; ask again.
 * - `granted` `{lock, token, mode, request}` (version 2): a lock this session queued for
 *   (`lock(name, {wait: true})` answered `QUEUED`) is now held; `request` is the `request`
 *   of that `QUEUED` result.
 * - `cancelled` `{lock, reason}` (version 2): a queued request left the queue without the
 *   lock; `reason` is `timeout` or `backend`.
 * - `lost` `{lock, token, reason, cause?, by?}`: a lock this client held is gone without having
 *   been unlocked: the server pushed `LOST` (reason `LOST`; from a version 2 server `cause`
 *   says why: `lease`, `taken`, `stolen` with `by`), the connection closed and the session with it
 *   (`DISCONNECTED`), the session expired (`EXPIRED`), or close() ended it (`CLOSED`).
 * - `asked` `{lock, by?, info?}` (version 2): someone queued with `ask` for a lock this
 *   session holds and would like it (`by` and `info` are theirs, unless the server hides them).
 * - `error` `{error}`: something went wrong that no call is waiting for (an unreadable
 *   frame, a session that could not be reopened after a reconnect, a watch not renewed,
 *   watches paused on a version 1 server), or whatever was thrown while a frame was applied
 *   (never out of the socket's handler; a reply's call rejects with it too).
 * - `connected`, `suspended`, `resumed`, `expired`: the session's state changed (see
 *   {@link SessionState}; `client.state` says where it is).
 *
 * The socket's lifecycle is the {@link Connection} state machine's; this class keeps the
 * session on top of it (its name, what it holds) and turns calls into requests.
 */
class DistLockClient extends EventTarget {
  /** The socket's state machine. */
  #connection;
  /** Requests sent on the current connection and not answered yet. */
  #pending;
  /** request() calls: their local queues and their waiting for RETRY or a session. */
  #requests;

  /** The session `{session, name, version, grace}` (also while suspended), or null. */
  #session = null;
  /** The session's resume secret (version 2 with a grace period), or null. Never logged nor exposed. */
  #secret = null;
  /** One of {@link SessionState}; moved by `#moveSession` only. */
  #state = SS.IDLE;
  /** When a frame last came from the server (ms): the grace period is counted from it. */
  #lastHeard = 0;
  /** Ends the suspension when the grace period is over. */
  #graceTimer = null;
  /** Sends `ping` when the connection has been quiet for `#pingIntervalMs`. */
  #pingTimer = null;
  #pingIntervalMs;
  /** The `grace` (ms) and `info` asked for in `connect`. */
  #grace;
  #info;
  /** Where the session survives a page reload, or null. */
  #store;
  /**
   * Lock names this session queues for (version 2), as told by `QUEUED`, `GRANTED`, `CANCELLED`,
   * to the id of the latest `lock` that queued (undefined for a place a resume listed, unasked for):
   * the `request` of a grant the resume OK tells of, whose `GRANTED` the OK made a duplicate.
   */
  #queued = new Map();
  /**
   * Between a `resume` OK and the reply that follows it: the pushes the session missed come
   * in that window, and some of them are already accounted for by the OK. `held`: locks the
   * OK no longer lists, to report `lost` (with the server's reason if its `LOST` comes);
   * `queued`: queue places the OK no longer lists; `listed`: the locks the OK lists, held or
   * queued for (a `GRANTED` for another lock was granted and lost while detached).
   */
  #history = null;
  /**
   * Lock name to the token of a grant whose unlock was answered `NOT_OWNER`: its `LOST` may follow,
   * saying why. A server sends that `LOST` before it answers anything sent after the `NOT_OWNER`
   * came (#notOwnedUntil, the first such request's id, on), so the reply to one ends the wait
   * (a resume's does not: the missed pushes follow it); so does the session's end.
   */
  #notOwned = new Map();
  #notOwnedUntil;
  /** The session name to reopen after a reconnect: set by connect(), cleared by close() and disconnect(). */
  #sessionName = null;
  /** The automatic `connect` after a reconnect, while it is in flight. */
  #autoConnecting = null;
  #connectsInFlight = 0;
  /**
   * The calls of request() (or of the client itself) out, each `{names}` (its lock names, as
   * JSON): the first check of those names consumes one, so it is not refused as ALREADY_HELD
   * even when a subclass's override awaits before calling `super`; dropped when the call settles.
   */
  #own = new Set();
  /** connect() calls in flight, by session name. */
  #connecting = new Map();
  /** Locks this session holds, name to fencing token, as told by the server's replies and pushes. */
  #held = new Map();
  /** Queued requests nobody waits for any more: a `GRANTED` for one is unlocked. */
  #unwantedGrants = new UnwantedGrants();
  /** Lock names of such grants while their unlock is out, each with that unlock's end: held, but not for request(). */
  #unlocking = new Map();
  /**
   * Lock names whose unlock the last drop cut (suspended, no reply): one the resume OK does not
   * list was released by that unlock, not lost.
   */
  #unlocksCut = new Set();
  /** watch() callbacks, and what the server must be told of them. */
  #watches = new Watches((error) => this.#emit('error', { error }));
  /**
   * A page that unloads (closed, reloaded, left; not kept in the back/forward cache) takes an
   * unstored resume secret with it: nobody can resume the session, yet the server would keep
   * its locks for the grace period. So the session ends with the page. On the window only
   * while there is such a secret (outside a page, nothing fires pagehide).
   */
  #pagehide = (event) => event.persisted || this.disconnect();

  /**
   * @param {string | URL | Array<string | URL> | ((attempt: {reconnect: boolean}) => string | URL | PromiseLike<string | URL>)} url
   *   the server's WebSocket endpoint, e.g. `wss://example.com/distlock/lock`; several (the
   *   nodes of a deployment: the client moves to the next when one fails to open); or a
   *   function called before every socket (e.g. to put a fresh auth token in the URL)
   * @param {object} [options]
   * @param {new (url: string) => any} [options.WebSocket] the WebSocket class; defaults to `globalThis.WebSocket`
   * @param {number} [options.requestTimeoutMs=10000] how long a call waits for its reply (and the socket for opening)
   * @param {boolean | {initialDelayMs?: number, maxDelayMs?: number}} [options.reconnect=true]
   *   reconnect after an unexpected drop, with exponential backoff and jitter
   * @param {number} [options.grace=0] ms the session outlives a dropped connection (version 2;
   *   the server may grant less): its locks are kept while the client reconnects and resumes
   * @param {object} [options.info] shown to others with the session's name (version 2, at most 512 bytes of JSON)
   * @param {number | false} [options.pingIntervalMs=15000] send `ping` after this long without a
   *   frame from the server (version 2), so that a silent connection is noticed
   * @param {boolean | Storage} [options.sessionStorage=false] keep the session id and secret in
   *   `sessionStorage` so a reloaded page resumes the session (any script of the origin can read them)
   */
  constructor(url, options = {}) {
    super();
    const {
      WebSocket = globalThis.WebSocket, requestTimeoutMs = 10_000, reconnect = true,
      grace = 0, info, pingIntervalMs = 15_000, sessionStorage = false,
    } = options;
    if (typeof WebSocket !== 'function') {
      throw new TypeError('no WebSocket class: pass one as options.WebSocket (in Node, e.g. the "ws" package)');
    }
    if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0) {
      throw new RangeError(`requestTimeoutMs must be a positive number, was ${requestTimeoutMs}`);
    }
    if (!Number.isInteger(grace) || grace < 0) {
      throw new RangeError(`grace must be an integer number of ms >= 0, was ${grace}`);
    }
    if (pingIntervalMs !== false && (!Number.isFinite(pingIntervalMs) || pingIntervalMs <= 0)) {
      throw new RangeError(`pingIntervalMs must be a positive number or false, was ${pingIntervalMs}`);
    }
    if (info !== undefined && (info === null || typeof info !== 'object' || Array.isArray(info))) {
      throw new TypeError('info must be a JSON object');
    }
    this.#grace = grace;
    this.#info = info;
    this.#pingIntervalMs = pingIntervalMs;
    this.#store = sessionStore(sessionStorage);
    this.#connection = new Connection({
      url,
      WebSocket,
      openTimeoutMs: requestTimeoutMs,
      backoff: reconnectSettings(reconnect),
      // A session that can be resumed must be, before the client gives it up (#graceEnds).
      reconnectBy: () => (this.#secret === null ? Infinity : this.#graceEnds()),
      listener: {
        opened: (reconnected) => this.#onOpened(reconnected),
        message: (data) => {
          try {
            this.#onMessage(data);
          } catch (error) {
            this.#emit('error', { error }); // a bug or a frame a server should not send: never out of the socket's handler
          }
        },
        closed: (detail) => this.#onClosed(detail),
      },
    });
    this.#pending = new PendingRequests(requestTimeoutMs);
    this.#requests = new LockRequests({
      // Through the public methods, so that a subclass that watches them sees request()'s calls too.
      // Marked as request()'s own, per lock name, until they settle: an override may await
      // before it calls super.
      lock: (...args) => this.#unguarded(this.lock, ...args), // as request() calls it: lock(name), or lock(name, options)
      unlock: (name) => this.#unguarded(this.unlock, name),
      cancel: (name) => this.#unguarded(this.cancel, name),
      version: () => this.#session?.version,
      unwantedGrant: (requestId, name, keep) => this.#unwantedGrants.mark(requestId, name, keep),
      requestTimeoutMs: requestTimeoutMs,
      heldToken: (name) => (this.#unlocking.has(name) ? undefined : this.#held.get(name)),
      unlockOut: (name) => this.#unlocking.get(name),
      locking: (name) => this.#pending.locking(name),
      queued: (name) => this.#queued.has(name),
      lostSoon: (name) => this.#history?.held.has(name),
      forget: (name) => this.#held.delete(name),
      hasSession: () => this.#hasSession(),
      suspended: () => this.#state === SS.SUSPENDED || this.#closing(), // the close event, on its way, may suspend it
      sessionExpected: () => this.#sessionExpected(),
      closes: () => this.#connection.closes,
      reportError: (error) => this.#emit('error', { error }),
    });
  }

  /**
   * The open session `{session, name, version}`, or null. `version` is the protocol version
   * the server speaks in it: 2, or 1 for a server that does not know version 2.
   */
  get session() {
    if (this.#session === null) return null;
    const { session, name, version } = this.#session;
    return { session, name, version };
  }

  /**
   * A snapshot of the locks this session holds: lock name to fencing token. While `suspended`,
   * the locks the server keeps for the session until its grace period ends (not confirmed:
   * a lock the server gave up meanwhile is reported `lost` on `resumed`).
   */
  get heldLocks() {
    return new Map(this.#held);
  }

  /** What an application can show: one of `idle`, `connected`, `suspended`, `resumed`, `expired` ({@link SessionState}). */
  get state() {
    return this.#state;
  }

  /**
   * Subscribes to an event; the listener gets the event's `detail` (and the event).
   *
   * @param {string} type `open`, `session`, `close`, `retry`, `granted`, `cancelled`, `lost`, `asked`,
   *   `error`, or a session state (`connected`, `suspended`, `resumed`, `expired`)
   * @param {(detail: any, event: CustomEvent) => void} listener
   * @returns {() => void} a function that unsubscribes
   */
  on(type, listener) {
    const handler = (event) => listener(event.detail, event);
    this.addEventListener(type, handler);
    return () => this.removeEventListener(type, handler);
  }

  /**
   * Opens the WebSocket if needed and a session named `sessionName`. The name is a label
   * others see as the holder of this session's locks; it is not an identity.
   *
   * It asks for protocol version 2 (`"version": 2`); `version` in the result is what the
   * server granted: 2, or 1 when its reply carries no `version` (a version 1 server).
   *
   * Calling it again with the name of the open session returns that session (the protocol
   * would answer `ALREADY_CONNECTED`), and while a call for that name is under way, that call's
   * promise (a call before `disconnect()` or `close()` is not shared: one after starts anew);
   * with another name it rejects with `ALREADY_CONNECTED`.
   *
   * @param {string} sessionName
   * @returns {Promise<{session: string, name: string, version: 1 | 2}>}
   */
  async connect(sessionName) {
    requireString(sessionName, 'sessionName');
    // A second call while the first is out (say, an effect run twice) shares it; disconnect()
    // and close() forget it (a call after them starts anew), so it forgets only itself.
    let connecting = this.#connecting.get(sessionName);
    if (!connecting) {
      connecting = this.#connect(sessionName).finally(() => this.#connecting.get(sessionName) === connecting && this.#connecting.delete(sessionName));
      this.#connecting.set(sessionName, connecting);
    }
    return connecting;
  }

  async #connect(sessionName) {
    this.#connectsInFlight++;
    try {
      await this.#connection.open();
      if (this.#autoConnecting !== null) {
        // A reconnect is reopening the session right now: don't race it with a second connect.
        await this.#autoConnecting;
      }
      if (this.#session !== null && this.#session.name === sessionName && this.#hasSession()) {
        return this.session;
      }
      if (this.#state === SS.SUSPENDED) {
        throw new DistLockError(ClientCode.DISCONNECTED, 'the session is suspended: it is being resumed');
      }
      const stored = this.#session === null ? await this.#store?.load(sessionName) : null;
      if (stored) {
        try {
          await this.#resumeStored(sessionName, stored);
          return this.session;
        } catch (error) {
          if (!RESUME_REFUSED.includes(error?.code)) throw error;
          this.#store.remove(sessionName); // that session is gone: open a new one
        }
      }
      const reply = await this.#send(Action.CONNECT, this.#connectFields(sessionName), { sessionName });
      return { session: reply.session, name: sessionName, version: negotiatedVersion(reply) };
    } finally {
      this.#connectsInFlight--;
      this.#requests.sessionChanged();
    }
  }

  /**
   * Resumes the session a reloaded page found stored. The old page may have sent a resume of
   * its own just before it unloaded: until the server has found that its answer has no socket
   * to go to (which makes the stored secret good again), it answers `BACKEND_UNAVAILABLE`
   * ("in progress; try again"). So that answer is tried again, after 0.1, 0.2, 0.4 and 0.8 s,
   * before it is given up like any other failure (Redis down answers the same).
   */
  async #resumeStored(sessionName, stored) {
    const ws = this.#connection.current;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#send(Action.RESUME, { session: stored.session, resume: stored.resume }, { sessionName, stored });
      } catch (error) {
        if (error?.code !== FailCode.BACKEND_UNAVAILABLE || attempt === RESUME_RETRY_DELAYS_MS.length) throw error;
      }
      await delay(RESUME_RETRY_DELAYS_MS[attempt]);
      if (this.#connection.current !== ws) {
        // disconnect() (and perhaps a new connect()) meanwhile: this connect() is over
        throw new DistLockError(ClientCode.DISCONNECTED, 'disconnected while waiting to resume again');
      }
    }
  }

  /**
   * Asks for a lock. The call itself never waits for the lock, only for the server's answer.
   *
   * Options (version 2; on a version 1 session `mode: 'shared'`, `wait` and `timeout` reject
   * with `NOT_SUPPORTED` and nothing is sent):
   * - `mode`: `'exclusive'` (the default) or `'shared'` (shared grants coexist).
   * - `wait: true`: if it cannot be granted now, join the lock's queue (FIFO across every
   *   session and server node). The answer is then `QUEUED`, and the grant comes later as a
   *   `granted` event whose `request` equals the result's `request`; a `cancelled` event if
   *   it leaves the queue without the lock. `cancel(name)` leaves the queue.
   * - `timeout` (ms, 1 to 3,600,000; only with `wait`): leave the queue after this long
   *   (`cancelled` with reason `timeout`).
   * - `steal: true` (not with `wait`): take the lock now, whoever holds it (if the server
   *   allows it: `UNAUTHORIZED` otherwise); each holder is pushed `LOST` (`stolen`, `by` us).
   * - `ask: true` (only with `wait`): also push `ASKED` to the holders (their `asked` event).
   *   At most once per lock per 10 s: `RATE_LIMITED` otherwise.
   *
   * Rejects with `ALREADY_HELD`, sending nothing, while a request() of this client holds the
   * lock or waits for it (from the moment it is called): the session has one grant per lock,
   * which would be request()'s.
   *
   * @param {string} name the lock name
   * @param {{mode?: 'exclusive' | 'shared', wait?: boolean, timeout?: number, steal?: boolean, ask?: boolean}} [options]
   * @returns {Promise<{status: 'LOCKED', token: number} | {status: 'WAIT', holder?: string}
   *   | {status: 'QUEUED', position: number, holder?: string, request: number}>}
   *   `WAIT` registers this session for one `retry` event for the lock. `holder` is the
   *   holding session's name unless the server hides it. `position` is 1 for "next".
   */
  async lock(name, options = {}) {
    requireString(name, 'lock name');
    this.#requireUnclaimed([name]);
    const fields = lockFields(options, { queue: true, version: this.#session?.version });
    const unlocking = this.#unlockingOf([name]);
    if (unlocking !== undefined) await unlocking;
    return this.#send(Action.LOCK, { param: name, ...fields }, { names: [name] });
  }

  /**
   * Leaves the queue of a lock this session queued for (version 2). Rejects with
   * `NOT_QUEUED` if it is not queued for it: then a `granted` (or `cancelled`) event is on
   * its way or came already, and a grant must be unlocked like any other. `ALREADY_HELD`,
   * sending nothing, while a request() of this client waits for or holds the lock (it would
   * take request()'s place, and request() would wait for a grant that never comes).
   *
   * @param {string} name the lock name
   * @returns {Promise<void>}
   */
  async cancel(name) {
    requireString(name, 'lock name');
    this.#requireUnclaimed([name]);
    this.#requireVersion2('cancel');
    await this.#send(Action.CANCEL, { param: name }, { names: [name] });
  }

  /**
   * Who holds and who queues for these locks now (version 2; `NOT_SUPPORTED` on version 1):
   * lock name to `{holders, queue}`, each a list of `{name, info, mode, since}` (`name` and
   * `info` absent when the server hides holders; a long list is cut, its length then given as
   * `holdersTotal` or `queueTotal`). Rejects with the server's code
   * (`UNAUTHORIZED`, `BAD_NAME`, ...) if it refuses.
   *
   * @param {string | string[]} names one lock name, or 1 to 64 of them
   * @returns {Promise<Record<string, {holders: object[], queue: object[]}>>}
   */
  async query(names) {
    names = typeof names === 'string' ? [names] : names;
    requireStrings(names); // how many (1 to 64) is the server's to check
    this.#requireVersion2('query');
    // Like the other replies, read as the contract has it: `state` is there in an OK.
    return (await this.#send(Action.QUERY, { params: [...names] }, {})).state;
  }

  /**
   * Watches locks (version 2; `NOT_SUPPORTED` on version 1): `callback(lock, state)` is called
   * with the state (`{holders, queue}`, as in query()) of each named lock once the server
   * answers, then on every change the server pushes (`CHANGED`), in order. For `{prefix}`,
   * every lock whose name starts with it, from its first change on (the server sends no
   * initial state for a prefix).
   *
   * Resolves with an `unwatch()` function (idempotent): the callback is not called any more,
   * and the server is told to stop for the names (or prefix) no other watch of this client needs.
   * A watch that rejects with `TIMEOUT` is not kept, and unwatched so should the server answer it later.
   *
   * A watch lasts until unwatched, across reconnects: the server forgets watches with their
   * connection, so on each new or resumed session the client watches again and calls back with
   * the fresh state (for a prefix: of the locks it last saw held or queued for), in frames
   * under the server's frame limit. On a version 1 session they are paused (nothing is sent;
   * one `NOT_SUPPORTED` `error` event) until a session on a version 2 server.
   *
   * @param {string | string[] | {prefix: string}} target
   * @param {(lock: string, state: {holders: object[], queue: object[]}) => void} callback
   *   what it throws is an `error` event
   * @returns {Promise<() => Promise<void>>}
   */
  async watch(target, callback) {
    const watch = this.#watches.add(target, callback);
    try {
      this.#requireVersion2('watch');
      await this.#send(Action.WATCH, watchFields(watch), { watch });
    } catch (error) {
      this.#watches.remove(watch);
      throw error;
    }
    return () => this.#unwatch(this.#watches.remove(watch));
  }

  /** Tells the server to stop watching `fields` (null: nothing to tell). */
  async #unwatch(fields) {
    // Without a session, the server's watches went with the connection (a version 1 server has
    // none); the next one will not have this.
    if (fields !== null && this.#hasSession() && this.#session.version === 2) await this.#send(Action.UNWATCH, fields, {}).catch(throwUnlessConnectionLoss);
  }

  /**
   * Releases a lock this session holds. Rejects with `NOT_OWNER` if it does not hold it, and
   * with `ALREADY_HELD`, sending nothing, if a request() of this client holds or waits for it.
   *
   * @param {string} name the lock name
   * @returns {Promise<void>}
   */
  async unlock(name) {
    requireString(name, 'lock name');
    this.#requireUnclaimed([name]);
    await this.#send(Action.UNLOCK, { param: name }, { names: [name] });
  }

  /**
   * Asks for several locks, all or nothing. Never queues. `ALREADY_HELD` as lock().
   *
   * @param {string[]} names the lock names
   * @param {{mode?: 'exclusive' | 'shared'}} [options] `mode` for all of them (`'shared'`
   *   needs a version 2 server: `NOT_SUPPORTED` otherwise)
   * @returns {Promise<{status: 'LOCKED', tokens: Record<string, number>} | {status: 'WAIT', holders?: Record<string, string>}>}
   *   `WAIT` takes none of them and registers this session for one `retry` event for each
   *   lock held by another session.
   */
  async lockAll(names, options = {}) {
    requireStrings(names);
    this.#requireUnclaimed(names);
    const fields = lockFields(options, { queue: false, version: this.#session?.version });
    const unlocking = this.#unlockingOf(names);
    if (unlocking !== undefined) await unlocking;
    return this.#send(Action.MLOCK, { params: [...names], ...fields }, { names: [...names] });
  }

  /**
   * Releases several locks, all or nothing: if this session does not hold one of them,
   * rejects with `NOT_OWNER` and releases none; if a request() of this client holds or waits
   * for one of them, rejects with `ALREADY_HELD` and sends nothing.
   *
   * @param {string[]} names the lock names
   * @returns {Promise<void>}
   */
  async unlockAll(names) {
    requireStrings(names);
    this.#requireUnclaimed(names);
    await this.#send(Action.MUNLOCK, { params: [...names] }, { names: [...names] });
  }

  /**
   * Closes the session: the server releases all its locks (waiters elsewhere get `retry`).
   * The WebSocket stays open, so `connect()` may open a new session. Each held lock is
   * reported `lost` with reason `CLOSED` (so a request() callback running with one hears of
   * it: its `signal` aborts).
   *
   * @returns {Promise<void>}
   */
  async close() {
    this.#connecting.clear();
    const name = this.#session?.name ?? this.#sessionName;
    await this.#send(Action.CLOSE, name === null ? {} : { param: name }, {});
  }

  /**
   * Closes the WebSocket and does not reconnect. Pending calls reject with `DISCONNECTED`,
   * held locks are reported `lost` (the server releases them when the socket closes; with a
   * grace period, after a `close` sent first; while `suspended`, no `close` can be sent, and the
   * server keeps them until the grace period ends).
   * Resolves when the socket has closed (or after `requestTimeoutMs` if it never says so).
   *
   * @returns {Promise<void>}
   */
  disconnect() {
    this.#sessionName = null;
    this.#connecting.clear();
    if (this.#secret !== null && this.#hasSession()) {
      // With a grace period the server would keep the session after the socket closes: end it.
      this.#send(Action.CLOSE, { param: this.#session.name }, {}).catch(() => {});
    }
    const closed = this.#connection.close();
    if (this.#state === SS.SUSPENDED) this.#expire(LostReason.DISCONNECTED); // no socket was open to close
    this.#requests.sessionChanged();
    return closed;
  }

  /**
   * Waits for a lock, runs `callback` while holding it, then releases it; in the spirit of
   * the Web Locks API's `navigator.locks.request(name, [options], callback)`.
   *
   * - On a version 2 server it waits in the lock's queue (`lock` with `wait: true`: `QUEUED`,
   *   then the `GRANTED` push): first come first served across sessions and server nodes.
   *   On a version 1 server it waits with `WAIT` and the `retry` push (asking again after
   *   each `retry`, since another session may win).
   * - Waiting goes on across reconnects: a waiter holds nothing, so after a reconnect it asks
   *   the new session (a queued one joins the new session's queue at the back: its old place
   *   went with the old session).
   * - Calls in this client for the same name queue locally, first come first served, in
   *   either mode: they share one session, and the server keeps one grant and one queue
   *   place per session and lock.
   * - `mode: 'shared'` (version 2): shared with other sessions' shared holders. On a version
   *   1 server it rejects with a `NotSupportedError` `DOMException`.
   * - `ifAvailable: true`: if the lock is taken (here or elsewhere), calls `callback(null)`
   *   instead of waiting (it does not queue).
   * - `signal`: aborting it while waiting rejects with the signal's reason and stops waiting;
   *   while queued, the client sends `cancel`, and a grant that crossed the abort on the way
   *   is unlocked. Once the callback runs, the signal no longer matters.
   * - `timeout` (ms): stop waiting after this long (local turn included) and reject with
   *   `CANCELLED` (`reason: 'timeout'`). On a version 2 server the queue enforces it.
   * - `steal: true` (version 2): take the lock now whoever holds it, never waiting in the
   *   server's queue (a refusal, e.g. `UNAUTHORIZED`, rejects). As in Web Locks, not with
   *   `ifAvailable`, `signal`, `timeout`, `ask` or `mode: 'shared'` (`NotSupportedError`).
   *   A holder whose lock is stolen gets `lost` (cause `stolen`, `by`): its `lock.signal`
   *   aborts and its request() rejects with `LOST`.
   * - `ask: true` (version 2; not with `ifAvailable`): queue with `ask`, so the holders get
   *   an `asked` event. An ask the server refuses as `RATE_LIMITED` is dropped and the request
   *   queues without it: the holders were asked less than 10 s ago, and the caller still
   *   wants the lock (for what is left of its `timeout`: none left, it rejects `CANCELLED`).
   * - The lock is released when the callback's promise settles; the call resolves or
   *   rejects like the callback. If the lock was `lost` meanwhile (or the connection
   *   dropped), the callback still runs to completion but no unlock is sent: the lock is
   *   not this session's any more. Watch the `lost` event to stop work early.
   *
   * @template T
   * @param {string} name the lock name
   * @param {{signal?: AbortSignal, ifAvailable?: boolean, mode?: 'exclusive' | 'shared', timeout?: number, steal?: boolean, ask?: boolean}
   *   | ((lock: {name: string, mode: string, token: number} | null) => T | PromiseLike<T>)} optionsOrCallback
   * @param {(lock: {name: string, mode: string, token: number} | null) => T | PromiseLike<T>} [maybeCallback]
   * @returns {Promise<T>}
   */
  async request(name, optionsOrCallback, maybeCallback) {
    return this.#requests.request(name, optionsOrCallback, maybeCallback);
  }

  // ---------------------------------------------------------------- the session

  /** Calls `method` (one of the public calls) as request()'s or the client's own, not the application's. */
  #unguarded(method, ...args) {
    const own = { names: JSON.stringify([args[0]].flat()) };
    const drop = () => this.#own.delete(own);
    this.#own.add(own);
    try {
      const call = method.apply(this, args);
      Promise.resolve(call).then(drop, drop);
      return call;
    } catch (error) {
      drop();
      throw error;
    }
  }

  #hasSession() {
    return this.#session !== null && (this.#state === SS.CONNECTED || this.#state === SS.RESUMED) && this.#connection.isOpen;
  }

  /**
   * Whether a session is on its way: a connect() in flight, or a reconnect that will reopen (or
   * resume) one; or the socket is closing (the server's close frame is in, the close event not
   * yet), and that event will say whether the session is suspended or gone.
   */
  #sessionExpected() {
    return this.#connectsInFlight > 0
      || this.#autoConnecting !== null
      || ((this.#connection.reconnecting || this.#closing()) && this.#sessionName !== null);
  }

  /** The socket is open, but closing: nothing can be sent, and its close event is on its way. */
  #closing() {
    return this.#connection.state === 'open' && !this.#connection.isOpen;
  }

  #moveSession(next) {
    if (!SESSION_MOVES[this.#state].includes(next)) {
      throw new Error(`distlock: bug: no session move from ${this.#state} to ${next}`);
    }
    this.#state = next;
  }

  #requireVersion2(what) {
    if (this.#session?.version === 1) throw notSupported(what);
  }

  /**
   * lock(), lockAll(), cancel(), unlock() and unlockAll() keep off the locks request() holds or
   * waits for (the mirror of its ALREADY_HELD), unless it is request()'s own call or the
   * client's ({@link DistLockClient#unguarded}).
   */
  #requireUnclaimed(names) {
    const key = JSON.stringify(names);
    for (const own of this.#own) {
      if (own.names === key) return this.#own.delete(own);
    }
    const name = names.find((lock) => this.#requests.claims(lock));
    if (name) {
      throw new DistLockError(ClientCode.ALREADY_HELD, `"${name}" is held or awaited by a request() of this client`);
    }
  }

  /**
   * A session opened or resumed on a new connection, whose server knows none of our watches:
   * watch again, and tell the callbacks the fresh state. Each frame on its own, so a refused
   * one (an `error` event, as whatever fails) does not stop the others. A version 1 server
   * has no watches: they wait, untold, for a session on a version 2 one (one `error` event).
   */
  #rewatch() {
    if (this.#session.version === 1) {
      if (this.#watches.size > 0) {
        this.#emit('error', { error: new DistLockError(ClientCode.NOT_SUPPORTED, 'watches are paused: this server speaks protocol version 1') });
      }
      return;
    }
    const { names, prefixes, stale } = this.#watches.renewal();
    const report = (error) => isConnectionLoss(error) || this.#emit('error', { error });
    for (const params of names) this.#send(Action.WATCH, { params }, {}).catch(report);
    for (const prefix of prefixes) this.#send(Action.WATCH, { prefix }, {}).catch(report);
    for (const params of stale) this.query(params).then((state) => this.#watches.refreshed(state), report);
  }

  /** The fields of a `connect`: version 2, and the grace period and info asked for. */
  #connectFields(name) {
    const fields = { param: name, version: PROTOCOL_VERSION };
    if (this.#grace > 0) fields.grace = this.#grace;
    if (this.#info !== undefined) fields.info = this.#info;
    return fields;
  }

  #sessionOpened(reply, name, reconnected) {
    const version = negotiatedVersion(reply);
    const session = reply.session;
    const grace = version >= 2 && Number.isInteger(reply.grace) ? reply.grace : 0;
    const opened = this.#session = { session, name, version, grace };
    this.#unlocksCut.clear();
    this.#secret = version >= 2 && grace > 0 && typeof reply.resume === 'string' ? reply.resume : null;
    this.#sessionName = name;
    if (this.#secret !== null) {
      if (this.#store === null) globalThis.addEventListener?.('pagehide', this.#pagehide);
      else this.#store.save(name, { session, resume: this.#secret, grace });
    }
    this.#connection.resetBackoff();
    this.#moveSession(SS.CONNECTED);
    this.#armPing();
    // A listener may end the session (disconnect()): then nothing more is to be done for it.
    this.#emit('session', { session, name, version, reconnected });
    if (this.#session !== opened) return;
    this.#emit('connected', { session, name, version, grace, reconnected });
    if (this.#session !== opened) return;
    this.#requests.sessionChanged();
    this.#rewatch();
  }

  /** The socket opened. After a reconnect, the session is resumed or reopened (unless connect() is doing it). */
  #onOpened(reconnected) {
    this.#lastHeard = Date.now();
    if (this.#state === SS.SUSPENDED) {
      this.#reopen();
    } else if (reconnected) {
      if (this.#sessionName !== null && this.#connectsInFlight === 0) {
        this.#reopen();
      } else if (this.#sessionName === null) {
        this.#connection.resetBackoff();
      }
    }
    this.#emit('open', { reconnected });
  }

  /**
   * After a reconnect: resumes the suspended session (same session, same locks), or, if
   * there is none or the server refuses (`SESSION_EXPIRED`), opens a *new* session with the
   * old name, whose locks are none of the old one's. Nothing is replayed.
   */
  #reopen() {
    const ws = this.#connection.current;
    const name = this.#sessionName;
    const reopening = (async () => {
      try {
        if (this.#state === SS.SUSPENDED) {
          try {
            await this.#send(Action.RESUME, { session: this.#session.session, resume: this.#secret }, {});
            if (this.#state !== SS.EXPIRED) return;
            // Resumed after its grace was over here: closed again (see #resumed); a new session follows.
          } catch (error) {
            if (ws !== this.#connection.current || !RESUME_REFUSED.includes(error?.code)) throw error;
            this.#expire(LostReason.EXPIRED, error.code);
          }
        }
        await this.#send(Action.CONNECT, this.#connectFields(name), { sessionName: name, reconnected: true });
      } catch (error) {
        if (ws !== this.#connection.current) return; // already gone; its close scheduled the next attempt
        this.#emit('error', { error: new DistLockError(error.code ?? ClientCode.FAIL, `could not reopen session "${name}" after reconnecting: ${error.message}`, { cause: error }) });
        // A socket without the session the application expects helps nobody: try again later.
        this.#connection.abandon(4000, 'session could not be reopened');
      }
    })();
    this.#autoConnecting = reopening.finally(() => {
      this.#autoConnecting = null;
      this.#requests.sessionChanged();
    });
  }

  /** The socket is gone: rejects what was pending; the session is suspended (grace) or ends. */
  #onClosed({ code, reason, wasClean, willReconnect, delayMs }) {
    this.#stopPing();
    const detail = describeClose(code, reason);
    this.#pending.rejectAll((entry) => {
      if (entry.action === Action.UNLOCK || entry.action === Action.MUNLOCK) for (const name of entry.names) this.#unlocksCut.add(name);
      // A lock asked again for a place, its reply cut: the server may name it now, or not.
      if (entry.action === Action.LOCK && this.#queued.has(entry.names[0])) this.#queued.set(entry.names[0], undefined);
      return new DistLockError(ClientCode.DISCONNECTED, `the connection closed (${detail}) before the reply to ${entry.action}`);
    });
    const live = this.#state === SS.CONNECTED || this.#state === SS.RESUMED;
    if (live && willReconnect && this.#secret !== null && this.#sessionName !== null) {
      this.#suspend();
    } else if (this.#state === SS.SUSPENDED && willReconnect) ; else if (this.#session !== null) {
      // No grace (or no reconnect): the server ends the session with its socket.
      // Suspended, it expired; unless disconnect() ended it (its name is cleared), which says so.
      this.#expire(this.#state === SS.SUSPENDED && this.#sessionName !== null ? LostReason.EXPIRED : LostReason.DISCONNECTED);
    } else {
      this.#unwantedGrants.settle(); // the session, its queue places and grants are gone
      this.#requests.wakeAll();
    }
    this.#emit('close', willReconnect
      ? { code, reason, wasClean, willReconnect, delayMs }
      : { code, reason, wasClean, willReconnect });
    this.#requests.sessionChanged();
  }

  /**
   * When the client gives a suspended session up. Counted from the last frame heard, not from
   * when the loss was noticed: a silent connection may have been dead (and the server counting)
   * for a while already. And min(grace / 10, 1 s) early: the server frees the locks at its own
   * detach time + grace, only a little after this, so a timer that fires late (a busy or
   * throttled tab) must still fire before another session can be granted them.
   */
  #graceEnds() {
    const { grace } = this.#session;
    return this.#lastHeard + grace - Math.min(Math.ceil(grace / 10), 1000);
  }

  /** Connection lost, session in its grace period: keep everything, and count the grace down. */
  #suspend() {
    this.#moveSession(SS.SUSPENDED);
    this.#endHistory();
    const until = this.#graceEnds();
    this.#graceTimer = setTimeout(() => this.#expire(LostReason.EXPIRED, 'grace'), Math.max(0, until - Date.now()));
    this.#requests.suspended();
    this.#emit('suspended', { session: this.#session.session, until, locks: [...this.#held.keys()] });
  }

  /**
   * The session is gone without close(): every held lock is `lost` (`reason`), every queue
   * place `cancelled`, request() waiters ask the next session. To `expired`, or to `idle`
   * after disconnect().
   */
  #expire(reason, why = reason) {
    if (this.#session === null) return; // expired already (its grace ran out here, then the server said so too)
    const { session, name } = this.#session;
    clearTimeout(this.#graceTimer);
    this.#stopPing();
    this.#endHistory();
    this.#session = null;
    this.#secret = null;
    globalThis.removeEventListener?.('pagehide', this.#pagehide);
    this.#store?.remove(name);
    this.#unwantedGrants.settle();
    this.#unlocksCut.clear();
    this.#notOwned.clear();
    const queued = [...this.#queued.keys()];
    this.#queued.clear();
    const lost = [...this.#held];
    this.#held.clear();
    this.#moveSession(this.#sessionName === null ? SS.IDLE : SS.EXPIRED);
    for (const [lock, token] of lost) this.#emitLost({ lock, token, reason });
    for (const lock of queued) this.#emit('cancelled', { lock, reason: 'session' });
    this.#requests.wakeAll();
    if (this.#state === SS.EXPIRED) {
      this.#emit('expired', { session, reason: why, locks: lost.map(([lock]) => lock) });
    }
  }

  /**
   * A `resume` OK: the session is ours again. Its `locks` and `queued` say what it has now;
   * what the client believed and the OK does not list is lost (held) or gone (queued), what
   * the OK lists and the client did not know came from replies lost with the connection.
   */
  #resumed(reply, { sessionName, stored }) {
    if (stored !== undefined) {
      this.#session = { session: stored.session, name: sessionName, version: PROTOCOL_VERSION, grace: stored.grace ?? 0 };
      this.#secret = stored.resume;
      this.#sessionName = sessionName;
    } else if (this.#state !== SS.SUSPENDED) {
      // It came back after the client gave the session up (its grace was over here): the
      // application was told every lock was lost, so make it true.
      this.#send(Action.CLOSE, { param: sessionName ?? this.#sessionName }, { quiet: true }).catch(() => {});
      return;
    }
    if (typeof reply.resume === 'string') this.#secret = reply.resume;
    clearTimeout(this.#graceTimer);
    // Entries a server should not send (no numeric token, a name that is no string) are left out.
    const locks = Object.fromEntries(Object.entries(Object(reply.locks)).filter(([, grant]) => typeof grant?.token === 'number'));
    const queuedNow = new Set(Array.isArray(reply.queued) ? reply.queued.filter((lock) => typeof lock === 'string') : []);
    const history = { held: new Map(), queued: new Set(), listed: new Set([...Object.keys(locks), ...queuedNow]) };
    for (const [lock, token] of this.#held) {
      if (locks[lock]?.token !== token) {
        this.#held.delete(lock);
        // Not listed after an unlock the drop cut: the server had released it, as asked.
        if (lock in locks || !this.#unlocksCut.has(lock)) history.held.set(lock, token);
      }
    }
    this.#unlocksCut.clear();
    const granted = [];
    const unknown = [];
    for (const [lock, grant] of Object.entries(locks)) {
      if (this.#held.get(lock) === grant.token) continue;
      this.#held.set(lock, grant.token); // before `resumed`, which says it is held
      if (this.#queued.has(lock)) {
        granted.push({ lock, token: grant.token, mode: grant.mode ?? Mode.EXCLUSIVE }); // its request: #queued has it
      } else if (stored === undefined) {
        unknown.push(lock); // released below unless a request() asked for it
      }
    }
    for (const lock of this.#queued.keys()) {
      if (!queuedNow.has(lock) && !(lock in locks)) {
        this.#queued.delete(lock);
        history.queued.add(lock);
        this.#unwantedGrants.settle(lock); // the place ended without a grant (a missed GRANTED is not applied)
      }
    }
    const strayQueued = [...queuedNow].filter((lock) => !this.#queued.has(lock));
    for (const lock of strayQueued) this.#queued.set(lock);
    this.#history = history;
    this.#moveSession(SS.RESUMED);
    this.#connection.resetBackoff();
    // Always: the server issues a new secret on every resume, and the one sent is spent.
    this.#store?.save(this.#sessionName, { session: this.#session.session, resume: this.#secret, grace: this.#session.grace });
    // Its reply comes after the pushes the session missed: it ends the history window.
    this.#ping();
    // Granted or queued by a request whose caller was told DISCONNECTED: nobody counts on them.
    // Released before `resumed`, whose handler may ask again: that ask goes out once the unlock is answered.
    for (const lock of unknown) this.#releaseUnwanted(lock, this.#held.get(lock), { keep: () => this.#requests.wants(lock), settle: () => {} });
    if (stored === undefined) {
      for (const lock of strayQueued) {
        if (this.#requests.wants(lock)) continue;
        // NOT_QUEUED: granted meanwhile, and unlocked when its GRANTED comes, unless asked for
        // again meanwhile (say, by a lock() in the resumed handler, answered LOCKED after it):
        // then kept until that lock() or lockAll() is answered, and unlocked unless LOCKED.
        const unwanted = this.#unwantedGrants.mark(undefined, lock, (again) => this.#requests.wants(lock)
          || this.#pending.locking(lock, (result) => result?.status === Status.LOCKED || again()));
        this.#unguarded(this.cancel, lock).then(unwanted.forget, () => {});
      }
    }
    // A listener (of an aborted signal, of `resumed`, of `granted`) may end the session
    // (disconnect()): then nothing more is to be done for it.
    const resumed = this.#session;
    // A lock the OK no longer lists is gone now, though its `lost` event waits for the server's
    // reason (a missed `LOST`) until the history window ends: a request() callback running with
    // it has its signal aborted at once (and its request() rejects with `LOST`, even if the
    // callback ends inside the window).
    for (const [lock, token] of history.held) this.#requests.goneOnResume(lock, token);
    if (this.#session !== resumed) return;
    const { session, name, version, grace } = resumed;
    // As the OK has it: a lock granted while detached is held (its `granted` event follows).
    this.#emit('resumed', { session, name, version, grace, locks: Object.keys(locks), queued: [...queuedNow], lost: [...history.held.keys()] });
    if (this.#session !== resumed) return;
    this.#rewatch();
    for (const grant of granted) if (this.#session === resumed) this.#onGranted(grant, true);
    this.#requests.sessionChanged();
  }

  /** The pushes the session missed are all in: what they did not explain is reported now. */
  #endHistory() {
    const history = this.#history;
    if (history === null) return;
    this.#history = null;
    for (const [lock, token] of history.held) this.#emitLost({ lock, token, reason: LostReason.LOST });
    for (const lock of history.queued) {
      this.#emit('cancelled', { lock, reason: 'session' });
    }
    if (history.queued.size > 0) this.#requests.placesLost(history.queued);
  }

  /** (Re)starts the idle timer: `ping` after `#pingIntervalMs` without a frame from the server. */
  #armPing() {
    clearTimeout(this.#pingTimer);
    if (this.#pingIntervalMs === false || this.#session?.version !== 2 || !this.#hasSession()) return;
    this.#pingTimer = setTimeout(() => this.#ping(), this.#pingIntervalMs);
    this.#pingTimer?.unref?.(); // in Node, an idle client does not keep the process alive by pinging
  }

  #stopPing() {
    clearTimeout(this.#pingTimer);
    this.#pingTimer = null;
  }

  /** Sends `ping`; no reply within `requestTimeoutMs` means the connection is dead: drop it (and suspend). */
  #ping() {
    const ws = this.#connection.current;
    this.#send(Action.PING, {}, {}).catch((error) => {
      if (error?.code === ClientCode.TIMEOUT && ws === this.#connection.current) {
        this.#connection.abandon(4001, 'no reply to ping');
      }
    });
  }

  #emitLost(detail) {
    this.#requests.lost(detail);
    this.#emit('lost', detail);
  }

  // ---------------------------------------------------------------- requests and replies

  /**
   * Sends one request and returns the promise of its reply.
   *
   * @param {string} action
   * @param {object} fields `param` or `params`
   * @param {{names?: string[], sessionName?: string, reconnected?: boolean}} meta what the reply will need
   */
  #send(action, fields, meta) {
    if (!this.#connection.isOpen) {
      return Promise.reject(new DistLockError(ClientCode.NOT_CONNECTED, `cannot send ${action}: not connected`));
    }
    if (this.#state === SS.SUSPENDED && action !== Action.RESUME) {
      // A new socket, and the session not resumed on it yet: the server would not know it.
      return Promise.reject(new DistLockError(ClientCode.NOT_CONNECTED, `cannot send ${action}: the session is suspended (being resumed)`));
    }
    return this.#pending.send(action, fields, meta, (frame) => this.#connection.send(frame));
  }

  #onMessage(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch (error) {
      this.#emit('error', { error: new DistLockError(ClientCode.BAD_REPLY, 'the server sent a frame that is not JSON', { cause: error }) });
      return;
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      this.#emit('error', { error: new DistLockError(ClientCode.BAD_REPLY, 'the server sent a frame that is not a JSON object') });
      return;
    }
    this.#lastHeard = Date.now();
    this.#armPing();
    if (message.id === undefined && (this.#session === null || typeof pushedLock(message) !== 'string')) {
      // A push without a session: of one given up (resumed too late, being closed quietly).
      // Or one that names no lock, which a server should not send: nothing to apply it to.
      return;
    }
    if (message.status === Status.RETRY) {
      const lock = pushedLock(message);
      this.#requests.retry(lock);
      this.#emit('retry', { lock });
      return;
    }
    if (message.status === Status.LOST) {
      const lock = pushedLock(message);
      // Version 2 names the grant that ended. Another than the one held is over for this client
      // already: told, or ended by a request whose answer came before this push.
      const ends = (token) => token !== undefined && (typeof message.token !== 'number' || message.token === token);
      let token = this.#held.get(lock);
      if (ends(token)) {
        this.#held.delete(lock);
      } else if (ends(this.#history?.held.get(lock))) {
        // A missed push for a lock the resume OK no longer listed: say why now.
        token = this.#history.held.get(lock);
        this.#history.held.delete(lock);
      } else if (token === undefined && ends(this.#notOwned.get(lock))) {
        // The grant an unlock found lost (NOT_OWNER, whose reply came first): why, unless held anew.
        token = this.#notOwned.get(lock);
        this.#notOwned.delete(lock);
      } else if (this.#history !== null || typeof message.token === 'number') {
        return; // or for a grant made and lost while detached, which nobody knew of: nothing to say
      }
      const detail = { lock, token, reason: LostReason.LOST };
      if (typeof message.reason === 'string') detail.cause = message.reason; // version 2
      this.#emitLost(withBy(detail, message));
      return;
    }
    if (message.status === Status.ASKED) {
      const detail = withBy({ lock: pushedLock(message) }, message);
      if (message.info) detail.info = message.info;
      this.#emit('asked', detail);
      return;
    }
    if (message.status === Status.CHANGED) {
      this.#watches.changed(pushedLock(message), message.state);
      return;
    }
    if (message.status === Status.GRANTED) {
      this.#onGranted(message);
      return;
    }
    if (message.status === Status.CANCELLED) {
      const lock = pushedLock(message);
      const reason = typeof message.reason === 'string' ? message.reason : 'backend';
      const endedWhileDetached = this.#history?.queued.delete(lock) === true;
      if (this.#history !== null && !endedWhileDetached && !this.#queued.has(lock)) {
        return; // a missed push about a place the resume OK accounted for
      }
      // Version 2 names the request whose place ended. Another than the last that queued had its
      // place end before, as this client learnt from a reply that came first (a cancel's OK, the
      // QUEUED of a request that queued anew).
      const queuedBy = this.#queued.get(lock);
      if (!endedWhileDetached && message.request !== undefined
          && (!this.#queued.has(lock) || (queuedBy !== undefined && queuedBy !== message.request))) {
        return;
      }
      this.#queued.delete(lock);
      // Ends the mark of that place (a mark of an earlier place is not ended by it); the request
      // that queues for the lock now is told even so: a leftover mark must not swallow its end.
      if (!this.#unwantedGrants.settle(lock, message.request) || (message.request !== undefined && message.request === queuedBy)) {
        this.#requests.cancelled(lock, reason, message);
      }
      this.#emit('cancelled', { lock, reason });
      return;
    }
    // Only replies to our requests carry our id. Anything else is a push this client does
    // not know yet (a later protocol version): ignoring it keeps replies matched correctly.
    const entry = this.#pending.take(message.id);
    if (entry !== undefined) {
      if (entry.id >= this.#notOwnedUntil && entry.action !== Action.RESUME) this.#notOwned.clear();
      this.#endHistory(); // a reply after a resume OK: the missed pushes came before it
      try {
        this.#onReply(entry, message);
      } catch (error) {
        entry.reject(error); // settled whatever happens: a connect() or a resume waits for it
        throw error;
      }
    }
  }

  /**
   * Applies a reply to what the client knows (session, held locks) and settles its call.
   * Runs for late replies too (the call already rejected with TIMEOUT): the server did act.
   */
  #onReply(entry, reply) {
    if (reply.status === Status.FAIL) {
      if (reply.code === FailCode.NOT_OWNER && entry.action === Action.UNLOCK) {
        const token = this.#held.get(entry.names[0]);
        if (token !== undefined) {
          this.#notOwned.set(entry.names[0], token);
          this.#notOwnedUntil = this.#pending.nextId;
        }
        this.#held.delete(entry.names[0]); // the server says it is not ours
      }
      entry.reject(new DistLockError(reply.code ?? ClientCode.FAIL, reply.message ?? `${entry.action} failed`, { reply }));
      return;
    }
    if (!REPLY_STATUSES[entry.action].includes(reply.status)) {
      entry.reject(new DistLockError(ClientCode.BAD_REPLY, `unexpected ${reply.status} reply to ${entry.action}`, { reply }));
      return;
    }
    switch (entry.action) {
      case Action.CONNECT:
        this.#sessionOpened(reply, entry.meta.sessionName, entry.meta.reconnected === true);
        entry.resolve(reply);
        return;
      case Action.RESUME:
        this.#resumed(reply, entry.meta);
        entry.resolve(reply);
        return;
      case Action.WATCH:
        this.#unwatch(this.#watches.opened(entry.meta.watch, reply.state)).catch((error) => this.#emit('error', { error }));
        // falls through
      case Action.PING:
      case Action.QUERY:
      case Action.UNWATCH:
        entry.resolve(reply);
        return;
      case Action.CLOSE: {
        if (entry.meta.quiet) {
          entry.resolve();
          return;
        }
        const name = this.#session?.name ?? this.#sessionName;
        if (name !== null) this.#store?.remove(name);
        this.#session = null;
        this.#secret = null;
        globalThis.removeEventListener?.('pagehide', this.#pagehide);
        this.#sessionName = null;
        clearTimeout(this.#graceTimer);
        this.#stopPing();
        this.#endHistory();
        if (this.#state !== SS.IDLE) this.#moveSession(SS.IDLE);
        const lost = [...this.#held];
        const queued = [...this.#queued.keys()];
        this.#held.clear();
        this.#queued.clear();
        this.#notOwned.clear();
        this.#unwantedGrants.settle();
        // Released on purpose, but whoever works under one of these locks must hear of it.
        for (const [lock, token] of lost) this.#emitLost({ lock, token, reason: LostReason.CLOSED });
        for (const lock of queued) this.#emit('cancelled', { lock, reason: 'session' });
        this.#requests.wakeAll();
        this.#requests.sessionChanged();
        entry.resolve();
        return;
      }
      case Action.UNLOCK:
      case Action.MUNLOCK:
        for (const name of entry.names) this.#held.delete(name);
        entry.resolve();
        return;
      case Action.CANCEL:
        this.#queued.delete(entry.names[0]);
        // Out of the queue: no GRANTED will come for the place (a late OK too, its call timed out).
        this.#unwantedGrants.settle(entry.names[0]);
        entry.resolve();
        return;
      case Action.LOCK:
        if (reply.status === Status.LOCKED) {
          this.#held.set(entry.names[0], reply.token);
          this.#releaseIfAbandoned(entry);
          entry.resolve({ status: Status.LOCKED, token: reply.token });
        } else if (reply.status === Status.QUEUED) {
          this.#queued.set(entry.names[0], entry.id); // the latest that queued, as the server's GRANTED and CANCELLED name
          this.#cancelIfAbandoned(entry);
          const queued = { status: Status.QUEUED, position: reply.position };
          if (reply.holder !== undefined) queued.holder = reply.holder;
          queued.request = entry.id;
          entry.resolve(queued);
        } else {
          entry.resolve(reply.holder === undefined ? { status: Status.WAIT } : { status: Status.WAIT, holder: reply.holder });
        }
        return;
      case Action.MLOCK:
        if (reply.status === Status.LOCKED) {
          const tokens = { ...reply.tokens };
          for (const name of entry.names) this.#held.set(name, tokens[name]);
          this.#releaseIfAbandoned(entry);
          entry.resolve({ status: Status.LOCKED, tokens });
        } else {
          entry.resolve(reply.holders === undefined ? { status: Status.WAIT } : { status: Status.WAIT, holders: { ...reply.holders } });
        }
        return;
    }
  }

  /**
   * A lock or lockAll that already rejected with TIMEOUT was granted after all. Its caller
   * gave up, so release it, unless a later request for one of these names is in flight:
   * then someone asked again and counts on the grant. An unlock cut by a drop: forgotten, so
   * that a resume that lists the locks unlocks them again.
   */
  #releaseIfAbandoned(entry) {
    if (!entry.expired || this.#pending.hasLaterRequestFor(entry)) return;
    const release = entry.action === Action.LOCK ? this.#unguarded(this.unlock, entry.names[0]) : this.#unguarded(this.unlockAll, entry.names);
    // Registered as unlocking, as #releaseUnwanted does: the client, not the application, holds these now.
    this.#unlockingUntil(entry.names, release.catch((error) => {
      if (isConnectionLoss(error)) for (const name of entry.names) this.#held.delete(name);
      else this.#emit('error', { error });
    }));
  }

  /**
   * The same for a `lock` with `wait` that already rejected with TIMEOUT and was queued after
   * all: leave the queue, and release the grant should it cross the `cancel`.
   */
  #cancelIfAbandoned(entry) {
    if (!entry.expired || this.#pending.hasLaterRequestFor(entry)) return;
    const [name] = entry.names;
    const unwanted = this.#unwantedGrants.mark(entry.id, name, () => this.#requests.wants(name));
    this.#unguarded(this.cancel, name).then(unwanted.forget, (error) => {
      if (!(error instanceof DistLockError && (error.code === FailCode.NOT_QUEUED || isConnectionLoss(error)))) {
        this.#emit('error', { error });
      }
    });
  }

  // ---------------------------------------------------------------- version 2: grants

  /**
   * A `GRANTED` push: the session holds the lock from now on. If nobody wants the grant any
   * more (see {@link UnwantedGrants}) it is unlocked at once; otherwise (a request() that
   * asked for the lock wants it again) a request() waiting in the queue gets it. Either way
   * the `granted` event tells it.
   */
  #onGranted(message, resumed) {
    const lock = pushedLock(message);
    const { token } = message;
    const mode = message.mode ?? Mode.EXCLUSIVE;
    const held = this.#held.get(lock);
    // Told already (a missed push the resume OK listed, and held since: unless it is that OK's
    // grant being told), or granted and lost while detached (the OK did not list it: say, a
    // place whose `lock` got no reply before the drop).
    if ((held === token && !resumed) || this.#history?.listed.has(lock) === false) return;
    const live = this.#queued.get(lock);
    const request = message.request ?? live;
    this.#queued.delete(lock);
    if (held === undefined || held < token) {
      this.#held.set(lock, token);
    }
    const unwanted = this.#unwantedGrants.take(message.request, lock, live);
    const detail = { lock, token, mode };
    if (request !== undefined) detail.request = request;
    this.#emit('granted', detail);
    if (unwanted === undefined || this.#releaseUnwanted(lock, token, unwanted)) this.#requests.granted(lock, detail);
  }

  /**
   * Unlocks an unwanted grant, unless the lock is wanted again (then true) or no longer held
   * under its token. A keep() that waits for a reply calls it again once that comes. While the
   * unlock is out it is not held for request(), and a request(), lock() or lockAll() of that name
   * asks once that unlock is answered: asked sooner, its answer could come before the unlock's
   * `LOST` (a server places a push behind the replies it owes), which would then seem to end the
   * new grant.
   */
  #releaseUnwanted(lock, token, unwanted) {
    const kept = unwanted.keep(() => this.#releaseUnwanted(lock, token, unwanted));
    if (kept || this.#held.get(lock) !== token) {
      unwanted.settle();
      return kept;
    }
    this.#unlockingUntil([lock], this.#unguarded(this.unlock, lock).catch((error) => {
      // Not held, or cut by a drop: forgotten, so that a resume that lists it unlocks it again.
      if ([FailCode.NOT_OWNER, ClientCode.DISCONNECTED, ClientCode.NOT_CONNECTED].includes(error?.code)) this.#held.delete(lock);
      else this.#emit('error', { error });
    })).finally(unwanted.settle);
  }

  /**
   * Registers the client's own unlock of `names` in #unlocking until `release` (which never
   * rejects) settles; returns its end.
   */
  #unlockingUntil(names, release) {
    const end = release.finally(() => {
      for (const name of names) if (this.#unlocking.get(name) === end) this.#unlocking.delete(name);
    });
    for (const name of names) this.#unlocking.set(name, end);
    return end;
  }

  /**
   * The end of the unlocks of grants nobody wants among `names` (see #releaseUnwanted), or
   * undefined if none is out: then a lock goes out at once, in the caller's tick.
   */
  #unlockingOf(names) {
    const out = names.map((name) => this.#unlocking.get(name)).filter((end) => end !== undefined);
    return out.length > 0 ? Promise.all(out) : undefined;
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** `detail` with the push's `by` (who stole or asks), when the server names them. */
function withBy(detail, message) {
  if (typeof message.by === 'string') detail.by = message.by;
  return detail;
}

function throwUnlessConnectionLoss(error) {
  if (!isConnectionLoss(error)) throw error;
}

function requireStrings(names) {
  if (!isNameList(names)) {
    throw new TypeError('names must be an array of strings');
  }
}

export { DistLockClient, DistLockError };
