import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DistLockClient } from '../src/distlock.js';
import { FakeServer, connectSession, flush } from './support/fake-websocket.js';

/** A request() callback's lock without its `signal`, to compare. */
function withoutSignal({ signal, ...lock }) {
  return lock;
}

async function connected(options = {}) {
  const server = new FakeServer();
  const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket, ...options });
  const ws = await connectSession(client, server);
  return { server, client, ws };
}

/** A promise with its resolve/reject outside, to control when a callback finishes. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Records whether a promise settled, without awaiting it. */
function track(promise) {
  const state = { settled: false, value: undefined, error: undefined };
  promise.then((value) => { state.settled = true; state.value = value; },
    (error) => { state.settled = true; state.error = error; });
  return state;
}

describe('request()', () => {
  test('takes the lock, runs the callback with {name, mode, token}, unlocks when it settles, and resolves with its result', async () => {
    const { client, ws } = await connected();
    const work = deferred();
    let seen;
    const requesting = track(client.request('doc', async (lock) => {
      seen = lock;
      return work.promise;
    }));
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 100 });
    await flush();
    assert.ok(seen.signal instanceof AbortSignal && !seen.signal.aborted);
    assert.deepEqual(withoutSignal(seen), { name: 'doc', mode: 'exclusive', token: 100 });
    ws.expectNothingSent(); // no unlock while the callback runs
    work.resolve('done');
    await flush();
    const unlock = ws.next('unlock');
    assert.equal(unlock.param, 'doc');
    assert.equal(requesting.settled, false, 'settles after the unlock is answered');
    ws.reply(unlock, { status: 'OK' });
    await flush();
    assert.equal(requesting.value, 'done');
  });

  test('options may be left out or given; a sync callback works too', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', {}, () => 7);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 7);
  });

  test('a callback that throws still releases the lock, and the call rejects with its error', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', async () => { throw new Error('boom'); });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await assert.rejects(requesting, /boom/);
  });

  test('waits with WAIT and RETRY, asks again after every RETRY (another session may win), then runs', async () => {
    const { client, ws } = await connected();
    let ran = 0;
    const requesting = client.request('doc', () => { ran++; return 'ok'; });
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT', holder: 'bob' });
    await flush();
    ws.expectNothingSent();
    ws.push({ status: 'RETRY', message: 'other-doc', lock: 'other-doc' }); // not ours: keep waiting
    await flush();
    ws.expectNothingSent();
    ws.push({ status: 'RETRY', message: 'doc', lock: 'doc' });
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT', holder: 'carol' }); // carol was faster
    await flush();
    assert.equal(ran, 0);
    ws.push({ status: 'RETRY', message: 'doc', lock: 'doc' });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 3 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'ok');
    assert.equal(ran, 1);
  });

  test('a RETRY delivered right behind the WAIT (same tick) is not missed', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', () => 'ok');
    await flush();
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'WAIT', holder: 'bob' });
    ws.push({ status: 'RETRY', message: 'doc', lock: 'doc' }); // before any continuation ran
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 2 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'ok');
  });

  test('requests for the same name in one client queue locally and never overlap', async () => {
    const { client, ws } = await connected();
    const log = [];
    const first = deferred();
    const a = client.request('doc', async (lock) => { log.push(`a:${lock.token}`); await first.promise; log.push('a done'); });
    const b = client.request('doc', async (lock) => { log.push(`b:${lock.token}`); });
    const other = client.request('other', async (lock) => { log.push(`other:${lock.token}`); });
    await flush();
    const lockA = ws.next('lock');
    const lockOther = ws.next('lock');
    assert.equal(lockA.param, 'doc');
    assert.equal(lockOther.param, 'other', 'another name does not wait for doc');
    ws.expectNothingSent(); // b waits locally: the server would grant it to the same session
    ws.reply(lockA, { status: 'LOCKED', token: 10 });
    ws.reply(lockOther, { status: 'LOCKED', token: 20 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' }); // other's
    await flush();
    ws.expectNothingSent();
    first.resolve();
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' }); // a's
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 11 }); // b's turn
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await Promise.all([a, b, other]);
    assert.deepEqual(log, ['a:10', 'other:20', 'a done', 'b:11']);
  });

  test('ifAvailable: WAIT calls callback(null) without waiting, and resolves with its result', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', { ifAvailable: true }, (lock) => (lock === null ? 'busy' : 'mine'));
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT', holder: 'bob' });
    assert.equal(await requesting, 'busy');
    ws.expectNothingSent();
  });

  test('ifAvailable: a free lock is taken and released as usual', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', { ifAvailable: true }, (lock) => lock?.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 5);
  });

  test('ifAvailable: held by another request() of this client means not available, without asking the server', async () => {
    const { client, ws } = await connected();
    const hold = deferred();
    const holder = client.request('doc', () => hold.promise);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    assert.equal(await client.request('doc', { ifAvailable: true }, (lock) => lock), null);
    ws.expectNothingSent();
    hold.resolve();
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await holder;
  });

  test('an AbortSignal aborted while waiting for RETRY rejects with its reason and stops waiting', async () => {
    const { client, ws } = await connected();
    const controller = new AbortController();
    let ran = false;
    const requesting = client.request('doc', { signal: controller.signal }, () => { ran = true; });
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT', holder: 'bob' });
    await flush();
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    ws.push({ status: 'RETRY', message: 'doc', lock: 'doc' });
    await flush();
    ws.expectNothingSent();
    assert.equal(ran, false);
  });

  test('an abort reason given to abort() is the rejection', async () => {
    const { client, ws } = await connected();
    const controller = new AbortController();
    const requesting = client.request('doc', { signal: controller.signal }, () => {});
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT' });
    await flush();
    const reason = new Error('user went away');
    controller.abort(reason);
    assert.equal(await requesting.catch((error) => error), reason);
  });

  test('an already aborted signal rejects at once and sends nothing', async () => {
    const { client, ws } = await connected();
    await assert.rejects(client.request('doc', { signal: AbortSignal.abort() }, () => {}), { name: 'AbortError' });
    ws.expectNothingSent();
  });

  test('aborted while queued behind a local holder: leaves the queue, the next one gets its turn', async () => {
    const { client, ws } = await connected();
    const hold = deferred();
    const holder = client.request('doc', () => hold.promise);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    const controller = new AbortController();
    const aborted = client.request('doc', { signal: controller.signal }, () => 'never');
    const third = client.request('doc', (lock) => lock.token);
    await flush();
    controller.abort();
    await assert.rejects(aborted, { name: 'AbortError' });
    hold.resolve();
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 2 }); // the third's, not the aborted one's
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await holder;
    assert.equal(await third, 2);
    ws.expectNothingSent();
  });

  test('aborted while the lock request is in flight: a LOCKED that arrives anyway is released', async () => {
    const { client, ws } = await connected();
    const controller = new AbortController();
    const requesting = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const frame = ws.next('lock');
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    ws.reply(frame, { status: 'LOCKED', token: 4 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('aborted right behind the LOCKED, while the token is on its way to the callback: the lock is released and the name free', async () => {
    for (const version of [1, 2]) {
      for (let depth = 1; depth <= 8; depth++) {
        const server = new FakeServer();
        const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket });
        const ws = await connectSession(client, server, 'alice', 's-1', { version });
        const controller = new AbortController();
        let ran = false;
        client.request('doc', { signal: controller.signal }, () => { ran = true; }).catch(() => {});
        await flush();
        ws.reply(ws.next('lock'), { status: 'LOCKED', token: 4 });
        let abort = () => controller.abort();
        for (let i = 0; i < depth; i++) {
          const inner = abort;
          abort = () => queueMicrotask(inner);
        }
        abort();
        await flush();
        const unlock = ws.next('unlock'); // after the callback, or instead of it
        assert.equal(unlock.param, 'doc', `version ${version}, depth ${depth}, ran: ${ran}`);
        ws.reply(unlock, { status: 'OK' });
        await flush();
        const next = client.request('doc', () => 'next');
        await flush();
        ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 }); // the name is free in this client
        await flush();
        ws.reply(ws.next('unlock'), { status: 'OK' });
        assert.equal(await next, 'next');
        ws.expectNothingSent();
      }
    }
  });

  test('aborted while the lock request is in flight: a WAIT that arrives anyway does not keep the name queued', async () => {
    const { client, ws } = await connected();
    const controller = new AbortController();
    const requesting = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const frame = ws.next('lock');
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    ws.reply(frame, { status: 'WAIT', holder: 'bob' });
    await flush();
    const next = client.request('doc', (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 6 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 6);
  });

  test('the signal no longer matters once the callback runs', async () => {
    const { client, ws } = await connected();
    const controller = new AbortController();
    const work = deferred();
    const requesting = client.request('doc', { signal: controller.signal }, () => work.promise);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 4 });
    await flush();
    controller.abort();
    work.resolve('finished');
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'finished');
  });

  test('a lock LOST during the callback: its signal aborts, the callback completes, no unlock is sent, the call rejects with LOST', async () => {
    const { client, ws } = await connected();
    const work = deferred();
    const lost = [];
    let signal;
    client.on('lost', (detail) => lost.push(detail));
    const requesting = client.request('doc', (lock) => {
      signal = lock.signal;
      return work.promise;
    });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 8 });
    await flush();
    ws.push({ status: 'LOST', message: 'doc', lock: 'doc', reason: 'stolen', by: 'bob' });
    assert.equal(signal.aborted, true);
    work.resolve('completed');
    await assert.rejects(requesting, (error) => error === signal.reason && error.code === 'LOST'
      && error.lost.cause === 'stolen' && /stolen by bob/.test(error.message));
    ws.expectNothingSent();
    assert.deepEqual(lost, [{ lock: 'doc', token: 8, reason: 'LOST', cause: 'stolen', by: 'bob' }]);
  });

  test('an unlock that fails after the callback rejects the call, is reported, and is tried again until released; the lock stays out of reach meanwhile', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { client, ws } = await connected({ requestTimeoutMs: 1000 });
    const errors = [];
    client.on('error', ({ error }) => errors.push(error.code));
    const requesting = client.request('doc', () => 'result');
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'BACKEND_UNAVAILABLE', message: 'Redis is unreachable' });
    await assert.rejects(requesting, { code: 'BACKEND_UNAVAILABLE' });
    assert.deepEqual(errors, ['BACKEND_UNAVAILABLE'], 'reported, not swallowed');
    assert.deepEqual(client.heldLocks, new Map([['doc', 1]]));
    const next = track(client.request('doc', () => 'next'));
    await flush();
    ws.expectNothingSent(); // the next request() waits: the lock is about to be released
    t.mock.timers.tick(1000);
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 2 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    assert.equal(next.value, 'next');
  });

  test('an unlock that fails after a callback that threw: the callback\'s error is the call\'s, the unlock failure an error event', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { client, ws } = await connected({ requestTimeoutMs: 1000 });
    const errors = [];
    client.on('error', ({ error }) => errors.push(error.code));
    const requesting = client.request('doc', () => { throw new Error('callback failed'); });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'BACKEND_UNAVAILABLE', message: 'Redis is unreachable' });
    await assert.rejects(requesting, /callback failed/);
    assert.deepEqual(errors, ['BACKEND_UNAVAILABLE']);
    t.mock.timers.tick(1000);
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('close() during a callback: lost with reason CLOSED, the signal aborts, the call rejects with LOST', async () => {
    const { client, ws } = await connected();
    const work = deferred();
    const lost = [];
    let signal;
    client.on('lost', (detail) => lost.push(detail));
    const requesting = client.request('doc', (lock) => {
      signal = lock.signal;
      return work.promise;
    });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 4 });
    await flush();
    const closing = client.close();
    ws.reply(ws.next('close'), { status: 'OK' });
    await closing;
    assert.deepEqual(lost, [{ lock: 'doc', token: 4, reason: 'CLOSED' }]);
    assert.equal(signal.aborted, true);
    work.resolve('done');
    await assert.rejects(requesting, { code: 'LOST' });
    ws.expectNothingSent(); // no unlock: the session released it
  });

  test('request() for a lock the app holds through lock() rejects with ALREADY_HELD and never unlocks it', async () => {
    const { client, ws } = await connected();
    const locking = client.lock('doc');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 6 });
    await locking;
    let ran = false;
    await assert.rejects(client.request('doc', () => { ran = true; }), { code: 'ALREADY_HELD' });
    assert.equal(ran, false);
    let seen;
    await client.request('doc', { ifAvailable: true }, (lock) => { seen = lock; });
    assert.equal(seen, null, 'not available to request()');
    ws.expectNothingSent();
    assert.deepEqual(client.heldLocks, new Map([['doc', 6]]));
  });

  test('ifAvailable never calls back before request() returns', async () => {
    const { client, ws } = await connected();
    const holding = deferred();
    const first = client.request('doc', () => holding.promise);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    let called = false;
    const second = client.request('doc', { ifAvailable: true }, (lock) => { called = true; return lock; });
    assert.equal(called, false, 'called back synchronously');
    assert.equal(await second, null);
    holding.resolve();
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await first;
  });

  test('a FAIL while asking (e.g. BAD_NAME) rejects and frees the local queue', async () => {
    const { client, ws } = await connected();
    const bad = client.request('doc', () => 'never');
    const next = client.request('doc', () => 'next');
    await flush();
    ws.reply(ws.next('lock'), { status: 'FAIL', code: 'RATE_LIMITED', message: 'slow down' });
    await assert.rejects(bad, { code: 'RATE_LIMITED' });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 'next');
  });

  test('without a connection it rejects with NOT_CONNECTED', async () => {
    const server = new FakeServer();
    const client = new DistLockClient('ws://x/', { WebSocket: server.WebSocket });
    await assert.rejects(client.request('doc', () => {}), { code: 'NOT_CONNECTED' });
  });

  test('called while connect() is in flight, it waits for the session', async () => {
    const server = new FakeServer();
    const client = new DistLockClient('ws://x/', { WebSocket: server.WebSocket });
    const connecting = client.connect('alice');
    const requesting = client.request('doc', (lock) => lock.token);
    await flush();
    const ws = server.socket;
    ws.open();
    await flush();
    ws.reply(ws.next('connect'), { status: 'OK', session: 's-1' });
    await connecting;
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 3 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 3);
  });

  test('close() while waiting rejects the waiter with NOT_CONNECTED (no session is coming)', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', () => {});
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT' });
    await flush();
    const closing = client.close();
    ws.reply(ws.next('close'), { status: 'OK', message: 'Close session: alice' });
    await closing;
    await assert.rejects(requesting, { code: 'NOT_CONNECTED' });
  });

  test('unsupported Web Locks options are refused with NotSupportedError', async () => {
    const { client } = await connected();
    await assert.rejects(client.request('doc', { mode: 'shared' }, () => {}), { name: 'NotSupportedError' });
    await assert.rejects(client.request('doc', { steal: true }, () => {}), { name: 'NotSupportedError' });
    await assert.rejects(client.request('doc', {}), TypeError);
  });

  test('a signal of a browser before AbortSignal.throwIfAborted() (Chrome 84 to 99, Safari 15.0 to 15.3) is taken', async () => {
    const { client, ws } = await connected();
    const signal = Object.assign(new EventTarget(), { aborted: false }); // such a signal: no reason, no throwIfAborted()
    const requesting = client.request('doc', { signal }, () => 'ran');
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'ran');
  });

  test('options that are no object (a string, a number) are a TypeError and nothing is sent, as in Web Locks', async () => {
    const { client, ws } = await connected();
    let called = false;
    await assert.rejects(client.request('doc', 'shared', () => { called = true; }), TypeError);
    await assert.rejects(client.request('doc', 5, () => { called = true; }), TypeError);
    await flush();
    ws.expectNothingSent();
    assert.equal(called, false);
  });

  test('a signal that is no AbortSignal is a TypeError before anything is sent (as Web Locks), not a queue place left behind', async () => {
    const { client, ws } = await connected();
    let called = false;
    await assert.rejects(client.request('doc', { signal: {} }, () => { called = true; }), TypeError);
    await assert.rejects(client.request('doc', { signal: 'abort' }, () => { called = true; }), TypeError);
    await flush();
    ws.expectNothingSent();
    assert.equal(called, false);
  });
});

