import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DistLockClient, DistLockError } from '../src/distlock.js';
import { FakeServer, connectSession, flush, recordEvents } from './support/fake-websocket.js';

const URL_ = 'ws://localhost/distlock/lock';

function setup(options = {}) {
  const server = new FakeServer();
  const client = new DistLockClient(URL_, { WebSocket: server.WebSocket, ...options });
  return { server, client };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

describe('construction', () => {
  test('validates its options and names the bad one', () => {
    const { WebSocket } = new FakeServer();
    assert.throws(() => new DistLockClient(42, { WebSocket }), TypeError);
    assert.throws(() => new DistLockClient(URL_, { WebSocket, requestTimeoutMs: 0 }), /requestTimeoutMs/);
    assert.throws(() => new DistLockClient(URL_, { WebSocket, reconnect: { initialDelayMs: -1 } }), /initialDelayMs/);
    assert.throws(() => new DistLockClient(URL_, { WebSocket, reconnect: { initialDelayMs: 100, maxDelayMs: 50 } }), /maxDelayMs/);
    assert.throws(() => new DistLockClient(URL_, { WebSocket, reconnect: 'yes' }), /reconnect/);
  });

  test('without a WebSocket class it says how to pass one', (t) => {
    // Node 22 and later have a global WebSocket: taken away for this test, not skipped.
    const global = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    delete globalThis.WebSocket;
    t.after(() => { if (global !== undefined) Object.defineProperty(globalThis, 'WebSocket', global); });
    assert.throws(() => new DistLockClient(URL_), /options\.WebSocket/);
  });

  test('accepts a URL object and opens the socket on connect()', async () => {
    const server = new FakeServer();
    const client = new DistLockClient(new URL(URL_), { WebSocket: server.WebSocket });
    assert.equal(server.sockets.length, 0, 'no socket before connect()');
    await connectSession(client, server);
    assert.equal(server.socket.url, URL_);
    assert.deepEqual(client.session, { session: 's-1', name: 'alice', version: 1 });
  });
});

describe('requests and replies', () => {
  test('lock, unlock, lockAll, unlockAll and close send the protocol frames and read the replies', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);

    const locking = client.lock('doc-1');
    const lock = ws.next('lock');
    assert.equal(lock.param, 'doc-1');
    assert.ok(Number.isInteger(lock.id));
    ws.reply(lock, { status: 'LOCKED', message: 'doc-1', lock: 'doc-1', token: 1_764_144_000_000_001 });
    assert.deepEqual(await locking, { status: 'LOCKED', token: 1_764_144_000_000_001 });

    const waiting = client.lock('doc-2');
    ws.reply(ws.next('lock'), { status: 'WAIT', message: 'doc-2', lock: 'doc-2', holder: 'bob' });
    assert.deepEqual(await waiting, { status: 'WAIT', holder: 'bob' });

    const hidden = client.lock('doc-3');
    ws.reply(ws.next('lock'), { status: 'WAIT', message: 'doc-3', lock: 'doc-3' });
    assert.deepEqual(await hidden, { status: 'WAIT' }, 'no holder key when the server hides it');

    const unlocking = client.unlock('doc-1');
    const unlock = ws.next('unlock');
    assert.equal(unlock.param, 'doc-1');
    ws.reply(unlock, { status: 'OK', message: 'Unlocked doc-1' });
    assert.equal(await unlocking, undefined);

    const lockingAll = client.lockAll(['a', 'b']);
    const mlock = ws.next('mlock');
    assert.deepEqual(mlock.params, ['a', 'b']);
    assert.equal(mlock.param, undefined);
    ws.reply(mlock, { status: 'LOCKED', message: 'a, b', locks: ['a', 'b'], tokens: { a: 11, b: 12 } });
    assert.deepEqual(await lockingAll, { status: 'LOCKED', tokens: { a: 11, b: 12 } });
    assert.deepEqual(client.heldLocks, new Map([['a', 11], ['b', 12]]));

    const waitingAll = client.lockAll(['c', 'd']);
    ws.reply(ws.next('mlock'), { status: 'WAIT', message: 'c, d', locks: ['c', 'd'], holders: { d: 'bob' } });
    assert.deepEqual(await waitingAll, { status: 'WAIT', holders: { d: 'bob' } });

    const unlockingAll = client.unlockAll(['a', 'b']);
    const munlock = ws.next('munlock');
    assert.deepEqual(munlock.params, ['a', 'b']);
    ws.reply(munlock, { status: 'OK', message: 'a, b' });
    await unlockingAll;
    assert.deepEqual(client.heldLocks, new Map());

    const closing = client.close();
    const close = ws.next('close');
    assert.equal(close.param, 'alice');
    ws.reply(close, { status: 'OK', message: 'Close session: alice' });
    assert.equal(await closing, undefined);
    assert.equal(client.session, null);
    assert.equal(ws.readyState, 1, 'close() keeps the socket open');
    ws.expectNothingSent();
  });

  test('replies are matched by id, not by arrival order', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    const first = client.lock('x');
    const second = client.lock('y');
    const x = ws.next('lock');
    const y = ws.next('lock');
    assert.notEqual(x.id, y.id);
    ws.reply(y, { status: 'WAIT', holder: 'bob' });
    ws.reply(x, { status: 'LOCKED', token: 7 });
    assert.deepEqual(await first, { status: 'LOCKED', token: 7 });
    assert.deepEqual(await second, { status: 'WAIT', holder: 'bob' });
  });

  test('a frame with an unknown id or no id (a future push) is ignored', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    const locking = client.lock('x');
    const frame = ws.next('lock');
    ws.push({ status: 'LOCKED', message: 'x', token: 1 }); // no id: not a reply to anything
    ws.push({ status: 'LOCKED', message: 'x', token: 2, id: 9999 });
    ws.reply(frame, { status: 'LOCKED', token: 3 });
    assert.deepEqual(await locking, { status: 'LOCKED', token: 3 });
  });

  test('FAIL rejects with a DistLockError carrying the protocol code and the reply', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    const unlocking = client.unlock('not-mine');
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'not-mine is not held by this session' });
    const error = await rejection(unlocking);
    assert.ok(error instanceof DistLockError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'DistLockError');
    assert.equal(error.code, 'NOT_OWNER');
    assert.equal(error.message, 'not-mine is not held by this session');
    assert.equal(error.reply.status, 'FAIL');
  });

  test('a reply with a status that makes no sense for the action rejects with BAD_REPLY', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    const locking = client.lock('x');
    ws.reply(ws.next('lock'), { status: 'OK' });
    assert.equal((await rejection(locking)).code, 'BAD_REPLY');
  });

  test('a frame that is not a JSON object is reported as an error event', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    const events = recordEvents(client, 'error');
    ws.push('not json');
    ws.push('[1, 2]');
    assert.deepEqual(events.map(([, detail]) => detail.error.code), ['BAD_REPLY', 'BAD_REPLY']);
  });

  test('calls without a socket reject with NOT_CONNECTED and send nothing', async () => {
    const { server, client } = setup();
    for (const call of [() => client.lock('x'), () => client.unlock('x'), () => client.lockAll(['x']),
      () => client.unlockAll(['x']), () => client.close()]) {
      assert.equal((await rejection(call())).code, 'NOT_CONNECTED');
    }
    assert.equal(server.sockets.length, 0);
  });

  test('bad arguments are TypeErrors', async () => {
    const { client } = setup();
    await assert.rejects(client.lock(42), TypeError);
    await assert.rejects(client.lockAll('x'), TypeError);
    await assert.rejects(client.lockAll(['x', 1]), TypeError);
    await assert.rejects(client.connect(undefined), TypeError);
  });

  test('connect() with the open session\'s name returns it; another name gets the server\'s ALREADY_CONNECTED', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    assert.deepEqual(await client.connect('alice'), { session: 's-1', name: 'alice', version: 1 });
    ws.expectNothingSent();
    const other = client.connect('bob');
    await flush();
    ws.reply(ws.next('connect'), { status: 'FAIL', code: 'ALREADY_CONNECTED', message: 'already connected' });
    assert.equal((await rejection(other)).code, 'ALREADY_CONNECTED');
    assert.deepEqual(client.session, { session: 's-1', name: 'alice', version: 1 });
  });

  test('connect() twice at once with one name (React StrictMode runs an effect twice): one connect frame, both resolve with the session', async () => {
    const { server, client } = setup();
    const first = client.connect('alice');
    const second = client.connect('alice');
    await flush();
    const ws = server.socket;
    ws.open();
    await flush();
    ws.reply(ws.next('connect'), { status: 'OK', session: 's-1' });
    assert.deepEqual(await Promise.all([first, second]), [
      { session: 's-1', name: 'alice', version: 1 }, { session: 's-1', name: 'alice', version: 1 }]);
    ws.expectNothingSent();
  });

  test('connect(), disconnect(), connect() (StrictMode: mount, cleanup, mount): the second connect opens a session, not the first\'s dead promise', async () => {
    const { server, client } = setup({ reconnect: false });
    const first = client.connect('alice');
    await flush();
    client.disconnect();
    const second = client.connect('alice');
    assert.equal((await rejection(first)).code, 'DISCONNECTED');
    const third = client.connect('alice'); // the first, settled, did not forget the second
    await flush();
    const ws = server.socket;
    ws.open();
    await flush();
    ws.reply(ws.next('connect'), { status: 'OK', session: 's-2', version: 2 });
    assert.deepEqual(await Promise.all([second, third]), [
      { session: 's-2', name: 'alice', version: 2 }, { session: 's-2', name: 'alice', version: 2 }]);
    ws.expectNothingSent();
  });

  test('connect(), close(), connect() while the first is under way: the second connect opens a new session, not the closed one', async () => {
    const { server, client } = setup({ reconnect: false });
    const first = client.connect('alice');
    await flush();
    const ws = server.socket;
    ws.open();
    await flush();
    const connect1 = ws.next('connect');
    const closing = client.close();
    const second = client.connect('alice');
    await flush();
    ws.reply(connect1, { status: 'OK', session: 's-1', version: 2 });
    assert.equal((await first).session, 's-1');
    ws.reply(ws.next('close'), { status: 'OK' });
    await closing;
    ws.reply(ws.next('connect'), { status: 'OK', session: 's-2', version: 2 });
    assert.deepEqual(await second, { session: 's-2', name: 'alice', version: 2 });
    assert.deepEqual(client.session, { session: 's-2', name: 'alice', version: 2 });
  });

  test('connect() rejects with DISCONNECTED when the socket cannot open, and does not retry on its own', async () => {
    const { server, client } = setup();
    const events = recordEvents(client, 'close');
    const connecting = client.connect('alice');
    server.socket.failToOpen();
    assert.equal((await rejection(connecting)).code, 'DISCONNECTED');
    assert.equal(events.length, 1);
    assert.equal(events[0][1].willReconnect, false, 'a first connect that fails is the caller\'s to retry');
  });
});

