/**
 * A scripted stand-in for a distlock server behind a WebSocket, for testing the client's own
 * logic (id matching, events, queueing, reconnects). It is not a protocol implementation:
 * each test plays the server by reading the frames the client sent and pushing replies.
 *
 * In the spirit of OkHttp's WebSocketRecorder: `next()` takes the next frame the client sent
 * and `expectNothingSent()` asserts that no other frame arrived.
 */
import assert from 'node:assert/strict';

export class FakeServer {
  /** Every socket the client created, oldest first. */
  sockets = [];

  constructor() {
    const server = this;
    /** The class to pass as `options.WebSocket`. */
    this.WebSocket = class extends FakeSocket {
      constructor(url) {
        super(url);
        server.sockets.push(this);
      }
    };
  }

  /** The most recently created socket. */
  get socket() {
    assert.ok(this.sockets.length > 0, 'the client created no WebSocket');
    return this.sockets.at(-1);
  }
}

class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;

  readyState = 0;
  onopen = null;
  onmessage = null;
  onclose = null;
  onerror = null;
  /** The client's close() calls: `{code, reason}`. */
  closeCalls = [];
  /** The size of every frame the client sent, in UTF-8 bytes (as a server counts it), in order. */
  sentBytes = [];
  #sent = [];

  constructor(url) {
    this.url = url;
  }

  // ---- the client's side, as in a browser

  send(data) {
    if (this.readyState !== 1) {
      throw new Error(`send() in readyState ${this.readyState}`); // browsers throw InvalidStateError
    }
    this.sentBytes.push(Buffer.byteLength(data, 'utf8'));
    this.#sent.push(JSON.parse(data));
  }

  close(code, reason) {
    this.closeCalls.push({ code, reason });
    if (this.readyState >= 2) return;
    this.readyState = 2;
    // Browsers report the close asynchronously.
    queueMicrotask(() => this.#closed({ code: code ?? 1005, reason: reason ?? '', wasClean: true }));
  }

  // ---- the test's (server's) side

  /** The server accepts the connection. */
  open() {
    assert.equal(this.readyState, 0, 'open() on a socket that is not connecting');
    this.readyState = 1;
    this.onopen?.({ type: 'open' });
  }

  /** The connection fails before opening (as a browser reports it: error, then close 1006). */
  failToOpen() {
    this.onerror?.({ type: 'error' });
    this.#closed({ code: 1006, reason: '', wasClean: false });
  }

  /** The connection fails before opening, told only by an error (Node 20's experimental WebSocket sends no close). */
  errorWithoutClose() {
    this.onerror?.({ type: 'error' });
  }

  /** The connection drops (network gone, server died). */
  drop(code = 1006, reason = '') {
    this.onerror?.({ type: 'error' });
    this.#closed({ code, reason, wasClean: false });
  }

  /** Pushes a frame to the client; objects are sent as JSON, strings as they are. */
  push(frame) {
    assert.equal(this.readyState, 1, 'push on a socket that is not open');
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** Replies to `request` (a frame from next()) with the usual fields plus `fields`. */
  reply(request, fields) {
    this.push({ message: '', time: Date.now(), id: request.id, action: request.action, ...fields });
  }

  /** The next frame the client sent, parsed; fails if there is none. */
  next(expectedAction) {
    assert.ok(this.#sent.length > 0, `the client sent no frame${expectedAction ? ` (expected ${expectedAction})` : ''}`);
    const frame = this.#sent.shift();
    if (expectedAction !== undefined) {
      assert.equal(frame.action, expectedAction, `next frame: ${JSON.stringify(frame)}`);
    }
    return frame;
  }

  /** Every frame the client sent that next() has not taken yet, parsed (taking them). */
  takeAll() {
    return this.#sent.splice(0);
  }

  expectNothingSent() {
    assert.deepEqual(this.#sent, [], 'the client sent frames nobody expected');
  }

  #closed(event) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ type: 'close', ...event });
  }
}

/** Lets pending promise callbacks and I/O run (setImmediate is left alone by mocked timers). */
export function flush() {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Connects `client` through `server` as session `name` and returns the socket.
 * The connect is answered like the protocol says: OK, "Open session: <name>", a session id;
 * with `version: 2` as a version 2 server does (it says `"version": 2`), else as a version 1
 * server (no `version`: it ignores the client's `"version": 2`).
 */
export async function connectSession(client, server, name = 'alice', sessionId = 's-1', { version } = {}) {
  const connecting = client.connect(name);
  await flush();
  const ws = server.socket;
  ws.open();
  await flush();
  const frame = ws.next('connect');
  assert.equal(frame.param, name);
  assert.equal(frame.version, 2, 'the client asks for protocol version 2');
  ws.reply(frame, { status: 'OK', message: `Open session: ${name}`, session: sessionId, ...(version === undefined ? {} : { version }) });
  assert.deepEqual(await connecting, { session: sessionId, name, version: version ?? 1 });
  return ws;
}

/** Collects the `detail`s of the given event types, in order, as `[type, detail]` pairs. */
export function recordEvents(client, ...types) {
  const events = [];
  for (const type of types) {
    client.addEventListener(type, (event) => events.push([type, event.detail]));
  }
  return events;
}

/**
 * Stands in for the browser's window, where the client listens for `online` and `pagehide`:
 * `globalThis.addEventListener` and `removeEventListener` (Node has neither) go to an
 * EventTarget, until the test ends. `listeners(type)` counts what is on it for `type`.
 */
export function fakeWindow(t) {
  const page = new EventTarget();
  const added = new Map(); // type -> listeners, as an EventTarget keeps them (once each)
  globalThis.addEventListener = (type, listener, options) => {
    if (!added.has(type)) added.set(type, new Set());
    added.get(type).add(listener);
    page.addEventListener(type, listener, options);
  };
  globalThis.removeEventListener = (type, listener, options) => {
    added.get(type)?.delete(listener);
    page.removeEventListener(type, listener, options);
  };
  t.after(() => { delete globalThis.addEventListener; delete globalThis.removeEventListener; });
  return {
    dispatchEvent: (event) => page.dispatchEvent(event),
    listeners: (type) => added.get(type)?.size ?? 0,
  };
}
