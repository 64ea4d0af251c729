// The socket's state machine (lib/connection.js) on its own: every state and the moves
// between them, on the scripted fake WebSocket and mocked timers, as the client tests do.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, ConnectionState as State } from '../lib/connection.js';
import { FakeServer, flush } from './support/fake-websocket.js';

const BACKOFF = { initialDelayMs: 100, maxDelayMs: 1000 };

/** A Connection on a fake server, recording what it tells its listener. */
function setup(t, { backoff = BACKOFF, WebSocket, url = 'ws://localhost/distlock/lock' } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  t.mock.method(Math, 'random', () => 1); // the jitter's upper bound: delays are the ceilings
  const server = new FakeServer();
  const heard = [];
  const connection = new Connection({
    url,
    WebSocket: WebSocket ?? server.WebSocket,
    openTimeoutMs: 1000,
    backoff,
    listener: {
      opened: (reconnected) => heard.push(['opened', reconnected, connection.state]),
      message: (data) => heard.push(['message', data]),
      closed: (detail) => heard.push(['closed', detail, connection.state]),
    },
  });
  return { server, connection, heard };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

describe('Connection states', () => {
  test('idle, then connecting, then open', async (t) => {
    const { server, connection, heard } = setup(t);
    assert.equal(connection.state, State.IDLE);
    assert.equal(connection.isOpen, false);
    const opening = connection.open();
    assert.equal(connection.state, State.CONNECTING);
    assert.equal(connection.open(), opening, 'a second open() waits for the same socket');
    assert.equal(server.sockets.length, 1);
    server.socket.open();
    await opening;
    assert.equal(connection.state, State.OPEN);
    assert.equal(connection.isOpen, true);
    assert.deepEqual(heard, [['opened', false, State.OPEN]]);
    await connection.open(); // open already: nothing new
    assert.equal(server.sockets.length, 1);
  });

  test('frames of the current socket reach the listener; send() works only when open', async (t) => {
    const { server, connection, heard } = setup(t);
    const opening = connection.open();
    assert.throws(() => connection.send('{}'), /connecting/);
    server.socket.open();
    await opening;
    connection.send('{"action":"lock","param":"a","id":1}');
    assert.deepEqual(server.socket.next('lock'), { action: 'lock', param: 'a', id: 1 });
    server.socket.push({ status: 'RETRY', lock: 'a' });
    assert.deepEqual(heard.at(-1), ['message', '{"status":"RETRY","lock":"a"}']);
  });

  test('a first open that fails goes to closed, rejects open() with DISCONNECTED and does not reconnect', async (t) => {
    const { server, connection, heard } = setup(t);
    const opening = connection.open();
    server.socket.failToOpen();
    assert.equal((await rejection(opening)).code, 'DISCONNECTED');
    assert.equal(connection.state, State.CLOSED);
    assert.deepEqual(heard, [['closed', { code: 1006, reason: '', wasClean: false, willReconnect: false }, State.CLOSED]]);
    t.mock.timers.tick(60_000);
    assert.equal(server.sockets.length, 1);
  });

  test('a socket that fails to open with an error and no close event fails its attempt at once, not at the open timeout', async (t) => {
    const { server, connection, heard } = setup(t, { url: ['ws://a/distlock/lock', 'ws://b/distlock/lock'] });
    const opening = connection.open();
    server.socket.errorWithoutClose();
    assert.equal((await rejection(opening)).code, 'DISCONNECTED');
    assert.equal(connection.state, State.CLOSED);
    assert.deepEqual(heard, [['closed', { code: 1006, reason: '', wasClean: false, willReconnect: false }, State.CLOSED]]);
  });

  test('a socket that does not open in time is closed, and open() rejects with TIMEOUT', async (t) => {
    const { server, connection } = setup(t);
    const opening = connection.open();
    t.mock.timers.tick(1000);
    assert.equal((await rejection(opening)).code, 'TIMEOUT');
    assert.equal(connection.state, State.CLOSED);
    assert.equal(server.socket.closeCalls.length, 1);
  });

  test('close() while connecting: closing until the socket says closed, then closed; open() rejects', async (t) => {
    const { server, connection, heard } = setup(t);
    const opening = connection.open();
    const ws = server.socket;
    const closed = connection.close();
    assert.equal(connection.state, State.CLOSING);
    assert.deepEqual(heard, [['closed', { code: 1000, reason: 'disconnect()', wasClean: true, willReconnect: false }, State.CLOSING]]);
    assert.equal((await rejection(opening)).code, 'DISCONNECTED');
    assert.deepEqual(ws.closeCalls, [{ code: 1000, reason: 'client disconnect' }]);
    await closed; // the fake reports the close in a microtask
    assert.equal(connection.state, State.CLOSED);
    t.mock.timers.tick(60_000);
    assert.equal(server.sockets.length, 1, 'no reconnect after close()');
  });

  test('close() when open, and a socket that never reports its close: closed after the timeout', async (t) => {
    const { server, connection } = setup(t);
    const opening = connection.open();
    const ws = server.socket;
    ws.open();
    await opening;
    ws.close = (code, reason) => { ws.closeCalls.push({ code, reason }); }; // a close event that never comes
    let done = false;
    connection.close().then(() => { done = true; });
    assert.equal(connection.state, State.CLOSING);
    await flush();
    assert.equal(done, false);
    t.mock.timers.tick(1000);
    await flush();
    assert.equal(done, true);
    assert.equal(connection.state, State.CLOSED);
  });

  test('open() while closing starts a new socket; the old one\'s close event changes nothing', async (t) => {
    const { server, connection } = setup(t);
    const first = connection.open();
    const old = server.socket;
    old.open();
    await first;
    old.close = (code, reason) => { old.closeCalls.push({ code, reason }); old.readyState = 2; };
    const closed = connection.close();
    const second = connection.open();
    assert.equal(connection.state, State.CONNECTING);
    assert.equal(server.sockets.length, 2);
    old.drop(1000); // its close event arrives late
    await closed;
    assert.equal(connection.state, State.CONNECTING, 'the late close is the old socket\'s, not the new one\'s');
    server.socket.open();
    await second;
    assert.equal(connection.state, State.OPEN);
  });

  test('a drop when open: reconnect-wait for the backoff, then connecting as a reconnect, then open', async (t) => {
    const { server, connection, heard } = setup(t);
    const opening = connection.open();
    server.socket.open();
    await opening;
    heard.length = 0;
    server.socket.drop(1006);
    assert.equal(connection.state, State.RECONNECT_WAIT);
    assert.equal(connection.reconnecting, true);
    assert.deepEqual(heard, [['closed', { code: 1006, reason: '', wasClean: false, willReconnect: true, delayMs: 100 }, State.RECONNECT_WAIT]]);
    t.mock.timers.tick(99);
    assert.equal(server.sockets.length, 1);
    t.mock.timers.tick(1);
    assert.equal(connection.state, State.CONNECTING);
    assert.equal(connection.reconnecting, true);
    server.socket.open();
    assert.equal(connection.state, State.OPEN);
    assert.equal(connection.reconnecting, false);
    assert.deepEqual(heard.at(-1), ['opened', true, State.OPEN]);
  });

  test('failed reconnect attempts wait again, longer each time, until the backoff is reset', async (t) => {
    const { server, connection, heard } = setup(t);
    const opening = connection.open();
    server.socket.open();
    await opening;
    server.socket.drop();
    for (const delay of [100, 200, 400]) {
      t.mock.timers.tick(delay);
      assert.equal(connection.state, State.CONNECTING);
      server.socket.failToOpen();
      assert.equal(connection.state, State.RECONNECT_WAIT);
    }
    assert.deepEqual(heard.filter(([kind]) => kind === 'closed').map(([, detail]) => detail.delayMs), [100, 200, 400, 800]);
    t.mock.timers.tick(800);
    server.socket.open();
    connection.resetBackoff();
    server.socket.drop();
    assert.equal(heard.at(-1)[1].delayMs, 100);
  });

  test('close() during reconnect-wait cancels the reconnect', async (t) => {
    const { server, connection } = setup(t);
    const opening = connection.open();
    server.socket.open();
    await opening;
    server.socket.drop();
    await connection.close();
    assert.equal(connection.state, State.CLOSED);
    assert.equal(connection.reconnecting, false);
    t.mock.timers.tick(60_000);
    assert.equal(server.sockets.length, 1);
  });

  test('open() during reconnect-wait connects at once, still as a reconnect', async (t) => {
    const { server, connection, heard } = setup(t);
    const opening = connection.open();
    server.socket.open();
    await opening;
    server.socket.drop();
    const again = connection.open();
    assert.equal(server.sockets.length, 2);
    server.socket.open();
    await again;
    assert.deepEqual(heard.at(-1), ['opened', true, State.OPEN]);
    t.mock.timers.tick(60_000);
    assert.equal(server.sockets.length, 2, 'the cancelled backoff timer opens nothing');
  });

  test('with reconnects off a drop goes to closed', async (t) => {
    const { server, connection } = setup(t, { backoff: false });
    const opening = connection.open();
    server.socket.open();
    await opening;
    server.socket.drop();
    assert.equal(connection.state, State.CLOSED);
    assert.equal(connection.reconnecting, false);
  });

  test('abandon() gives up the open socket, closes it with the code, and reconnects', async (t) => {
    const { server, connection, heard } = setup(t);
    const opening = connection.open();
    const ws = server.socket;
    ws.open();
    await opening;
    ws.push({ status: 'OK' });
    connection.abandon(4000, 'session could not be reopened');
    assert.equal(connection.state, State.RECONNECT_WAIT);
    assert.deepEqual(ws.closeCalls, [{ code: 4000, reason: 'session could not be reopened' }]);
    const before = heard.length;
    await flush(); // the fake's close event for the abandoned socket
    assert.equal(heard.length, before, 'a stale socket\'s events are not heard');
    assert.equal(connection.state, State.RECONNECT_WAIT);
  });

  test('a WebSocket constructor that throws fails the attempt: open() rejects, closed; during reconnects, the next wait', async (t) => {
    let fail = false;
    const server = new FakeServer();
    const Flaky = class extends server.WebSocket {
      constructor(url) {
        if (fail) throw new Error('no network');
        super(url);
      }
    };
    const { connection } = setup(t, { WebSocket: Flaky });
    fail = true;
    assert.equal((await rejection(connection.open())).code, 'DISCONNECTED');
    assert.equal(connection.state, State.CLOSED);
    fail = false;
    const opening = connection.open();
    server.socket.open();
    await opening;
    server.socket.drop();
    fail = true;
    t.mock.timers.tick(100);
    assert.equal(connection.state, State.RECONNECT_WAIT, 'the failed attempt waits again');
    fail = false;
    t.mock.timers.tick(200);
    assert.equal(connection.state, State.CONNECTING);
  });

  test('a URL function\'s promise: connecting until it resolves; close() meanwhile means no socket is ever made', async (t) => {
    let resolveUrl;
    const { server, connection } = setup(t, { url: () => new Promise((resolve) => { resolveUrl = resolve; }) });
    const opening = connection.open();
    assert.equal(connection.state, State.CONNECTING);
    assert.equal(server.sockets.length, 0);
    await connection.close();
    assert.equal(connection.state, State.CLOSED, 'no socket to wait for');
    assert.equal((await rejection(opening)).code, 'DISCONNECTED');
    resolveUrl('ws://late/');
    await flush();
    assert.equal(server.sockets.length, 0);
  });

  test('the open timeout covers a URL function that never answers', async (t) => {
    const { server, connection } = setup(t, { url: () => new Promise(() => {}) });
    const opening = connection.open();
    t.mock.timers.tick(1000);
    assert.equal((await rejection(opening)).code, 'TIMEOUT');
    assert.equal(connection.state, State.CLOSED);
    assert.equal(server.sockets.length, 0);
  });

  test('several URLs: round robin on sockets that fail to open, none on a drop of an open one', async (t) => {
    const { server, connection } = setup(t, { url: ['ws://a/', 'ws://b/', 'ws://c/'] });
    const opening = connection.open();
    server.socket.failToOpen();
    await rejection(opening);
    const again = connection.open();
    assert.equal(server.socket.url, 'ws://b/');
    server.socket.open();
    await again;
    server.socket.drop();
    t.mock.timers.tick(100);
    assert.equal(server.socket.url, 'ws://b/');
    server.socket.failToOpen();
    t.mock.timers.tick(200);
    assert.equal(server.socket.url, 'ws://c/');
    server.socket.failToOpen();
    t.mock.timers.tick(400);
    assert.equal(server.socket.url, 'ws://a/');
  });

  test('closes counts every lost socket', async (t) => {
    const { server, connection } = setup(t);
    assert.equal(connection.closes, 0);
    const opening = connection.open();
    server.socket.open();
    await opening;
    server.socket.drop();
    t.mock.timers.tick(100);
    server.socket.failToOpen();
    assert.equal(connection.closes, 2);
  });
});