describe('timeouts', () => {
  test('a request without a reply rejects with TIMEOUT after requestTimeoutMs', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { server, client } = setup({ requestTimeoutMs: 1000 });
    const ws = await connectSession(client, server);
    const locking = client.lock('x');
    ws.next('lock');
    t.mock.timers.tick(999);
    await flush();
    let settled = false;
    locking.then(() => { settled = true; }, () => { settled = true; });
    await flush();
    assert.equal(settled, false, 'still waiting at 999 ms');
    t.mock.timers.tick(1);
    const error = await rejection(locking);
    assert.equal(error.code, 'TIMEOUT');
  });

  test('a lock granted after its caller timed out is released, since nobody uses it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { server, client } = setup({ requestTimeoutMs: 100 });
    const ws = await connectSession(client, server);
    const locking = client.lock('x');
    const frame = ws.next('lock');
    t.mock.timers.tick(100);
    assert.equal((await rejection(locking)).code, 'TIMEOUT');
    ws.reply(frame, { status: 'LOCKED', token: 5 });
    const unlock = ws.next('unlock');
    assert.equal(unlock.param, 'x');
    ws.reply(unlock, { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('while the client unlocks a lock granted after its caller timed out, a request() for it waits for that unlock and then asks (not ALREADY_HELD)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { server, client } = setup({ requestTimeoutMs: 1000 });
    const ws = await connectSession(client, server, 'alice', 's-1', { version: 2 });
    const locking = client.lock('doc');
    const frame = ws.next('lock');
    t.mock.timers.tick(1000);
    assert.equal((await rejection(locking)).code, 'TIMEOUT');
    ws.reply(frame, { status: 'LOCKED', token: 9 }); // late: nobody uses it, the client unlocks it
    const unlock = ws.next('unlock');
    let failure;
    const requesting = client.request('doc', (lock) => lock.token);
    requesting.catch((error) => { failure = error; });
    await flush();
    assert.equal(failure, undefined, 'not ALREADY_HELD: the client, not the application, holds the lock now');
    ws.expectNothingSent(); // it asks once the unlock is answered
    ws.reply(unlock, { status: 'OK' });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 10 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 10);
  });

  test('... but not if the lock was asked for again meanwhile (that caller counts on the grant)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { server, client } = setup({ requestTimeoutMs: 100 });
    const ws = await connectSession(client, server);
    const first = client.lock('x');
    const firstFrame = ws.next('lock');
    t.mock.timers.tick(100);
    await rejection(first);
    const second = client.lock('x');
    const secondFrame = ws.next('lock');
    ws.reply(firstFrame, { status: 'LOCKED', token: 5 });
    ws.reply(secondFrame, { status: 'LOCKED', token: 5 }); // the server is idempotent for the same session
    assert.deepEqual(await second, { status: 'LOCKED', token: 5 });
    ws.expectNothingSent();
    assert.deepEqual(client.heldLocks, new Map([['x', 5]]));
  });

  test('a socket that does not open within requestTimeoutMs fails connect() with TIMEOUT', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { server, client } = setup({ requestTimeoutMs: 100 });
    const connecting = client.connect('alice');
    t.mock.timers.tick(100);
    assert.equal((await rejection(connecting)).code, 'TIMEOUT');
    assert.equal(server.socket.closeCalls.length, 1, 'the hanging socket is closed');
  });
});

