// Over 400 lines on purpose: about half of it is the public API's documentation, which
// belongs next to the methods it documents. The logic lives in the modules imported here.
import { Action, ClientCode, FailCode, LostReason, REPLY_STATUSES, Status, describeClose, pushedLock } from './protocol.js';
import { DistLockError } from './errors.js';
import { reconnectSettings } from './backoff.js';
import { Connection } from './connection.js';
import { PendingRequests } from './pending.js';
import { LockRequests } from './request.js';

/**
 * A client for one distlock server URL. Create it, `connect(name)`, then `lock()` /
 * `unlock()` or the higher-level `request()`.
 *
 * Events (`CustomEvent`s; or use {@link DistLockClient#on}):
 * - `open` `{reconnected}`: the WebSocket opened.
 * - `session` `{session, name, reconnected}`: a session was opened, by `connect()` or
 *   automatically after a reconnect.
 * - `close` `{code, reason, wasClean, willReconnect, delayMs}`: the WebSocket closed.
 * - `retry` `{lock}`: a lock this session got `WAIT` for became free; ask again.
 * - `lost` `{lock, token, reason}`: a lock this client held is gone without having been
 *   unlocked: the server pushed `LOST` (reason `LOST`) or the connection closed
 *   (reason `DISCONNECTED`).
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

  /** The open session `{session, name}`, or null. */
  #session = null;
  /** The session name to reopen after a reconnect: set by connect(), cleared by close() and disconnect(). */
  #sessionName = null;
  /** The automatic `connect` after a reconnect, while it is in flight. */
  #autoConnecting = null;
  #connectsInFlight = 0;
  /** Locks this session holds, name to fencing token, as told by the server's replies and pushes. */
  #held = new Map();

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
      lock: (name) => this.lock(name),
      unlock: (name) => this.unlock(name),
      heldToken: (name) => this.#held.get(name),
      hasSession: () => this.#hasSession(),
      sessionExpected: () => this.#sessionExpected(),
      closes: () => this.#connection.closes,
      reportError: (error) => this.#emit('error', { error }),
    });
  }

  /** The open session `{session, name}`, or null. */
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
   * @param {string} type `open`, `session`, `close`, `retry`, `lost` or `error`
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
   * Calling it again with the name of the open session returns that session (the protocol
   * would answer `ALREADY_CONNECTED`); with another name it rejects with `ALREADY_CONNECTED`.
   *
   * @param {string} sessionName
   * @returns {Promise<{session: string, name: string}>}
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
      const reply = await this.#send(Action.CONNECT, { param: sessionName }, { sessionName });
      return { session: reply.session, name: sessionName };
    } finally {
      this.#connectsInFlight--;
      this.#requests.sessionChanged();
    }
  }

  /**
   * Asks for a lock, without waiting for it.
   *
   * @param {string} name the lock name
   * @returns {Promise<{status: 'LOCKED', token: number} | {status: 'WAIT', holder?: string}>}
   *   `WAIT` registers this session for one `retry` event for the lock. `holder` is the
   *   holding session's name unless the server hides it.
   */
  async lock(name) {
    requireString(name, 'lock name');
    return this.#send(Action.LOCK, { param: name }, { names: [name] });
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
   * Asks for several locks, all or nothing.
   *
   * @param {string[]} names the lock names
   * @returns {Promise<{status: 'LOCKED', tokens: Record<string, number>} | {status: 'WAIT', holders?: Record<string, string>}>}
   *   `WAIT` takes none of them and registers this session for one `retry` event for each
   *   lock held by another session.
   */
  async lockAll(names) {
    requireStrings(names);
    return this.#send(Action.MLOCK, { params: [...names] }, { names: [...names] });
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
   * - Waits with `WAIT` and the `retry` push (asking again after each `retry`, since another
   *   session may win), also across reconnects: a waiter holds nothing, so after a reconnect
   *   it simply asks the new session.
   * - Calls in this client for the same name queue locally, first come first served: they
   *   share one session, and the server would grant the same session the lock twice.
   * - `ifAvailable: true`: if the lock is taken (here or elsewhere), calls `callback(null)`
   *   instead of waiting.
   * - `signal`: aborting it while waiting rejects with the signal's reason and stops waiting;
   *   once the callback runs, the signal no longer matters.
   * - The lock is released when the callback's promise settles; the call resolves or
   *   rejects like the callback. If the lock was `lost` meanwhile (or the connection
   *   dropped), the callback still runs to completion but no unlock is sent: the lock is
   *   not this session's any more. Watch the `lost` event to stop work early.
   *
   * @template T
   * @param {string} name the lock name
   * @param {{signal?: AbortSignal, ifAvailable?: boolean, mode?: 'exclusive'} | ((lock: {name: string, token: number} | null) => T | PromiseLike<T>)} optionsOrCallback
   * @param {(lock: {name: string, token: number} | null) => T | PromiseLike<T>} [maybeCallback]
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

  #sessionOpened(session, name, reconnected) {
    this.#session = { session, name };
    this.#sessionName = name;
    this.#connection.resetBackoff();
    this.#emit('session', { session, name, reconnected });
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
    this.#autoConnecting = this.#send(Action.CONNECT, { param: name }, { sessionName: name, reconnected: true })
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
      this.#emit('lost', { lock, token, reason: LostReason.LOST });
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
        this.#sessionOpened(reply.session, entry.meta.sessionName, entry.meta.reconnected === true);
        entry.resolve(reply);
        return;
      case Action.CLOSE:
        this.#session = null;
        this.#sessionName = null;
        this.#held.clear(); // released on purpose: no `lost`
        this.#requests.wakeAll();
        this.#requests.sessionChanged();
        entry.resolve();
        return;
      case Action.UNLOCK:
      case Action.MUNLOCK:
        for (const name of entry.names) this.#held.delete(name);
        entry.resolve();
        return;
      case Action.LOCK:
        if (reply.status === Status.LOCKED) {
          this.#held.set(entry.names[0], reply.token);
          this.#releaseIfAbandoned(entry);
          entry.resolve({ status: Status.LOCKED, token: reply.token });
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
