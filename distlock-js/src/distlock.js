/**
 * distlock JavaScript client: named, exclusive locks shared by every browser (and server)
 * connected to a distlock server, over one WebSocket.
 *
 * The wire protocol (version 1) is the contract; this file only speaks it. Three facts of
 * that protocol shape everything below:
 *
 * - A lock is owned by a *session*, and a session lives exactly as long as its WebSocket.
 *   When the socket drops, the server releases every lock of the session. So this client
 *   never queues commands while disconnected and never replays them after a reconnect:
 *   it rejects what was pending, reports every held lock as `lost`, opens a new session
 *   and lets the application decide what to lock again.
 * - `lock` never blocks: the answer is `LOCKED` or `WAIT`, and after `WAIT` the server pushes
 *   one `RETRY` when the lock becomes free. `request()` turns that into "wait, run, release".
 * - Replies carry the `id` of their request; pushes (`RETRY`, `LOST`) carry none.
 *
 * Fencing tokens are JSON numbers. The reference server issues tokens around 1.7e15
 * (microseconds), well below 2^53, so they are exact as plain JavaScript numbers.
 *
 * No runtime dependencies: it needs `WebSocket`, `EventTarget`, `CustomEvent`, `Promise` and
 * `DOMException`, which every current browser and Node 20+ have (Node gets its `WebSocket`
 * injected, e.g. from the `ws` package, until its global one is available).
 *
 * @module distlock
 */

/** `WebSocket.OPEN`, spelled out because an injected WebSocket class may not define it. */
const OPEN = 1;

/** Default reconnect backoff: first attempt after 0.25-0.5 s, never more than 30 s apart. */
const DEFAULT_RECONNECT = Object.freeze({ initialDelayMs: 500, maxDelayMs: 30_000 });

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
 */
export class DistLockClient extends EventTarget {
  /** @type {string} */ #url;
  /** @type {new (url: string) => any} */ #WebSocket;
  /** @type {number} */ #requestTimeoutMs;
  /** @type {false | {initialDelayMs: number, maxDelayMs: number}} */ #reconnect;

  /** The current connection (see {@link #openSocket}), or null when there is no socket. */
  #conn = null;
  #nextId = 1;
  /**
   * Requests sent on the current connection and not answered yet, by id, in send order.
   * Entries stay here after they time out (marked `expired`) so that a late reply still
   * updates what we know the session holds.
   */
  #inflight = new Map();

  /** The open session `{session, name}`, or null. */
  #session = null;
  /** The session name to reopen after a reconnect: set by connect(), cleared by close() and disconnect(). */
  #sessionName = null;
  /** The automatic `connect` after a reconnect, while it is in flight. */
  #autoConnecting = null;
  #connectsInFlight = 0;

  /** Locks this session holds, name to fencing token, as told by the server's replies and pushes. */
  #held = new Map();

  #disconnectRequested = false;
  /** How many connections closed (dropped or disconnect()); tells request() waiters why they stopped. */
  #drops = 0;
  /** True from an unexpected drop until a socket opens again. */
  #reconnecting = false;
  #reconnectAttempt = 0;
  #reconnectTimer = null;