describe('pushes and events', () => {
  test('RETRY and LOST pushes become retry and lost events; LOST forgets the held lock', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    const locking = client.lock('mine');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 42 });
    await locking;
    const events = recordEvents(client, 'retry', 'lost');
    ws.push({ status: 'RETRY', message: 'doc-7', lock: 'doc-7', time: 1 });
    ws.push({ status: 'RETRY', message: 'doc-8', time: 2 }); // a server that only sends the message
    ws.push({ status: 'LOST', message: 'mine', lock: 'mine', time: 3 });
    assert.deepEqual(events, [
      ['retry', { lock: 'doc-7' }],
      ['retry', { lock: 'doc-8' }],
      ['lost', { lock: 'mine', token: 42, reason: 'LOST' }],
    ]);
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('a push that names no lock (a server should not send one) changes nothing: GRANTED, LOST, CANCELLED are ignored', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server, 'alice', 's-1', { version: 2 });
    const locking = client.lock('doc');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 4 });
    await locking;
    const events = recordEvents(client, 'granted', 'lost', 'cancelled', 'error');
    ws.push({ status: 'GRANTED', token: 5 });
    ws.push({ status: 'GRANTED', lock: 7, token: 6, mode: 'exclusive' });
    ws.push({ status: 'LOST', token: 4 }); // version 1 names the lock in message: neither here
    ws.push({ status: 'CANCELLED', reason: 'timeout' });
    await flush();
    assert.deepEqual(events, []);
    assert.deepEqual(client.heldLocks, new Map([['doc', 4]]));
  });

  test('events are CustomEvents; on() passes the detail and returns an unsubscribe function', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    const seen = [];
    let raw;
    client.addEventListener('retry', (event) => { raw = event; });
    const off = client.on('retry', (detail, event) => seen.push([detail.lock, event.type]));
    ws.push({ status: 'RETRY', message: 'a', lock: 'a' });
    off();
    ws.push({ status: 'RETRY', message: 'b', lock: 'b' });
    assert.deepEqual(seen, [['a', 'retry']]);
    assert.ok(raw instanceof CustomEvent);
    assert.deepEqual(raw.detail, { lock: 'b' });
  });

  test('open and session events on connect()', async () => {
    const { server, client } = setup();
    const events = recordEvents(client, 'open', 'session');
    await connectSession(client, server);
    assert.deepEqual(events, [
      ['open', { reconnected: false }],
      ['session', { session: 's-1', name: 'alice', version: 1, reconnected: false }],
    ]);
  });

  test('held locks follow LOCKED, unlock and a NOT_OWNER refusal', async () => {
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    const a = client.lock('a');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await a;
    const b = client.lock('b');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 2 });
    await b;
    assert.deepEqual(client.heldLocks, new Map([['a', 1], ['b', 2]]));
    const ua = client.unlock('a');
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await ua;
    const ub = client.unlock('b');
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'not yours' });
    await rejection(ub);
    assert.deepEqual(client.heldLocks, new Map(), 'the server said b is not ours');
  });
});

