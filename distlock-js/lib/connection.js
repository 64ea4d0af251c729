import { ClientCode, describeClose } from './protocol.js';
import { DistLockError } from './errors.js';
import { reconnectDelay } from './backoff.js';
import { urlSource } from './urls.js';

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
export const ConnectionState = Object.freeze({
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
export class Connection {
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