  /** Wake-up functions of request() calls waiting for a RETRY, by lock name. */
  #retryWatchers = new Map();
  /** request() calls waiting for a session (during connect() or a reconnect). */
  #sessionWaiters = new Set();
  /**
   * Local FIFO of request() calls per lock name. All of them share this client's single
   * session, and the server answers LOCKED to a session that already holds the lock, so
   * without this queue two request() callbacks could run at once. The Web Locks API queues
   * the same way within one origin.
   */
  #queues = new Map();

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
    this.#url = String(url);
    this.#WebSocket = WebSocket;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#reconnect = reconnectSettings(reconnect);
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
    this.#disconnectRequested = false;
    this.#connectsInFlight++;
    try {
      await this.#ensureOpen();
      if (this.#autoConnecting !== null) {
        // A reconnect is reopening the session right now: don't race it with a second connect.
        await this.#autoConnecting;
      }
      if (this.#session !== null && this.#session.name === sessionName) {
        return { ...this.#session };
      }
      const reply = await this.#send('connect', { param: sessionName }, { sessionName });
      return { session: reply.session, name: sessionName };
    } finally {
      this.#connectsInFlight--;
      this.#settleSessionWaiters();
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
    return this.#send('lock', { param: name }, { names: [name] });
  }

  /**
   * Releases a lock this session holds. Rejects with `NOT_OWNER` if it does not hold it.
   *
   * @param {string} name the lock name
   * @returns {Promise<void>}
   */
  async unlock(name) {
    requireString(name, 'lock name');
    await this.#send('unlock', { param: name }, { names: [name] });
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
    return this.#send('mlock', { params: [...names] }, { names: [...names] });
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
    await this.#send('munlock', { params: [...names] }, { names: [...names] });
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
    await this.#send('close', name === null ? {} : { param: name }, {});
  }

  /**
   * Closes the WebSocket and does not reconnect. Pending calls reject with `DISCONNECTED`,
   * held locks are reported `lost` (the server releases them when the socket closes).
   * Resolves when the socket has closed (or after `requestTimeoutMs` if it never says so).
   *
   * @returns {Promise<void>}
   */
  disconnect() {
    this.#disconnectRequested = true;
    this.#sessionName = null;
    this.#cancelReconnect();
    const conn = this.#conn;
    if (conn === null) {
      this.#settleSessionWaiters();
      return Promise.resolve();
    }
    let fallback;
    const closed = new Promise((resolve) => {
      conn.onClosed = resolve;
      fallback = setTimeout(resolve, this.#requestTimeoutMs);
    }).finally(() => clearTimeout(fallback));
    this.#teardown(conn, { code: 1000, reason: 'disconnect()', wasClean: true });
    try {
      conn.ws.close(1000, 'client disconnect');
    } catch {
      conn.onClosed();
    }
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
    const [options, callback] = typeof optionsOrCallback === 'function'
      ? [{}, optionsOrCallback]
      : [optionsOrCallback ?? {}, maybeCallback];
    requireString(name, 'lock name');
    if (typeof callback !== 'function') {
      throw new TypeError('request(name, [options], callback): callback must be a function');
    }
    const { signal, ifAvailable = false, mode = 'exclusive', steal = false } = options;
    if (mode !== 'exclusive') {
      throw new DOMException(`mode "${mode}" is not supported: distlock locks are exclusive`, 'NotSupportedError');
    }
    if (steal) {
      throw new DOMException('steal is not supported: a distlock lock cannot be taken from its holder', 'NotSupportedError');
    }
    if (signal?.aborted) {
      throw abortReason(signal);
    }
    if (ifAvailable && this.#queues.has(name)) {
      // Held or awaited by another request() of this client: not available, as in Web Locks.
      return callback(null);
    }

    const slot = this.#enqueue(name);
    const attempt = newAttempt();
    const token = await untilAborted(this.#acquire(name, slot, attempt, ifAvailable), signal, attempt.cancel);
    if (token === null) {
      return callback(null);
    }

    let outcome;
    try {
      outcome = { value: await callback(Object.freeze({ name, token })) };
    } catch (error) {
      outcome = { error };
    }
    let releaseError = null;
    try {
      await this.#releaseAfterCallback(name, token);
    } catch (error) {
      releaseError = error;
    } finally {
      slot.release();
    }
    if ('error' in outcome) {
      throw outcome.error; // the callback's failure is what the caller needs to see
    }
    if (releaseError !== null) {
      throw releaseError;
    }
    return outcome.value;
  }

  // ---------------------------------------------------------------- request() internals

  /**
   * Takes the lock for request(): resolves with the token, or null for `ifAvailable` when
   * the lock is taken. Releases the slot itself unless it resolves with a token (then the
   * caller releases it after the callback).
   */
  async #acquire(name, slot, attempt, ifAvailable) {
    // A waiter whose connection dropped (and that no reconnect will serve) was pending when
    // the connection was lost: DISCONNECTED. Otherwise there just is no session: NOT_CONNECTED.
    const dropsAtStart = this.#drops;
    try {
      await interruptible(attempt, slot.turn);
      for (;;) {
        if (attempt.cancelled) throw attempt.reason;
        await this.#untilSession(attempt, this.#drops === dropsAtStart ? 'NOT_CONNECTED' : 'DISCONNECTED');
        if (attempt.cancelled) throw attempt.reason;

        // Watch for RETRY before asking: with some WebSocket implementations the push can
        // be delivered right behind the WAIT reply, before our continuation runs.
        const retry = this.#watchRetry(name);
        let reply;
        try {
          reply = await this.lock(name);
        } catch (error) {
          retry.dispose();
          if (isConnectionLoss(error) && this.#sessionExpected()) {
            continue; // the session is gone and with it our turn in line: ask the next session
          }
          throw error;
        }
        if (reply.status === 'LOCKED') {
          retry.dispose();
          if (attempt.cancelled) {
            // Aborted while the request was in flight: nobody will use this lock.
            await this.#releaseAfterCallback(name, reply.token).catch((error) => this.#emit('error', { error }));
            throw attempt.reason;
          }
          return reply.token;
        }
        if (ifAvailable) {
          retry.dispose();
          slot.release();
          return null;
        }
        // WAIT: sleep until the RETRY push, a dropped connection, close(), or abort.
        await interruptible(attempt, retry.promise);
        retry.dispose();
      }
    } catch (error) {
      slot.release();
      throw error;
    }
  }

  /**
   * Unlocks after a request() callback, unless the lock is no longer this session's under
   * this token (lost, disconnected, closed, or unlocked by the application): unlocking then
   * would at best fail and at worst release a newer grant.
   */
  async #releaseAfterCallback(name, token) {
    if (this.#held.get(name) !== token) {
      return;
    }
    try {
      await this.unlock(name);
    } catch (error) {
      // These all mean the lock is not held any more, which is what we wanted.
      if (!(error instanceof DistLockError) || !['NOT_OWNER', 'DISCONNECTED', 'NOT_CONNECTED'].includes(error.code)) {
        throw error;
      }
    }
  }

  #enqueue(name) {
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

  /** Resolves when a RETRY for `name` arrives or the waiting is moot (connection gone, session closed). */
  #watchRetry(name) {
    let wake;
    const promise = new Promise((resolve) => { wake = resolve; });
    let watchers = this.#retryWatchers.get(name);
    if (watchers === undefined) {
      watchers = new Set();
      this.#retryWatchers.set(name, watchers);
    }
    watchers.add(wake);
    const dispose = () => {
      watchers.delete(wake);
      if (watchers.size === 0 && this.#retryWatchers.get(name) === watchers) {
        this.#retryWatchers.delete(name);
      }
    };
    return { promise, dispose };
  }