describe('request(): a grant lost right before, or while, its callback runs', () => {
  async function connectedV2(options = {}) {
    const server = new FakeServer();
    const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket, ...options });
    const ws = await connectSession(client, server, 'alice', 's-1', { version: 2 });
    return { server, client, ws };
  }

  // Several frames of one read are dispatched in one go (ws >= 8.17 does so synchronously), so
  // the LOST can be applied before request() has the token.
  test('a LOST right behind the LOCKED reply: the callback never runs, request() rejects with LOST and that LOST\'s detail, nothing is unlocked', async () => {
    const { client, ws } = await connectedV2();
    const lost = [];
    client.on('lost', (detail) => lost.push(detail));
    let called = false;
    const requesting = track(client.request('doc', () => { called = true; return 'done'; }));
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    ws.push({ status: 'LOST', lock: 'doc', token: 5, reason: 'stolen', by: 'bob' }); // same tick
    await flush();
    assert.equal(called, false, 'the callback ran with a lock the session no longer holds');
    assert.equal(requesting.settled, true);
    assert.equal(requesting.error?.code, 'LOST', `request() resolved with ${JSON.stringify(requesting.value)}`);
    assert.deepEqual(requesting.error.lost, { lock: 'doc', token: 5, reason: 'LOST', cause: 'stolen', by: 'bob' });
    assert.deepEqual(lost, [requesting.error.lost]);
    ws.expectNothingSent(); // not the session's: no unlock
    // The name is free for the next request().
    const next = client.request('doc', (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 6 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 6);
  });

  test('a drop without grace right behind the LOCKED reply (version 1): the callback never runs, request() rejects with LOST (DISCONNECTED)', async () => {
    const { client, ws } = await connected({ reconnect: false });
    let called = false;
    const requesting = track(client.request('doc', () => { called = true; }));
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    ws.drop(); // same tick
    await flush();
    assert.equal(called, false);
    assert.equal(requesting.error?.code, 'LOST', `request() settled with ${JSON.stringify(requesting)}`);
    assert.deepEqual(requesting.error.lost, { lock: 'doc', token: 5, reason: 'DISCONNECTED' });
  });

  test('close() answered right behind the LOCKED reply: the callback never runs, request() rejects with LOST (CLOSED)', async () => {
    const { client, ws } = await connectedV2();
    let called = false;
    const requesting = track(client.request('doc', () => { called = true; }));
    await flush();
    const lockFrame = ws.next('lock');
    const closing = client.close();
    const closeFrame = ws.next('close');
    ws.reply(lockFrame, { status: 'LOCKED', token: 5 });
    ws.reply(closeFrame, { status: 'OK' }); // same tick
    await closing;
    await flush();
    assert.equal(called, false);
    assert.equal(requesting.error?.code, 'LOST', `request() settled with ${JSON.stringify(requesting)}`);
    assert.deepEqual(requesting.error.lost, { lock: 'doc', token: 5, reason: 'CLOSED' });
  });

  test('the unlock after the callback is answered NOT_OWNER, the server\'s LOST right after: request() rejects with LOST and that LOST\'s cause', async () => {
    const { client, ws } = await connectedV2();
    const lost = [];
    client.on('lost', (detail) => lost.push(detail));
    const requesting = track(client.request('doc', () => 'done'));
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'lost before it was released' });
    ws.push({ status: 'LOST', lock: 'doc', token: 5, reason: 'stolen', by: 'bob' });
    await flush();
    assert.equal(requesting.settled, true);
    assert.equal(requesting.error?.code, 'LOST',
      `request() resolved with ${JSON.stringify(requesting.value)} although its lock was stolen while the callback ran`);
    assert.deepEqual(requesting.error.lost, { lock: 'doc', token: 5, reason: 'LOST', cause: 'stolen', by: 'bob' });
    assert.deepEqual(lost, [requesting.error.lost]);
  });

  test('the unlock after the callback is answered NOT_OWNER and no LOST follows: request() rejects with LOST after requestTimeoutMs', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { client, ws } = await connectedV2({ requestTimeoutMs: 1000 });
    const requesting = track(client.request('doc', () => 'done'));
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'not held' });
    await flush();
    assert.equal(requesting.settled, false, 'waits for the server\'s LOST, which says why');
    t.mock.timers.tick(1000);
    await flush();
    assert.equal(requesting.error?.code, 'LOST', `request() settled with ${JSON.stringify(requesting)}`);
    assert.deepEqual(requesting.error.lost, { lock: 'doc', token: 5, reason: 'LOST' });
  });

  test('disconnect() ends the wait before retrying a failed unlock: no timer of the client outlives it', async () => {
    const { client, ws } = await connectedV2({ requestTimeoutMs: 3000 });
    client.on('error', () => {});
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = timers();
    const requesting = client.request('doc', () => 'done');
    requesting.catch(() => {});
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'BACKEND_UNAVAILABLE' });
    await flush();
    await assert.rejects(requesting, { code: 'BACKEND_UNAVAILABLE' });
    await client.disconnect();
    await flush();
    await flush();
    assert.equal(timers(), before, 'a setTimeout of the client outlives disconnect()');
  });
});
