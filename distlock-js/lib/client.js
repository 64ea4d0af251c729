// Some 600 lines on purpose: about half of it is the public API's documentation, which
// belongs next to the methods it documents. The logic lives in the modules imported here;
// what stays is the session: what it holds, the replies and pushes that change that.
import {
  Action, ClientCode, FailCode, LostReason, Mode, PROTOCOL_VERSION, REPLY_STATUSES, Status,
  describeClose, negotiatedVersion, pushedLock,
} from './protocol.js';
import { DistLockError, isConnectionLoss } from './errors.js';
import { lockFields, notSupported } from './lock-options.js';
import { UnwantedGrants } from './unwanted-grants.js';
import { reconnectSettings } from './backoff.js';
import { Connection } from './connection.js';
import { PendingRequests } from './pending.js';
import { LockRequests } from './request.js';

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
 * - `lost` `{lock, token, reason, cause?}`: a lock this client held is gone without having
 *   been unlocked: the server pushed `LOST` (reason `LOST`; from a version 2 server `cause`
 *   says why: `lease`, `taken`, `stolen`) or the connection closed (reason `DISCONNECTED`).
 * - `error` `{error}`: something went wrong that no call is waiting for (an unreadable
 *   frame, a session that could not be reopened after a reconnect).
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

  /** The open session `{session, name, version}`, or null. */
  #session = null;
  /** The session name to reopen after a reconnect: set by connect(), cleared by close() and disconnect(). */
  #sessionName = null;
  /** The automatic `connect` after a reconnect, while it is in flight. */
  #autoConnecting = null;
  #connectsInFlight = 0;
  /** Locks this session holds, name to fencing token, as told by the server's replies and pushes. */
  #held = new Map();
  /** Queued requests nobody waits for any more: a `GRANTED` for one is unlocked. */
  #unwantedGrants = new UnwantedGrants();

  /**
   * @param {string | URL} url the server's WebSocket endpoint, e.g. `wss://example.com/distlock/lock`
   * @param {object} [options]
   * @param {new (url: string) => any} [options.WebSocket] the WebSocket class; defaults to `globalThis.WebSocket`
   * @param {number} [options.requestTimeoutMs=10000] how long a call waits for its reply (and the socket for opening)
   * @param {boolean | {initialDelayMs?: number, maxDelayMs?: number}} [options.reconnect=true]
   *   reconnect after an unexpected drop, with exponential backoff and jitter
   */
  constructor(url, options = {}) {
    super();
    if (typeof url !== 'string' && !(url instanceof URL)) {
      throw new TypeError('url must be a string or a URL');
    }
    const { WebSocket = globalThis.WebSocket, requestTimeoutMs = 10_000, reconnect = true } = options;
    if (typeof WebSocket !== 'function') {
      throw new TypeError('no WebSocket class: pass one as options.WebSocket (in Node, e.g. the "ws" package)');
    }
    if (!Number.isFinite(requestTimeoutMs) || requestTimeoutMs <= 0) {
      throw new RangeError(`requestTimeoutMs must be a positive number, was ${requestTimeoutMs}`);
    }
    this.#connection = new Connection({
      url: String(url),
      WebSocket,
      openTimeoutMs: requestTimeoutMs,
      backoff: reconnectSettings(reconnect),
      listener: {
        opened: (reconnected) => this.#onOpened(reconnected),
        message: (data) => this.#onMessage(data),
        closed: (detail) => this.#onClosed(detail),
      },
    });
    this.#pending = new PendingRequests(requestTimeoutMs);
    this.#requests = new LockRequests({
      // Through the public methods, so that a subclass that watches them sees request()'s calls too.
      lock: (name, lockOptions) => (lockOptions === undefined ? this.lock(name) : this.lock(name, lockOptions)),
      unlock: (name) => this.unlock(name),
      cancel: (name) => this.cancel(name),
      version: () => this.#session?.version,
      unwantedGrant: (requestId, name, keep) => this.#unwantedGrants.mark(requestId, name, keep),
      requestTimeoutMs: requestTimeoutMs,
      heldToken: (name) => this.#held.get(name),
      hasSession: () => this.#hasSession(),
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
    return this.#session === null ? null : { ...this.#session };
  }

  /** A snapshot of the locks this session holds: lock name to fencing token. */
  get heldLocks() {
    return new Map(this.#held);
  }

  /**
   * Subscribes to an event; the listener gets the event's `detail` (and the event).
   *
   * @param {string} type `open`, `session`, `close`, `retry`, `granted`, `cancelled`, `lost` or `error`
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
   * would answer `ALREADY_CONNECTED`); with another name it rejects with `ALREADY_CONNECTED`.
   *
   * @param {string} sessionName
   * @returns {Promise<{session: string, name: string, version: 1 | 2}>}
   */
  async connect(sessionName) {
    requireString(sessionName, 'sessionName');
    this.#connectsInFlight++;
    try {
      await this.#connection.open();
      if (this.#autoConnecting !== null) {
        // A reconnect is reopening the session right now: don't race it with a second connect.
        await this.#autoConnecting;
      }
      if (this.#session !== null && this.#session.name === sessionName) {
        return { ...this.#session };
      }
      const reply = await this.#send(Action.CONNECT, { param: sessionName, version: PROTOCOL_VERSION }, { sessionName });
      return { session: reply.session, name: sessionName, version: negotiatedVersion(reply) };
    } finally {
      this.#connectsInFlight--;
      this.#requests.sessionChanged();
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
   *
   * @param {string} name the lock name
   * @param {{mode?: 'exclusive' | 'shared', wait?: boolean, timeout?: number}} [options]
   * @returns {Promise<{status: 'LOCKED', token: number} | {status: 'WAIT', holder?: string}
   *   | {status: 'QUEUED', position: number, holder?: string, request: number}>}
   *   `WAIT` registers this session for one `retry` event for the lock. `holder` is the
   *   holding session's name unless the server hides it. `position` is 1 for "next".
   */
  async lock(name, options = {}) {
    requireString(name, 'lock name');
    const fields = lockFields(options, { queue: true, version: this.#session?.version });
    return this.#send(Action.LOCK, { param: name, ...fields }, { names: [name] });
  }

  /**
   * Leaves the queue of a lock this session queued for (version 2). Rejects with
   * `NOT_QUEUED` if it is not queued for it: then a `granted` (or `cancelled`) event is on
   * its way or came already, and a grant must be unlocked like any other.
   *
   * @param {string} name the lock name
   * @returns {Promise<void>}
   */
  async cancel(name) {
    requireString(name, 'lock name');
    if (this.#session?.version === 1) {
      throw notSupported('cancel');
    }
    await this.#send(Action.CANCEL, { param: name }, { names: [name] });
  }

  /**
   * Releases a lock this session holds. Rejects with `NOT_OWNER` if it does not hold it.
   *
   * @param {string} name the lock name
   * @returns {Promise<void>}
   */
  async unlock(name) {
    requireString(name, 'lock name');
    await this.#send(Action.UNLOCK, { param: name }, { names: [name] });
  }

  /**
   * Asks for several locks, all or nothing. Never queues.
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
    const fields = lockFields(options, { queue: false, version: this.#session?.version });
    return this.#send(Action.MLOCK, { params: [...names], ...fields }, { names: [...names] });
  }

  /**
   * Releases several locks, all or nothing: if this session does not hold one of them,
   * rejects with `NOT_OWNER` and releases none.
   *
   * @param {string[]} names the lock names
   * @returns {Promise<void>}
   */
  async unlockAll(names) {
    requireStrings(names);
    await this.#send(Action.MUNLOCK, { params: [...names] }, { names: [...names] });
  }

  /**
   * Closes the session: the server releases all its locks (waiters elsewhere get `retry`).
   * The WebSocket stays open, so `connect()` may open a new session. No `lost` events: the
   * locks were released on purpose.
   *
   * @returns {Promise<void>}
   */
  async close() {
    const name = this.#session?.name ?? this.#sessionName;
    await this.#send(Action.CLOSE, name === null ? {} : { param: name }, {});
  }

  /**
   * Closes the WebSocket and does not reconnect. Pending calls reject with `DISCONNECTED`,
   * held locks are reported `lost` (the server releases them when the socket closes).
   * Resolves when the socket has closed (or after `requestTimeoutMs` if it never says so).
   *
   * @returns {Promise<void>}
   */
  disconnect() {
    this.#sessionName = null;
    const closed = this.#connection.close();
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
   * - The lock is released when the callback's promise settles; the call resolves or
   *   rejects like the callback. If the lock was `lost` meanwhile (or the connection
   *   dropped), the callback still runs to completion but no unlock is sent: the lock is
   *   not this session's any more. Watch the `lost` event to stop work early.
   *
   * @template T
   * @param {string} name the lock name
   * @param {{signal?: AbortSignal, ifAvailable?: boolean, mode?: 'exclusive' | 'shared', timeout?: number}
   *   | ((lock: {name: string, mode: string, token: number} | null) => T | PromiseLike<T>)} optionsOrCallback
   * @param {(lock: {name: string, mode: string, token: number} | null) => T | PromiseLike<T>} [maybeCallback]
   * @returns {Promise<T>}
   */
  async request(name, optionsOrCallback, maybeCallback) {
    return this.#requests.request(name, optionsOrCallback, maybeCallback);
  }

  // ---------------------------------------------------------------- the session

  #hasSession() {
    return this.#session !== null && this.#connection.isOpen;
  }

  /** Whether a session is on its way: a connect() in flight, or a reconnect that will reopen one. */
  #sessionExpected() {
    return this.#connectsInFlight > 0
      || this.#autoConnecting !== null
      || (this.#connection.reconnecting && this.#sessionName !== null);
  }

  #sessionOpened(session, name, version, reconnected) {
    this.#session = { session, name, version };
    this.#sessionName = name;
    this.#connection.resetBackoff();
    this.#emit('session', { session, name, version, reconnected });
    this.#requests.sessionChanged();
  }

  /** The socket opened. After a reconnect, the session is reopened (unless connect() is doing it). */
  #onOpened(reconnected) {
    if (reconnected) {
      if (this.#sessionName !== null && this.#connectsInFlight === 0) {
        this.#autoConnect(this.#sessionName);
      } else if (this.#sessionName === null) {
        this.#connection.resetBackoff();
      }
    }
    this.#emit('open', { reconnected });
  }

  /**
   * Reopens a session with the old name after a reconnect. It is a *new* session: the
   * old one's locks were released when its socket closed, and nothing is replayed.
   */
  #autoConnect(name) {
    const ws = this.#connection.current;
    this.#autoConnecting = this.#send(Action.CONNECT, { param: name, version: PROTOCOL_VERSION }, { sessionName: name, reconnected: true })
      .then(() => {}, (error) => {
        if (ws !== this.#connection.current) return; // already gone; its close scheduled the next attempt
        this.#emit('error', { error: new DistLockError(error.code ?? ClientCode.FAIL, `could not reopen session "${name}" after reconnecting: ${error.message}`, { cause: error }) });
        // A socket without the session the application expects helps nobody: try again later.
        this.#connection.abandon(4000, 'session could not be reopened');
      })
      .finally(() => {
        this.#autoConnecting = null;
        this.#requests.sessionChanged();
      });
  }

  /** The socket is gone: rejects what was pending and reports held locks lost. */
  #onClosed({ code, reason, wasClean, willReconnect, delayMs }) {
    this.#session = null;
    const detail = describeClose(code, reason);
    this.#pending.rejectAll((entry) => new DistLockError(ClientCode.DISCONNECTED,
      `the connection closed (${detail}) before the reply to ${entry.action}`));
    this.#unwantedGrants.settle(); // the session, its queue places and grants are gone
    const lost = [...this.#held];
    this.#held.clear();
    for (const [lock, token] of lost) {
      this.#emit('lost', { lock, token, reason: LostReason.DISCONNECTED });
    }
    this.#emit('close', willReconnect
      ? { code, reason, wasClean, willReconnect, delayMs }
      : { code, reason, wasClean, willReconnect });
    this.#requests.wakeAll();
    this.#requests.sessionChanged();
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
    if (message.status === Status.RETRY) {
      const lock = pushedLock(message);
      this.#requests.retry(lock);
      this.#emit('retry', { lock });
      return;
    }
    if (message.status === Status.LOST) {
      const lock = pushedLock(message);
      const token = this.#held.get(lock);
      this.#held.delete(lock);
      const detail = { lock, token, reason: LostReason.LOST };
      if (typeof message.reason === 'string') detail.cause = message.reason; // version 2
      if (typeof message.by === 'string') detail.by = message.by;
      this.#emit('lost', detail);
      return;
    }
    if (message.status === Status.GRANTED) {
      this.#onGranted(message);
      return;
    }
    if (message.status === Status.CANCELLED) {
      const lock = pushedLock(message);
      const reason = typeof message.reason === 'string' ? message.reason : 'backend';
      if (!this.#unwantedGrants.settle(lock)) {
        this.#requests.cancelled(lock, reason, message);
      }
      this.#emit('cancelled', { lock, reason });
      return;
    }
    // Only replies to our requests carry our id. Anything else is a push this client does
    // not know yet (a later protocol version): ignoring it keeps replies matched correctly.
    const entry = this.#pending.take(message.id);
    if (entry !== undefined) {
      this.#onReply(entry, message);
    }
  }

  /**
   * Applies a reply to what the client knows (session, held locks) and settles its call.
   * Runs for late replies too (the call already rejected with TIMEOUT): the server did act.
   */
  #onReply(entry, reply) {
    if (reply.status === Status.FAIL) {
      if (reply.code === FailCode.NOT_OWNER && entry.action === Action.UNLOCK) {
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
        this.#sessionOpened(reply.session, entry.meta.sessionName, negotiatedVersion(reply), entry.meta.reconnected === true);
        entry.resolve(reply);
        return;
      case Action.CLOSE:
        this.#session = null;
        this.#sessionName = null;
        this.#held.clear(); // released on purpose: no `lost`
        this.#unwantedGrants.settle();
        this.#requests.wakeAll();
        this.#requests.sessionChanged();
        entry.resolve();
        return;
      case Action.UNLOCK:
      case Action.MUNLOCK:
        for (const name of entry.names) this.#held.delete(name);
        entry.resolve();
        return;
      case Action.CANCEL:
        entry.resolve();
        return;
      case Action.LOCK:
        if (reply.status === Status.LOCKED) {
          this.#held.set(entry.names[0], reply.token);
          this.#releaseIfAbandoned(entry);
          entry.resolve({ status: Status.LOCKED, token: reply.token });
        } else if (reply.status === Status.QUEUED) {
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
   * then someone asked again and counts on the grant.
   */
  #releaseIfAbandoned(entry) {
    if (!entry.expired || this.#pending.hasLaterRequestFor(entry)) return;
    const release = entry.action === Action.LOCK ? this.unlock(entry.names[0]) : this.unlockAll(entry.names);
    release.catch((error) => this.#emit('error', { error }));
  }

  /**
   * The same for a `lock` with `wait` that already rejected with TIMEOUT and was queued after
   * all: leave the queue, and release the grant should it cross the `cancel`.
   */
  #cancelIfAbandoned(entry) {
    if (!entry.expired || this.#pending.hasLaterRequestFor(entry)) return;
    const [name] = entry.names;
    const unwanted = this.#unwantedGrants.mark(entry.id, name, () => this.#requests.wants(name));
    this.cancel(name).then(unwanted.forget, (error) => {
      if (!(error instanceof DistLockError && (error.code === FailCode.NOT_QUEUED || isConnectionLoss(error)))) {
        this.#emit('error', { error });
      }
    });
  }

  // ---------------------------------------------------------------- version 2: grants

  /**
   * A `GRANTED` push: the session holds the lock from now on. If nobody wants the grant any
   * more (see {@link UnwantedGrants}) it is unlocked at once; otherwise a
   * request() waiting in the queue gets it. Either way the `granted` event tells it.
   */
  #onGranted(message) {
    const lock = pushedLock(message);
    const { token } = message;
    const mode = message.mode ?? Mode.EXCLUSIVE;
    const held = this.#held.get(lock);
    if (held === undefined || held < token) {
      this.#held.set(lock, token);
    }
    const unwanted = this.#unwantedGrants.take(message.request, lock);
    const detail = { lock, token, mode };
    if (message.request !== undefined) detail.request = message.request;
    if (unwanted !== undefined) {
      this.#emit('granted', detail);
      this.#releaseUnwanted(lock, token, unwanted);
      return;
    }
    this.#requests.granted(lock, detail);
    this.#emit('granted', detail);
  }

  /** Unlocks an unwanted grant, unless the lock is wanted again or no longer held under its token. */
  #releaseUnwanted(lock, token, unwanted) {
    if (unwanted.keep() || this.#held.get(lock) !== token) {
      unwanted.settle();
      return;
    }
    this.unlock(lock).catch((error) => {
      const gone = [FailCode.NOT_OWNER, ClientCode.DISCONNECTED, ClientCode.NOT_CONNECTED];
      if (!(error instanceof DistLockError && gone.includes(error.code))) {
        this.#emit('error', { error });
      }
    }).finally(unwanted.settle);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

function requireString(value, what) {
  if (typeof value !== 'string') {
    throw new TypeError(`${what} must be a string, was ${typeof value}`);
  }
}

function requireStrings(names) {
  if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) {
    throw new TypeError('names must be an array of strings');
  }
}