describe('disconnect()', () => {
  test('closes the socket, rejects pending calls with DISCONNECTED, reports held locks lost, and does not reconnect', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { server, client } = setup();
    const ws = await connectSession(client, server);
    const locking = client.lock('a');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 9 });
    await locking;
    const pending = client.lock('b');
    const events = recordEvents(client, 'lost', 'close');

    await client.disconnect();
    assert.equal((await rejection(pending)).code, 'DISCONNECTED');
    assert.deepEqual(ws.closeCalls, [{ code: 1000, reason: 'client disconnect' }]);
    assert.deepEqual(events, [
      ['lost', { lock: 'a', token: 9, reason: 'DISCONNECTED' }],
      ['close', { code: 1000, reason: 'disconnect()', wasClean: true, willReconnect: false }],
    ]);
    assert.equal(client.session, null);
    t.mock.timers.tick(60_000);
    await flush();
    assert.equal(server.sockets.length, 1, 'no reconnect after disconnect()');
    assert.equal((await rejection(client.lock('c'))).code, 'NOT_CONNECTED');
  });

  test('connect() after disconnect() opens a new socket', async () => {
    const { server, client } = setup();
    await connectSession(client, server);
    await client.disconnect();
    await connectSession(client, server, 'alice', 's-2');
    assert.equal(server.sockets.length, 2);
    assert.deepEqual(client.session, { session: 's-2', name: 'alice', version: 1 });
  });

  for (const type of ['session', 'connected']) {
    test(`disconnect() in a ${type} listener: nothing is thrown out of the socket's message handler, connect() settles, and the next connect() opens a session that reconnects`, async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
      t.mock.method(Math, 'random', () => 1);
      const { server, client } = setup({ reconnect: { initialDelayMs: 100, maxDelayMs: 100 } });
      const errors = recordEvents(client, 'error');
      const events = recordEvents(client, 'connected');
      const off = client.on(type, () => client.disconnect());
      const connecting = client.connect('alice');
      await flush();
      const ws = server.socket;
      ws.open();
      await flush();
      assert.doesNotThrow(() => ws.reply(ws.next('connect'), { status: 'OK', session: 's-1', version: 2 }));
      assert.deepEqual(await connecting, { session: 's-1', name: 'alice', version: 2 });
      off();
      assert.equal(client.state, 'idle');
      assert.equal(client.session, null);
      assert.deepEqual(events.length, type === 'session' ? 0 : 1, 'no connected event for a session already ended');
      // Nothing is left stuck: a new connect() works, and a drop after it reopens the session.
      const again = client.connect('alice');
      await flush();
      const ws2 = server.socket;
      ws2.open();
      await flush();
      ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2', version: 2 });
      await again;
      ws2.drop();
      t.mock.timers.tick(100);
      const ws3 = server.socket;
      assert.notEqual(ws3, ws2);
      ws3.open();
      await flush();
      assert.equal(ws3.next('connect').param, 'alice', 'the session is reopened after the reconnect');
      assert.deepEqual(errors, []);
    });
  }

  test('a throw while a reply is applied (here a subclass\'s query() that throws, called to watch again) is an error event, never out of the socket\'s handler; the call the reply answers settles', async () => {
    class Throwing extends DistLockClient {
      query() {
        throw new Error('boom');
      }
    }
    const server = new FakeServer();
    const client = new Throwing(URL_, { WebSocket: server.WebSocket });
    const ws = await connectSession(client, server, 'alice', 's-1', { version: 2 });
    const watching = client.watch({ prefix: 'doc-' }, () => {});
    ws.reply(ws.next('watch'), { status: 'OK' });
    await watching;
    ws.push({ status: 'CHANGED', lock: 'doc-1', state: { holders: [{ mode: 'exclusive', since: 1 }], queue: [] } });
    await client.disconnect();
    const errors = recordEvents(client, 'error');
    const connecting = client.connect('alice');
    await flush();
    const ws2 = server.socket;
    ws2.open();
    await flush();
    assert.doesNotThrow(() => ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2', version: 2 }));
    ws2.reply(ws2.next('watch'), { status: 'OK' }); // sent before query() was called
    assert.equal((await rejection(connecting)).message, 'boom');
    assert.deepEqual(errors.map(([, { error }]) => error.message), ['boom']);
  });
});
