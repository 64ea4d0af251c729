// Some 600 lines on purpose: about half of it is the public API's documentation, which
// belongs next to the methods it documents. The logic lives in the modules imported here;
// what stays is the session: what it holds, the replies and pushes that change that.
import {
  Action, ClientCode, FailCode, LostReason, Mode, PROTOCOL_VERSION, REPLY_STATUSES, Status,
  describeClose, isNameList, negotiatedVersion, pushedLock, requireString,
} from './protocol.js';
import { DistLockError, isConnectionLoss } from './errors.js';
import { lockFields, notSupported } from './lock-options.js';
import { UnwantedGrants } from './unwanted-grants.js';
import { delay, reconnectSettings } from './backoff.js';
import { Connection } from './connection.js';
import { PendingRequests } from './pending.js';
import { LockRequests } from './request.js';
import { sessionStore } from './session-store.js';
import { Watches, watchFields } from './watches.js';

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
export const SessionState = Object.freeze({
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
export class DistLockClient extends EventTarget {
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
    } else if (this.#state === SS.SUSPENDED && willReconnect) {
      // a reconnect attempt failed: still suspended, while the grace period lasts
    } else if (this.#session !== null) {
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