  #wakeRetryWatchers(name) {
    for (const wake of this.#retryWatchers.get(name) ?? []) wake();
  }

  #wakeAllRetryWatchers() {
    for (const watchers of this.#retryWatchers.values()) {
      for (const wake of watchers) wake();
    }
  }

  /**
   * Resolves when there is a session to ask (now, or after a connect() or reconnect in
   * progress); rejects with `NOT_CONNECTED` when none is coming.
   */
  async #untilSession(attempt, code) {
    if (this.#hasSession()) return;
    if (!this.#sessionExpected()) {
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

  #hasSession() {
    return this.#session !== null && this.#conn !== null && this.#conn.opened && this.#conn.ws.readyState === OPEN;
  }

  /** Whether a session is on its way: a connect() in flight, or a reconnect that will reopen one. */
  #sessionExpected() {
    return this.#connectsInFlight > 0
      || this.#autoConnecting !== null
      || (this.#reconnecting && this.#sessionName !== null && !this.#disconnectRequested);
  }

  #settleSessionWaiters() {
    if (this.#hasSession()) {
      for (const waiter of this.#sessionWaiters) waiter.resolve();
      this.#sessionWaiters.clear();
    } else if (!this.#sessionExpected()) {
      for (const waiter of this.#sessionWaiters) {
        waiter.reject(noSession(waiter.code));
      }
      this.#sessionWaiters.clear();
    }
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
    const conn = this.#conn;
    if (conn === null || !conn.opened || conn.ws.readyState !== OPEN) {
      return Promise.reject(new DistLockError('NOT_CONNECTED', `cannot send ${action}: not connected`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const entry = { id, action, names: meta.names ?? [], meta, resolve, reject, expired: false, timer: null };
      entry.timer = setTimeout(() => {
        entry.expired = true;
        reject(new DistLockError('TIMEOUT', `no reply to ${action} within ${this.#requestTimeoutMs} ms; it may still take effect`));
      }, this.#requestTimeoutMs);
      this.#inflight.set(id, entry);
      try {
        conn.ws.send(JSON.stringify({ action, ...fields, id }));
      } catch (error) {
        clearTimeout(entry.timer);
        this.#inflight.delete(id);
        reject(new DistLockError('DISCONNECTED', `cannot send ${action}: ${error?.message ?? error}`, { cause: error }));
      }
    });
  }

  #onMessage(conn, event) {
    if (conn !== this.#conn) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (error) {
      this.#emit('error', { error: new DistLockError('BAD_REPLY', 'the server sent a frame that is not JSON', { cause: error }) });
      return;
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      this.#emit('error', { error: new DistLockError('BAD_REPLY', 'the server sent a frame that is not a JSON object') });
      return;
    }
    if (message.status === 'RETRY') {
      this.#onRetry(message.lock ?? message.message);
      return;
    }
    if (message.status === 'LOST') {
      this.#onLost(message.lock ?? message.message);
      return;
    }
    // Only replies to our requests carry our id. Anything else is a push this client does
    // not know yet (a later protocol version): ignoring it keeps replies matched correctly.
    const entry = message.id === undefined ? undefined : this.#inflight.get(message.id);
    if (entry === undefined) return;
    this.#inflight.delete(entry.id);
    clearTimeout(entry.timer);
    this.#onReply(entry, message);
  }

  /**
   * Applies a reply to what the client knows (session, held locks) and settles its call.
   * Runs for late replies too (the call already rejected with TIMEOUT): the server did act.
   */
  #onReply(entry, reply) {
    if (reply.status === 'FAIL') {
      if (reply.code === 'NOT_OWNER' && entry.action === 'unlock') {
        this.#held.delete(entry.names[0]); // the server says it is not ours
      }
      entry.reject(new DistLockError(reply.code ?? 'FAIL', reply.message ?? `${entry.action} failed`, { reply }));
      return;
    }
    const expected = {
      connect: ['OK'], close: ['OK'], unlock: ['OK'], munlock: ['OK'],
      lock: ['LOCKED', 'WAIT'], mlock: ['LOCKED', 'WAIT'],
    }[entry.action];
    if (!expected.includes(reply.status)) {
      entry.reject(new DistLockError('BAD_REPLY', `unexpected ${reply.status} reply to ${entry.action}`, { reply }));
      return;
    }
    switch (entry.action) {
      case 'connect':
        this.#sessionOpened(reply.session, entry.meta.sessionName, entry.meta.reconnected === true);
        entry.resolve(reply);
        return;
      case 'close':
        this.#session = null;
        this.#sessionName = null;
        this.#held.clear(); // released on purpose: no `lost`
        this.#wakeAllRetryWatchers();
        this.#settleSessionWaiters();
        entry.resolve();
        return;
      case 'unlock':
      case 'munlock':
        for (const name of entry.names) this.#held.delete(name);
        entry.resolve();
        return;
      case 'lock':
        if (reply.status === 'LOCKED') {
          this.#held.set(entry.names[0], reply.token);
          this.#releaseIfAbandoned(entry);
          entry.resolve({ status: 'LOCKED', token: reply.token });
        } else {
          entry.resolve(reply.holder === undefined ? { status: 'WAIT' } : { status: 'WAIT', holder: reply.holder });
        }
        return;
      case 'mlock':
        if (reply.status === 'LOCKED') {
          const tokens = { ...reply.tokens };
          for (const name of entry.names) this.#held.set(name, tokens[name]);
          this.#releaseIfAbandoned(entry);
          entry.resolve({ status: 'LOCKED', tokens });
        } else {
          entry.resolve(reply.holders === undefined ? { status: 'WAIT' } : { status: 'WAIT', holders: { ...reply.holders } });
        }
        return;
    }
  }

  /**
   * A lock or lockAll that already rejected with TIMEOUT was granted after all. Its caller
   * gave up, so release it, unless a later request for one of these names is in flight:
   * then someone asked again and counts on the grant (replies come in request order, so
   * every such later request is still in flight now).
   */
  #releaseIfAbandoned(entry) {
    if (!entry.expired) return;
    for (const other of this.#inflight.values()) {
      if (other.id > entry.id && other.names.some((name) => entry.names.includes(name))) return;
    }
    const release = entry.action === 'lock' ? this.unlock(entry.names[0]) : this.unlockAll(entry.names);
    release.catch((error) => this.#emit('error', { error }));
  }

  #sessionOpened(session, name, reconnected) {
    this.#session = { session, name };
    this.#sessionName = name;
    this.#reconnectAttempt = 0;
    this.#emit('session', { session, name, reconnected });
    this.#settleSessionWaiters();
  }

  #onRetry(lock) {
    this.#wakeRetryWatchers(lock);
    this.#emit('retry', { lock });
  }

  #onLost(lock) {
    const token = this.#held.get(lock);
    this.#held.delete(lock);
    this.#emit('lost', { lock, token, reason: 'LOST' });
  }

  // ---------------------------------------------------------------- the socket

  /** Resolves when the socket is open, opening one if there is none. */
  #ensureOpen() {
    const conn = this.#conn;
    if (conn !== null) {
      if (!conn.opened) return conn.opening;
      if (conn.ws.readyState === OPEN) return Promise.resolve();
      // Closing, and its close event is not here yet: let it go and start afresh.
      this.#teardown(conn, { code: 1006, reason: 'closing', wasClean: false }, { reconnect: false });
    }
    return this.#openSocket();
  }

  /**
   * Creates a WebSocket and its connection record. Handlers check that their record is
   * still the current one, so a stale socket's late events change nothing.
   */
  #openSocket() {
    this.#cancelReconnect();
    let ws;
    try {
      ws = new this.#WebSocket(this.#url);
    } catch (error) {
      if (this.#reconnecting) this.#scheduleReconnect();
      return Promise.reject(new DistLockError('DISCONNECTED', `cannot open a WebSocket to ${this.#url}: ${error?.message ?? error}`, { cause: error }));
    }
    const conn = {
      ws,
      opened: false,
      reconnectAttempt: this.#reconnecting,
      opening: null,
      resolveOpening: null,
      rejectOpening: null,
      openTimer: null,
      onClosed: null,
    };
    conn.opening = new Promise((resolve, reject) => {
      conn.resolveOpening = resolve;
      conn.rejectOpening = reject;
    });
    conn.opening.catch(() => {}); // a reconnect attempt has nobody awaiting it; its failure is a `close` event
    this.#conn = conn;
    conn.openTimer = setTimeout(() => {
      this.#teardown(conn, { code: 1006, reason: 'open timed out', wasClean: false },
        { openError: new DistLockError('TIMEOUT', `the WebSocket did not open within ${this.#requestTimeoutMs} ms`) });
      try { ws.close(); } catch { /* it is being dropped anyway */ }
    }, this.#requestTimeoutMs);
    ws.onopen = () => this.#onOpen(conn);
    ws.onmessage = (event) => this.#onMessage(conn, event);
    ws.onclose = (event) => {
      conn.onClosed?.();
      this.#teardown(conn, { code: event?.code ?? 1006, reason: event?.reason ?? '', wasClean: event?.wasClean ?? false });
    };
    // The close event that follows an error says all we can know (browsers hide the cause).
    // Having a handler also keeps Node's "ws" from throwing on an unhandled 'error'.
    ws.onerror = () => {};
    return conn.opening;
  }

  #onOpen(conn) {
    if (conn !== this.#conn) return;
    clearTimeout(conn.openTimer);
    conn.opened = true;
    const reconnected = conn.reconnectAttempt;
    this.#reconnecting = false;
    if (reconnected) {
      if (this.#sessionName !== null && this.#connectsInFlight === 0) {
        this.#autoConnect(conn, this.#sessionName);
      } else if (this.#sessionName === null) {
        this.#reconnectAttempt = 0;
      }
    }
    this.#emit('open', { reconnected });
    conn.resolveOpening();
  }

  /**
   * Reopens a session with the old name after a reconnect. It is a *new* session: the
   * old one's locks were released when its socket closed, and nothing is replayed.
   */
  #autoConnect(conn, name) {
    this.#autoConnecting = this.#send('connect', { param: name }, { sessionName: name, reconnected: true })
      .then(() => {}, (error) => {
        if (conn !== this.#conn) return; // already gone; its close scheduled the next attempt
        this.#emit('error', { error: new DistLockError(error.code ?? 'FAIL', `could not reopen session "${name}" after reconnecting: ${error.message}`, { cause: error }) });
        // A socket without the session the application expects helps nobody: try again later.
        this.#teardown(conn, { code: 4000, reason: 'session could not be reopened', wasClean: false });
        try { conn.ws.close(4000, 'session could not be reopened'); } catch { /* dropped anyway */ }
      })
      .finally(() => {
        this.#autoConnecting = null;
        this.#settleSessionWaiters();
      });
  }

  /**
   * Forgets a connection: rejects what was pending, reports held locks lost, and decides
   * whether to reconnect. Runs once per connection (later calls for it do nothing).
   */
  #teardown(conn, { code, reason, wasClean }, { reconnect = true, openError = null } = {}) {
    if (conn !== this.#conn) return;
    this.#conn = null;
    this.#session = null;
    clearTimeout(conn.openTimer);
    conn.ws.onopen = conn.ws.onmessage = null;
    const detail = reason ? `${code}: ${reason}` : `${code}`;
    if (!conn.opened) {
      conn.rejectOpening(openError ?? new DistLockError('DISCONNECTED', `the WebSocket closed before it opened (${detail})`));
    }
    for (const entry of this.#inflight.values()) {
      clearTimeout(entry.timer);
      entry.reject(new DistLockError('DISCONNECTED', `the connection closed (${detail}) before the reply to ${entry.action}`));
    }
    this.#inflight.clear();
    const lost = [...this.#held];
    this.#held.clear();
    this.#drops++;

    const willReconnect = reconnect && this.#reconnect !== false && !this.#disconnectRequested
      && (conn.opened || conn.reconnectAttempt);
    let delayMs;
    if (willReconnect) {
      this.#reconnecting = true;
      delayMs = this.#scheduleReconnect();
    } else {
      this.#reconnecting = false;
      this.#reconnectAttempt = 0;
    }

    for (const [lock, token] of lost) {
      this.#emit('lost', { lock, token, reason: 'DISCONNECTED' });
    }
    this.#emit('close', willReconnect
      ? { code, reason, wasClean, willReconnect, delayMs }
      : { code, reason, wasClean, willReconnect });
    this.#wakeAllRetryWatchers();
    this.#settleSessionWaiters();
  }

  /**
   * Schedules the next reconnect attempt. Exponential backoff with "equal jitter": the
   * delay is between half and all of min(maxDelayMs, initialDelayMs * 2^attempt), so
   * clients dropped together (a server restart) spread out, and none retries in a tight loop.
   *
   * @returns {number} the delay in ms
   */
  #scheduleReconnect() {
    const { initialDelayMs, maxDelayMs } = this.#reconnect;
    const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** this.#reconnectAttempt);
    this.#reconnectAttempt++;
    const delayMs = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#disconnectRequested || this.#conn !== null) return;
      this.#openSocket().catch(() => {}); // failure shows as a `close` event and schedules the next attempt
    }, delayMs);
    return delayMs;
  }

  #cancelReconnect() {
    if (this.#reconnectTimer !== null) {
      clearTimeout(this.#reconnectTimer);
      this.#reconnectTimer = null;
    }
    if (this.#disconnectRequested) {
      this.#reconnecting = false;
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// ---------------------------------------------------------------- helpers

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

/** A lost connection (as opposed to a refusal): the session and its place in line are gone. */
function isConnectionLoss(error) {
  return error instanceof DistLockError
    && (error.code === 'DISCONNECTED' || (error.code === 'NOT_CONNECTED' && error.reply === undefined));
}

function noSession(code) {
  return code === 'DISCONNECTED'
    ? new DistLockError(code, 'the connection was lost while waiting for the lock, and no new session is being opened')
    : new DistLockError(code, 'not connected: call connect() first');
}

function abortReason(signal) {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/** The cancellation state of one request(): abort sets it and interrupts the current wait. */
function newAttempt() {
  const attempt = {
    cancelled: false,
    reason: undefined,
    interrupt: null,
    cancel: (reason) => {
      attempt.cancelled = true;
      attempt.reason = reason;
      attempt.interrupt?.();
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
