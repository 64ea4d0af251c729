import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DistLockClient } from '../src/distlock.js';
import { FakeServer, connectSession, fakeWindow, flush, recordEvents } from './support/fake-websocket.js';

const RECONNECT = { initialDelayMs: 100, maxDelayMs: 1000 };

/** A connected client on fake timers, with Math.random fixed so the jitter is known. */
async function connected(t, { random = 0.5, reconnect = RECONNECT } = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  t.mock.method(Math, 'random', () => random);
  const server = new FakeServer();
  const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket, reconnect });
  const ws = await connectSession(client, server);
  return { server, client, ws };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

/** Answers the automatic connect on a freshly opened reconnect socket. */
async function acceptReconnect(server, sessionId) {
  const ws = server.socket;
  ws.open();
  const frame = ws.next('connect');
  assert.equal(frame.param, 'alice', 'the new session has the old name');
  ws.reply(frame, { status: 'OK', message: 'Open session: alice', session: sessionId });
  await flush();
  return ws;
}

describe('reconnect', () => {
  test('a drop reports held locks lost, rejects pending calls, and reopens a session with the same name after the backoff', async (t) => {
    const { server, client, ws } = await connected(t);
    const locking = client.lock('a');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 9 });
    await locking;
    const pending = client.lock('b');
    const events = recordEvents(client, 'lost', 'close', 'open', 'session');

    ws.drop(1006);
    assert.equal((await rejection(pending)).code, 'DISCONNECTED');
    assert.deepEqual(events.splice(0), [
      ['lost', { lock: 'a', token: 9, reason: 'DISCONNECTED' }],
      ['close', { code: 1006, reason: '', wasClean: false, willReconnect: true, delayMs: 75 }], // 100 * (0.5 + 0.5 * 0.5)
    ]);
    assert.deepEqual(client.heldLocks, new Map());
    assert.equal(client.session, null);

    // Nothing is queued for later: the new session will not hold what the old one held.
    assert.equal((await rejection(client.lock('c'))).code, 'NOT_CONNECTED');

    t.mock.timers.tick(74);
    assert.equal(server.sockets.length, 1, 'not before the backoff');
    t.mock.timers.tick(1);
    assert.equal(server.sockets.length, 2);
    const ws2 = await acceptReconnect(server, 's-2');
    assert.deepEqual(events, [
      ['open', { reconnected: true }],
      ['session', { session: 's-2', name: 'alice', version: 1, reconnected: true }],
    ]);
    assert.deepEqual(client.session, { session: 's-2', name: 'alice', version: 1 });
    ws2.expectNothingSent(); // no replay of b or c
  });

  test('a browser back online tries at once instead of waiting out the backoff', async (t) => {
    const page = new EventTarget(); // the window: where the browser fires online
    globalThis.addEventListener = page.addEventListener.bind(page);
    t.after(() => { delete globalThis.addEventListener; });
    const { server, ws } = await connected(t, { reconnect: { initialDelayMs: 10_000, maxDelayMs: 30_000 } });
    page.dispatchEvent(new Event('online'));
    assert.equal(server.sockets.length, 1, 'connected: nothing to do');

    ws.drop(1006);
    assert.equal(server.sockets.length, 1, 'waiting for the backoff');
    page.dispatchEvent(new Event('online'));
    assert.equal(server.sockets.length, 2, 'an attempt at once');
    await acceptReconnect(server, 's-2');
    t.mock.timers.tick(30_000);
    assert.equal(server.sockets.length, 2, 'the backoff it cut short opens nothing more');
  });

  test('the window has an online listener only while a reconnect waits: a client disconnected (or never dropped) leaves none there, and online reopens nothing for it', async (t) => {
    const page = fakeWindow(t);
    const { server, client, ws } = await connected(t);
    assert.equal(page.listeners('online'), 0, 'connected: nothing to hurry');
    ws.drop();
    assert.equal(page.listeners('online'), 1, 'a reconnect waits for its backoff');
    t.mock.timers.tick(75);
    await acceptReconnect(server, 's-2');
    assert.equal(page.listeners('online'), 0, 'reconnected');
    server.socket.drop();
    assert.equal(page.listeners('online'), 1, 'on again for the next drop');
    await client.disconnect();
    assert.equal(page.listeners('online'), 0, 'disconnect() while a reconnect waits');
    page.dispatchEvent(new Event('online'));
    assert.equal(server.sockets.length, 2, 'a disconnected client opens no socket');

    // A single-page application that opens a client per route and disconnects it on leaving.
    for (let i = 0; i < 20; i++) {
      const routeServer = new FakeServer();
      const route = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: routeServer.WebSocket, reconnect: RECONNECT });
      await connectSession(route, routeServer);
      await route.disconnect();
    }
    assert.equal(page.listeners('online'), 0, 'every client it disconnected is off the window');
  });

  test('the backoff doubles after each failed attempt up to maxDelayMs, and starts over after a session is reopened', async (t) => {
    const { server, client, ws } = await connected(t, { random: 1 }); // the jitter's upper bound
    const delays = [];
    client.on('close', (detail) => delays.push(detail.delayMs));
    ws.drop();
    for (let i = 0; i < 5; i++) {
      t.mock.timers.tick(delays.at(-1));
      server.socket.failToOpen();
    }
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000]);
    t.mock.timers.tick(1000);
    await acceptReconnect(server, 's-2');
    server.socket.drop();
    assert.equal(delays.at(-1), 100, 'a reopened session resets the backoff');
    assert.equal(server.sockets.length, 7);
  });

  test('the jitter keeps at least half of the backoff', async (t) => {
    const { server, client, ws } = await connected(t, { random: 0 });
    const delays = [];
    client.on('close', (detail) => delays.push(detail.delayMs));
    ws.drop();
    t.mock.timers.tick(50);
    server.socket.failToOpen();
    assert.deepEqual(delays, [50, 100]);
  });

  test('a request() that was waiting asks again in the new session', async (t) => {
    const { server, client, ws } = await connected(t);
    const requesting = client.request('doc', (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT', holder: 'bob' });
    await flush();
    ws.drop();
    await flush();
    t.mock.timers.tick(75);
    const ws2 = await acceptReconnect(server, 's-2');
    await flush();
    ws2.reply(ws2.next('lock'), { status: 'LOCKED', token: 30 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 30);
  });

  test('a request() whose lock request was in flight when the connection dropped asks again too', async (t) => {
    const { server, client, ws } = await connected(t);
    const requesting = client.request('doc', (lock) => lock.token);
    await flush();
    ws.next('lock');
    ws.drop();
    await flush();
    t.mock.timers.tick(75);
    const ws2 = await acceptReconnect(server, 's-2');
    await flush();
    ws2.reply(ws2.next('lock'), { status: 'LOCKED', token: 31 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 31);
  });

  test('a request() holding the lock when the connection drops: lost, its signal aborts, the callback completes, no unlock anywhere, the call rejects with LOST', async (t) => {
    const { server, client, ws } = await connected(t);
    let finish;
    let signal;
    const lost = [];
    client.on('lost', (detail) => lost.push(detail));
    const requesting = client.request('doc', (lock) => {
      signal = lock.signal;
      return new Promise((resolve) => { finish = resolve; });
    });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 12 });
    await flush();
    assert.equal(signal.aborted, false);
    ws.drop();
    assert.equal(signal.aborted, true, 'aborted as soon as the lock is lost');
    t.mock.timers.tick(75);
    const ws2 = await acceptReconnect(server, 's-2');
    finish('done');
    const error = await rejection(requesting);
    assert.equal(error.code, 'LOST');
    assert.equal(error, signal.reason);
    assert.deepEqual(error.lost, { lock: 'doc', token: 12, reason: 'DISCONNECTED' });
    assert.deepEqual(lost, [{ lock: 'doc', token: 12, reason: 'DISCONNECTED' }]);
    ws.expectNothingSent();
    ws2.expectNothingSent();
  });

  test('with reconnect: false a drop is final: no new socket, waiters reject with DISCONNECTED', async (t) => {
    const { server, client, ws } = await connected(t, { reconnect: false });
    const events = recordEvents(client, 'close');
    const requesting = client.request('doc', () => {});
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT' });
    await flush();
    ws.drop();
    await assert.rejects(requesting, { code: 'DISCONNECTED' });
    assert.equal(events[0][1].willReconnect, false);
    t.mock.timers.tick(60_000);
    assert.equal(server.sockets.length, 1);
  });

  test('a session that cannot be reopened is reported, and the next attempt follows with a longer backoff', async (t) => {
    const { server, client, ws } = await connected(t, { random: 1 });
    const errors = [];
    const delays = [];
    client.on('error', (detail) => errors.push(detail.error.code));
    client.on('close', (detail) => delays.push(detail.delayMs));
    ws.drop();
    t.mock.timers.tick(100);
    const ws2 = server.socket;
    ws2.open();
    ws2.reply(ws2.next('connect'), { status: 'FAIL', code: 'BACKEND_UNAVAILABLE', message: 'Redis is unreachable' });
    await flush();
    assert.deepEqual(errors, ['BACKEND_UNAVAILABLE']);
    assert.deepEqual(ws2.closeCalls, [{ code: 4000, reason: 'session could not be reopened' }]);
    assert.deepEqual(delays, [100, 200]);
    t.mock.timers.tick(200);
    await acceptReconnect(server, 's-3');
    assert.deepEqual(client.session, { session: 's-3', name: 'alice', version: 1 });
  });

  test('disconnect() during the backoff cancels the reconnect and rejects waiters', async (t) => {
    const { server, client, ws } = await connected(t);
    const requesting = client.request('doc', () => {});
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT' });
    await flush();
    ws.drop();
    await flush();
    await client.disconnect();
    await assert.rejects(requesting, { code: 'DISCONNECTED' });
    t.mock.timers.tick(60_000);
    assert.equal(server.sockets.length, 1);
  });

  test('connect() during the backoff reconnects at once', async (t) => {
    const { server, client, ws } = await connected(t);
    ws.drop();
    const connecting = client.connect('alice');
    await flush();
    assert.equal(server.sockets.length, 2, 'no waiting for the backoff');
    const ws2 = server.socket;
    ws2.open();
    await flush();
    const frame = ws2.next('connect');
    ws2.reply(frame, { status: 'OK', session: 's-2' });
    assert.deepEqual(await connecting, { session: 's-2', name: 'alice', version: 1 });
    ws2.expectNothingSent(); // one connect, not two
    t.mock.timers.tick(60_000);
    assert.equal(server.sockets.length, 2, 'the cancelled backoff timer does not open another socket');
  });

  test('close() then a drop: the socket comes back, but no session is reopened', async (t) => {
    const { server, client, ws } = await connected(t);
    const closing = client.close();
    ws.reply(ws.next('close'), { status: 'OK', message: 'Close session: alice' });
    await closing;
    ws.drop();
    t.mock.timers.tick(75);
    server.socket.open();
    await flush();
    server.socket.expectNothingSent();
    assert.equal(client.session, null);
  });
});
