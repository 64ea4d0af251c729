// Protocol version 2 on the client: negotiation, lock() with mode/wait/timeout, cancel(), the
// GRANTED and CANCELLED pushes, and request() waiting in the server's queue. Against a version
// 1 server (a connect reply without `version`) the same calls keep the version 1 behaviour.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DistLockClient, DistLockError } from '../src/distlock.js';
import { FakeServer, connectSession, flush, recordEvents } from './support/fake-websocket.js';

/** A request() callback's lock without its `signal`, to compare. */
function withoutSignal({ signal, ...lock }) {
  return lock;
}

const URL_ = 'ws://localhost/distlock/lock';

/** A client with a session on a version 2 server (or `version: 1`: a server that does not know it). */
async function connected({ version = 2, ...options } = {}) {
  const server = new FakeServer();
  const client = new DistLockClient(URL_, { WebSocket: server.WebSocket, ...options });
  const ws = await connectSession(client, server, 'alice', 's-1', version === 2 ? { version: 2 } : {});
  return { server, client, ws };
}

/** The same on fake timers (setTimeout and Date), with the reconnect jitter fixed. */
async function connectedOnFakeTime(t, options = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.mock.method(Math, 'random', () => 1);
  return connected({ reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, ...options });
}

/** Records whether a promise settled, without awaiting it. */
function track(promise) {
  const state = { settled: false, value: undefined, error: undefined };
  promise.then((value) => { state.settled = true; state.value = value; },
    (error) => { state.settled = true; state.error = error; });
  return state;
}

function deferred() {
  let resolve;
  const promise = new Promise((res) => { resolve = res; });
  return { promise, resolve };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

/** The frame without its id, to compare whole frames. */
function withoutId({ id, ...frame }) {
  assert.ok(Number.isInteger(id), `a request id: ${JSON.stringify(frame)}`);
  return frame;
}

/** A GRANTED push for the queued request `frame`, as a version 2 server sends it. */
function grant(ws, frame, token, mode = 'exclusive') {
  ws.push({ status: 'GRANTED', message: frame.param, time: Date.now(), lock: frame.param, token, mode, request: frame.id });
}

describe('negotiation', () => {
  test('connect asks for version 2; a reply with "version": 2 makes a version 2 session', async () => {
    const { client } = await connected(); // connectSession checks the frame's "version": 2
    assert.deepEqual(client.session, { session: 's-1', name: 'alice', version: 2 });
  });

  test('a reply without version is a version 1 server: the session says version 1', async () => {
    const { client } = await connected({ version: 1 });
    assert.equal(client.session.version, 1);
  });

  test('the automatic connect after a reconnect asks for version 2 too, and reads the answer again', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const sessions = recordEvents(client, 'session');
    ws.drop();
    t.mock.timers.tick(100);
    const ws2 = server.socket;
    ws2.open();
    const frame = ws2.next('connect');
    assert.deepEqual(withoutId(frame), { action: 'connect', param: 'alice', version: 2 });
    ws2.reply(frame, { status: 'OK', session: 's-2' }); // this node is still on version 1
    await flush();
    assert.deepEqual(sessions, [['session', { session: 's-2', name: 'alice', version: 1, reconnected: true }]]);
  });
});

describe('lock(), cancel() and the pushes on a version 2 session', () => {
  test('lock with wait, mode and timeout sends them; QUEUED resolves with position, holder and the request id', async () => {
    const { client, ws } = await connected();
    const locking = client.lock('doc', { mode: 'shared', wait: true, timeout: 5000 });
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', mode: 'shared', wait: true, timeout: 5000 });
    ws.reply(frame, { status: 'QUEUED', message: 'doc', lock: 'doc', position: 2, holder: 'bob' });
    assert.deepEqual(await locking, { status: 'QUEUED', position: 2, holder: 'bob', request: frame.id });
  });

  test('a QUEUED without holder (hidden holders) has no holder key', async () => {
    const { client, ws } = await connected();
    const locking = client.lock('doc', { wait: true });
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1 });
    assert.deepEqual(await locking, { status: 'QUEUED', position: 1, request: frame.id });
  });

  test('defaults are not sent: lock(name) is the version 1 frame, and exclusive, wait: false add nothing', async () => {
    const { client, ws } = await connected();
    const a = client.lock('a');
    const b = client.lock('b', { mode: 'exclusive', wait: false });
    const frameA = ws.next('lock');
    const frameB = ws.next('lock');
    assert.deepEqual(withoutId(frameA), { action: 'lock', param: 'a' });
    assert.deepEqual(withoutId(frameB), { action: 'lock', param: 'b' });
    ws.reply(frameA, { status: 'LOCKED', token: 1 });
    ws.reply(frameB, { status: 'WAIT' });
    assert.deepEqual(await Promise.all([a, b]), [{ status: 'LOCKED', token: 1 }, { status: 'WAIT' }]);
  });

  test('GRANTED is a granted event with lock, token, mode and request, and the lock is held from then on', async () => {
    const { client, ws } = await connected();
    const events = recordEvents(client, 'granted');
    const locking = client.lock('doc', { wait: true, mode: 'shared' });
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1, holder: 'bob' });
    const { request } = await locking;
    assert.deepEqual(client.heldLocks, new Map());
    grant(ws, frame, 41, 'shared');
    assert.deepEqual(events, [['granted', { lock: 'doc', token: 41, mode: 'shared', request }]]);
    assert.deepEqual(client.heldLocks, new Map([['doc', 41]]));
  });

  test('CANCELLED is a cancelled event with the reason; nothing is held', async () => {
    const { client, ws } = await connected();
    const events = recordEvents(client, 'cancelled');
    const locking = client.lock('doc', { wait: true, timeout: 100 });
    ws.reply(ws.next('lock'), { status: 'QUEUED', lock: 'doc', position: 3 });
    await locking;
    ws.push({ status: 'CANCELLED', message: 'doc', lock: 'doc', reason: 'timeout' });
    assert.deepEqual(events, [['cancelled', { lock: 'doc', reason: 'timeout' }]]);
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('LOST from a version 2 server carries its reason as cause', async () => {
    const { client, ws } = await connected();
    const locking = client.lock('doc');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await locking;
    const events = recordEvents(client, 'lost');
    ws.push({ status: 'LOST', message: 'doc', lock: 'doc', reason: 'lease' });
    ws.push({ status: 'LOST', message: 'other', lock: 'other', reason: 'taken' });
    assert.deepEqual(events, [
      ['lost', { lock: 'doc', token: 5, reason: 'LOST', cause: 'lease' }],
      ['lost', { lock: 'other', token: undefined, reason: 'LOST', cause: 'taken' }],
    ]);
  });

  test('a LOST naming another grant than the one held (it came after the LOCKED of the lock taken again) ends nothing', async () => {
    const { client, ws } = await connected();
    const locking = client.lock('doc');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await locking;
    const unlocking = client.unlock('doc'); // crosses a steal: the server tells NOT_OWNER, its LOST comes later
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'lost before it was released' });
    await assert.rejects(unlocking, { code: 'NOT_OWNER' });
    const again = client.lock('doc', { steal: true });
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 9 });
    await again;
    const events = recordEvents(client, 'lost');
    ws.push({ status: 'LOST', message: 'doc', lock: 'doc', reason: 'stolen', by: 'bob', token: 5 });
    assert.deepEqual(events, [], 'the grant it names ended before');
    assert.deepEqual(client.heldLocks, new Map([['doc', 9]]));
    ws.push({ status: 'LOST', message: 'doc', lock: 'doc', reason: 'lease', token: 9 });
    assert.deepEqual(events, [['lost', { lock: 'doc', token: 9, reason: 'LOST', cause: 'lease' }]]);
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('the LOST of a grant whose unlock was answered NOT_OWNER (it comes after that reply) is told, with that grant\'s token', async () => {
    const { client, ws } = await connected();
    const locking = client.lock('doc');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await locking;
    const events = recordEvents(client, 'lost');
    const unlocking = client.unlock('doc');
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'lost before it was released' });
    await assert.rejects(unlocking, { code: 'NOT_OWNER' });
    ws.push({ status: 'LOST', message: 'doc', lock: 'doc', reason: 'stolen', by: 'bob', token: 5 });
    ws.push({ status: 'LOST', message: 'doc', lock: 'doc', reason: 'stolen', by: 'bob', token: 5 });
    assert.deepEqual(events, [['lost', { lock: 'doc', token: 5, reason: 'LOST', cause: 'stolen', by: 'bob' }]], 'told once');
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('what an unlock answered NOT_OWNER keeps for its LOST ends once that LOST can no longer come: at the reply to a request sent after the NOT_OWNER (a server tells the LOST before it), so unlocks refused in a loop keep one', async () => {
    const { client, ws } = await connected();
    const events = recordEvents(client, 'lost');
    for (let i = 0; i < 50; i++) {
      const locking = client.lock(`doc-${i}`);
      ws.reply(ws.next('lock'), { status: 'LOCKED', token: 100 + i });
      await locking;
      const unlocking = client.unlock(`doc-${i}`);
      ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'lost before it was released' });
      await assert.rejects(unlocking, { code: 'NOT_OWNER' });
    }
    // LOSTs no server sends that late: only the last refused grant's may still come.
    for (let i = 0; i < 50; i++) ws.push({ status: 'LOST', lock: `doc-${i}`, token: 100 + i, reason: 'lease' });
    assert.deepEqual(events, [['lost', { lock: 'doc-49', token: 149, reason: 'LOST', cause: 'lease' }]]);
  });

  test('a CANCELLED naming an earlier request (it came after the QUEUED of a request that queued anew) ends nothing', async () => {
    const { client, ws } = await connected();
    const events = recordEvents(client, 'cancelled', 'granted');
    const first = client.lock('doc', { wait: true, timeout: 100 });
    const firstFrame = ws.next('lock');
    ws.reply(firstFrame, { status: 'QUEUED', lock: 'doc', position: 1 });
    await first;
    const second = client.lock('doc', { wait: true });
    const secondFrame = ws.next('lock');
    ws.reply(secondFrame, { status: 'QUEUED', lock: 'doc', position: 2 });
    await second;
    ws.push({ status: 'CANCELLED', message: 'doc', lock: 'doc', reason: 'timeout', request: firstFrame.id });
    assert.deepEqual(events, [], 'the place it names ended before');
    ws.push({ status: 'CANCELLED', message: 'doc', lock: 'doc', reason: 'backend', request: secondFrame.id });
    assert.deepEqual(events, [['cancelled', { lock: 'doc', reason: 'backend' }]]);
    ws.push({ status: 'CANCELLED', message: 'doc', lock: 'doc', reason: 'backend', request: secondFrame.id });
    assert.equal(events.length, 1, 'told once');
  });

  test('cancel() sends cancel; OK resolves, NOT_QUEUED rejects with that code', async () => {
    const { client, ws } = await connected();
    const cancelling = client.cancel('doc');
    const frame = ws.next('cancel');
    assert.deepEqual(withoutId(frame), { action: 'cancel', param: 'doc' });
    ws.reply(frame, { status: 'OK', message: 'doc' });
    assert.equal(await cancelling, undefined);
    const again = client.cancel('doc');
    ws.reply(ws.next('cancel'), { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued for doc' });
    assert.equal((await rejection(again)).code, 'NOT_QUEUED');
  });

  test('lockAll with mode: shared sends it', async () => {
    const { client, ws } = await connected();
    const locking = client.lockAll(['a', 'b'], { mode: 'shared' });
    const frame = ws.next('mlock');
    assert.deepEqual(withoutId(frame), { action: 'mlock', params: ['a', 'b'], mode: 'shared' });
    ws.reply(frame, { status: 'LOCKED', locks: ['a', 'b'], tokens: { a: 1, b: 2 } });
    assert.deepEqual(await locking, { status: 'LOCKED', tokens: { a: 1, b: 2 } });
  });

  test('bad options are refused before anything is sent', async () => {
    const { client, ws } = await connected();
    await assert.rejects(client.lock('doc', { mode: 'read' }), TypeError);
    await assert.rejects(client.lock('doc', { timeout: 1000 }), /only allowed with wait/);
    await assert.rejects(client.lock('doc', { wait: true, timeout: 0 }), RangeError);
    await assert.rejects(client.lock('doc', { wait: true, timeout: 3_600_001 }), RangeError);
    await assert.rejects(client.lock('doc', { wait: 'yes' }), TypeError);
    await assert.rejects(client.lock('doc', null), TypeError);
    await assert.rejects(client.lockAll(['a'], { mode: 'read' }), TypeError);
    for (const mlockNever of [{ wait: true }, { steal: true }, { ask: true }, { timeout: 1000 }]) { // it was ignored
      await assert.rejects(client.lockAll(['a'], mlockNever), /lockAll\(\) takes only mode/);
    }
    ws.expectNothingSent();
  });

  test('a queued lock() whose reply came after its TIMEOUT: the client leaves the queue, and unlocks a grant that crossed it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { client, ws } = await connected({ requestTimeoutMs: 1000 });
    const locking = client.lock('doc', { wait: true });
    const frame = ws.next('lock');
    t.mock.timers.tick(1000);
    assert.equal((await rejection(locking)).code, 'TIMEOUT');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1 });
    const cancel = ws.next('cancel');
    grant(ws, frame, 9); // granted before the server read the cancel
    ws.reply(cancel, { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
    ws.expectNothingSent();
  });
});

describe('on a version 1 server', () => {
  test('lock() sends the version 1 frame, and version 2 options are refused with NOT_SUPPORTED, nothing sent', async () => {
    const { client, ws } = await connected({ version: 1 });
    const locking = client.lock('doc');
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc' });
    ws.reply(frame, { status: 'LOCKED', token: 1 });
    assert.deepEqual(await locking, { status: 'LOCKED', token: 1 });
    for (const call of [
      () => client.lock('doc', { wait: true }),
      () => client.lock('doc', { mode: 'shared' }),
      () => client.lock('doc', { wait: true, timeout: 10 }),
      () => client.lockAll(['a'], { mode: 'shared' }),
      () => client.cancel('doc'),
    ]) {
      const error = await rejection(call());
      assert.ok(error instanceof DistLockError);
      assert.equal(error.code, 'NOT_SUPPORTED');
      assert.match(error.message, /version 2/);
    }
    ws.expectNothingSent();
    // exclusive and wait: false are version 1's meaning: allowed, and not sent
    const again = client.lock('doc', { mode: 'exclusive', wait: false });
    const frame2 = ws.next('lock');
    assert.deepEqual(withoutId(frame2), { action: 'lock', param: 'doc' });
    ws.reply(frame2, { status: 'LOCKED', token: 1 });
    await again;
  });

  test('request() waits with WAIT and RETRY as before: lock frames without wait or mode', async () => {
    const { client, ws } = await connected({ version: 1 });
    const requesting = client.request('doc', (lock) => lock);
    await flush();
    const first = ws.next('lock');
    assert.deepEqual(withoutId(first), { action: 'lock', param: 'doc' });
    ws.reply(first, { status: 'WAIT', holder: 'bob' });
    await flush();
    ws.expectNothingSent();
    ws.push({ status: 'RETRY', message: 'doc', lock: 'doc' });
    await flush();
    const second = ws.next('lock');
    assert.deepEqual(withoutId(second), { action: 'lock', param: 'doc' });
    ws.reply(second, { status: 'LOCKED', token: 3 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.deepEqual(withoutSignal(await requesting), { name: 'doc', mode: 'exclusive', token: 3 });
  });

  test('request() tells onQueued the holder of each WAIT on a version 1 server', async () => {
    const { client, ws } = await connected({ version: 1 });
    const told = [];
    const requesting = client.request('doc', { onQueued: (info) => told.push(info) }, (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT', holder: 'bob' });
    await flush();
    assert.deepEqual(told.map(({ position, holder }) => [position, holder]), [[undefined, 'bob']]);
    ws.push({ status: 'RETRY', message: 'doc', lock: 'doc' });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 3 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 3);
  });

  test('request() with mode: shared rejects with NotSupportedError and sends nothing', async () => {
    const { client, ws } = await connected({ version: 1 });
    const error = await rejection(client.request('doc', { mode: 'shared' }, () => 'never'));
    assert.equal(error.name, 'NotSupportedError');
    assert.match(error.message, /version 2/);
    ws.expectNothingSent();
    // and the name is free again for the next request()
    const next = client.request('doc', (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 4 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 4);
  });

  test('request() with a timeout: the client times the RETRY wait itself and rejects with CANCELLED, reason timeout', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t, { version: 1 });
    const requesting = client.request('doc', { timeout: 500 }, () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT', holder: 'bob' });
    await flush();
    t.mock.timers.tick(499);
    await flush();
    const state = track(requesting);
    await flush();
    assert.equal(state.settled, false);
    t.mock.timers.tick(1);
    const error = await rejection(requesting);
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.reason, 'timeout');
    ws.push({ status: 'RETRY', message: 'doc', lock: 'doc' });
    await flush();
    ws.expectNothingSent();
  });
});

describe('request() on a version 2 server: the queue', () => {
  test('QUEUED then GRANTED: lock with wait: true, the callback runs with the granted token, then unlock', async () => {
    const { client, ws } = await connected();
    let ran = 0;
    const requesting = track(client.request('doc', (lock) => { ran++; return lock; }));
    await flush();
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', wait: true });
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1, holder: 'bob' });
    await flush();
    ws.expectNothingSent();
    assert.equal(ran, 0, 'queued: the callback waits');
    ws.push({ status: 'RETRY', message: 'doc', lock: 'doc' }); // not how v2 grants: ignored
    await flush();
    ws.expectNothingSent();
    grant(ws, frame, 77);
    await flush();
    assert.equal(ran, 1);
    const unlock = ws.next('unlock');
    assert.equal(unlock.param, 'doc');
    assert.equal(requesting.settled, false);
    ws.reply(unlock, { status: 'OK' });
    await flush();
    assert.deepEqual(withoutSignal(requesting.value), { name: 'doc', mode: 'exclusive', token: 77 });
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('onQueued is told the position and the holder of a QUEUED, not called for a lock granted at once; what it throws is an error event', async () => {
    const { client, ws } = await connected();
    const told = [];
    const requesting = client.request('doc', { onQueued: (info) => told.push(info) }, (lock) => lock.token);
    await flush();
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 2, holder: 'bob' });
    await flush();
    assert.deepEqual(told.map(({ position, holder }) => [position, holder]), [[2, 'bob']]);
    grant(ws, frame, 9);
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 9);

    const errors = recordEvents(client, 'error');
    const throwing = client.request('doc', { onQueued: () => { throw new Error('app bug'); } }, (lock) => lock.token);
    await flush();
    const second = ws.next('lock');
    ws.reply(second, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    assert.equal(errors.length, 1);
    grant(ws, second, 10);
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await throwing, 10, 'the request goes on');

    const atOnce = client.request('doc', { onQueued: () => told.push('never') }, (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 11 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await atOnce, 11);
    assert.equal(told.length, 1);
    await assert.rejects(client.request('doc', { onQueued: 'no' }, () => 0), TypeError);
  });

  test('LOCKED at once: no waiting, no cancel', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 5);
    ws.expectNothingSent();
  });

  test('a GRANTED right behind the QUEUED (same tick), or even before it, is not missed', async () => {
    const { client, ws } = await connected();
    const behind = client.request('a', (lock) => lock.token);
    const before = client.request('b', (lock) => lock.token);
    await flush();
    const a = ws.next('lock');
    const b = ws.next('lock');
    ws.reply(a, { status: 'QUEUED', lock: 'a', position: 1 });
    grant(ws, a, 10);
    grant(ws, b, 20);
    ws.reply(b, { status: 'QUEUED', lock: 'b', position: 1 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.deepEqual(await Promise.all([behind, before]), [10, 20]);
  });

  test('a GRANTED lost in the same tick, before the waiting request() took it: it asks again instead of running without the lock', async () => {
    const { client, ws } = await connected();
    let seen;
    const requesting = client.request('a', (lock) => { seen = [lock.token, client.heldLocks.get('a')]; return 'done'; });
    await flush();
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', lock: 'a', position: 1 });
    grant(ws, ask, 10);
    ws.push({ status: 'LOST', lock: 'a', reason: 'taken' });
    await flush();
    assert.equal(seen, undefined);
    const again = ws.next('lock');
    assert.equal(again.wait, true);
    ws.reply(again, { status: 'QUEUED', lock: 'a', position: 1 });
    grant(ws, again, 11);
    await flush();
    assert.deepEqual(seen, [11, 11]);
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'done');
    ws.expectNothingSent();
  });

  test('lock() and lockAll() of a name a request() holds or waits for reject with ALREADY_HELD, sending nothing; the request()\'s lock is left alone', async () => {
    const { client, ws } = await connected();
    const lost = recordEvents(client, 'lost');
    const work = deferred();
    const requesting = client.request('doc', () => work.promise);
    await flush();
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', position: 1 });
    await flush();
    await assert.rejects(client.lock('doc', { wait: true }), { code: 'ALREADY_HELD' }); // waiting in the queue
    grant(ws, ask, 7);
    await flush();
    await assert.rejects(client.lock('doc'), { code: 'ALREADY_HELD' }); // the callback runs
    await assert.rejects(client.lockAll(['other', 'doc']), { code: 'ALREADY_HELD' });
    ws.expectNothingSent();
    work.resolve('done');
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'done');
    const locking = client.lock('doc'); // the request() is over: the application's to take
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 8 });
    assert.deepEqual(await locking, { status: 'LOCKED', token: 8 });
    assert.deepEqual(lost, []);
  });

  test('cancel(), unlock() and unlockAll() of a name a request() waits for or holds reject with ALREADY_HELD, sending nothing: the request() is not left waiting for a grant that will not come', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t);
    const work = deferred();
    const requesting = track(client.request('doc', { timeout: 1000 }, () => work.promise));
    await flush();
    const ask = ws.next('lock');
    assert.equal(ask.timeout, 1000);
    ws.reply(ask, { status: 'QUEUED', position: 1 });
    await flush();
    await assert.rejects(client.cancel('doc'), { code: 'ALREADY_HELD' }); // waiting in the queue
    ws.expectNothingSent();
    grant(ws, ask, 7);
    await flush();
    await assert.rejects(client.unlock('doc'), { code: 'ALREADY_HELD' }); // the callback runs
    await assert.rejects(client.unlockAll(['other', 'doc']), { code: 'ALREADY_HELD' }); // all or nothing: none
    ws.expectNothingSent();
    work.resolve('done');
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' }); // request()'s own unlock goes out
    await flush();
    assert.deepEqual(requesting, { settled: true, value: 'done', error: undefined });
    const cancelling = client.cancel('doc'); // the request() is over: the application's to send
    ws.reply(ws.next('cancel'), { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    await assert.rejects(cancelling, { code: 'NOT_QUEUED' });
  });

  test('lock() while a request()\'s own lock call is out, or in the tick after request() is called: ALREADY_HELD, sending nothing', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', () => 'done');
    await assert.rejects(client.lock('doc'), { code: 'ALREADY_HELD' }); // request() has not asked yet
    await flush();
    const ask = ws.next('lock'); // the request()'s ask is out
    await assert.rejects(client.lock('doc'), { code: 'ALREADY_HELD' });
    await assert.rejects(client.lockAll(['doc']), { code: 'ALREADY_HELD' });
    ws.expectNothingSent();
    ws.reply(ask, { status: 'LOCKED', token: 9 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'done');
    ws.expectNothingSent();
  });

  test('request() while the application\'s lock() or lockAll() for the name is out: ALREADY_HELD (ifAvailable: null), sending nothing', async () => {
    const { client, ws } = await connected();
    const locking = client.lock('doc');
    const ask = ws.next('lock');
    await assert.rejects(client.request('doc', () => 'ran'), { code: 'ALREADY_HELD' });
    let seen;
    await client.request('doc', { ifAvailable: true }, (lock) => { seen = lock; });
    assert.equal(seen, null);
    const lockingAll = client.lockAll(['other', 'doc']);
    const mlock = ws.next('mlock');
    ws.reply(ask, { status: 'LOCKED', token: 9 });
    await locking;
    ws.reply(mlock, { status: 'WAIT' });
    await lockingAll;
    await assert.rejects(client.request('doc', () => 'ran'), { code: 'ALREADY_HELD' }); // held through lock()
    ws.expectNothingSent();
    assert.deepEqual(client.heldLocks, new Map([['doc', 9]]));
  });

  test('the granted event fires for request()\'s grants too', async () => {
    const { client, ws } = await connected();
    const events = recordEvents(client, 'granted');
    const requesting = client.request('doc', () => 'ok');
    await flush();
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    grant(ws, frame, 3);
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await requesting;
    assert.deepEqual(events, [['granted', { lock: 'doc', token: 3, mode: 'exclusive', request: frame.id }]]);
  });

  test('mode: shared asks for a shared grant and the callback sees the mode', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', { mode: 'shared' }, (lock) => lock);
    await flush();
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', mode: 'shared', wait: true });
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1, holder: 'writer' });
    await flush();
    grant(ws, frame, 12, 'shared');
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.deepEqual(withoutSignal(await requesting), { name: 'doc', mode: 'shared', token: 12 });
  });

  test('two request()s for one name in one session are serialized: the second asks only after the first released', async () => {
    const { client, ws } = await connected();
    const log = [];
    const work = deferred();
    const first = client.request('doc', { mode: 'shared' }, async (lock) => { log.push(`first:${lock.token}`); await work.promise; });
    const second = client.request('doc', { mode: 'shared' }, (lock) => { log.push(`second:${lock.token}`); });
    await flush();
    const lockFirst = ws.next('lock');
    ws.expectNothingSent(); // one queue place per session and lock: the second waits here
    ws.reply(lockFirst, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    ws.expectNothingSent();
    grant(ws, lockFirst, 1, 'shared');
    await flush();
    ws.expectNothingSent(); // the first holds it: even a shared second waits
    work.resolve();
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    const lockSecond = ws.next('lock');
    assert.deepEqual(withoutId(lockSecond), { action: 'lock', param: 'doc', mode: 'shared', wait: true });
    ws.reply(lockSecond, { status: 'LOCKED', token: 2 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await Promise.all([first, second]);
    assert.deepEqual(log, ['first:1', 'second:2']);
  });

  test('ifAvailable does not queue: lock without wait; WAIT calls callback(null)', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', { ifAvailable: true, mode: 'shared' }, (lock) => lock);
    await flush();
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', mode: 'shared' });
    ws.reply(frame, { status: 'WAIT', holder: 'bob' });
    assert.equal(await requesting, null);
    ws.expectNothingSent();
  });

  test('ifAvailable: LOCKED runs the callback and unlocks', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', { ifAvailable: true, timeout: 50 }, (lock) => lock.token);
    await flush();
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc' }, 'no wait, and no timeout without wait');
    ws.reply(frame, { status: 'LOCKED', token: 6 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 6);
  });
});

describe('request() on a version 2 server: abort, cancel and crossing grants', () => {
  /** A request() for `doc` that the server queued; returns its lock frame. */
  async function queuedRequest(client, ws, options = {}) {
    const controller = new AbortController();
    let ran = false;
    const requesting = client.request('doc', { signal: controller.signal, ...options }, () => { ran = true; return 'ran'; });
    requesting.catch(() => {});
    await flush();
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 2, holder: 'bob' });
    await flush();
    return { controller, requesting, frame, ran: () => ran };
  }

  test('abort while queued: rejects with AbortError at once and sends cancel; OK ends it', async () => {
    const { client, ws } = await connected();
    const { controller, requesting, ran } = await queuedRequest(client, ws);
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    const cancel = ws.next('cancel');
    assert.deepEqual(withoutId(cancel), { action: 'cancel', param: 'doc' });
    ws.reply(cancel, { status: 'OK', message: 'doc' });
    await flush();
    ws.expectNothingSent();
    assert.equal(ran(), false);
  });

  test('abort while queued: the next request() for the name asks only once the cancel is answered', async () => {
    const { client, ws } = await connected();
    const { controller } = await queuedRequest(client, ws);
    const next = client.request('doc', (lock) => lock.token);
    controller.abort();
    await flush();
    const cancel = ws.next('cancel');
    ws.expectNothingSent(); // not while the old queue place may still exist
    ws.reply(cancel, { status: 'OK' });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 8 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 8);
  });

  test('abort racing a GRANTED that arrives before the cancel reply (NOT_QUEUED): the grant is unlocked', async () => {
    const { client, ws } = await connected();
    const { controller, requesting, frame, ran } = await queuedRequest(client, ws);
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    const cancel = ws.next('cancel');
    grant(ws, frame, 31); // the server granted before it read the cancel
    ws.reply(cancel, { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued for doc' });
    await flush();
    const unlock = ws.next('unlock');
    assert.equal(unlock.param, 'doc');
    ws.reply(unlock, { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
    assert.equal(ran(), false);
    ws.expectNothingSent();
  });

  test('abort racing a GRANTED that comes after the NOT_QUEUED reply: unlocked when it comes; the next request() waits for that', async () => {
    const { client, ws } = await connected();
    const { controller, frame } = await queuedRequest(client, ws);
    const next = client.request('doc', (lock) => lock.token);
    controller.abort();
    await flush();
    ws.reply(ws.next('cancel'), { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued for doc' });
    await flush();
    ws.expectNothingSent();
    grant(ws, frame, 32); // the grant's push was slower than the cancel's reply
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 33 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 33);
    ws.expectNothingSent();
  });

  test('abort in the same tick as a GRANTED: no cancel, the grant is unlocked', async () => {
    const { client, ws } = await connected();
    const { controller, requesting, frame, ran } = await queuedRequest(client, ws);
    grant(ws, frame, 40);
    controller.abort(); // before the request's continuation saw the grant
    await assert.rejects(requesting, { name: 'AbortError' });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    ws.expectNothingSent();
    assert.equal(ran(), false);
  });

  test('abort while the lock request is in flight, answered QUEUED: cancel is sent', async () => {
    const { client, ws } = await connected();
    const controller = new AbortController();
    const requesting = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const frame = ws.next('lock');
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    ws.reply(ws.next('cancel'), { status: 'OK' });
    await flush();
    ws.expectNothingSent();
  });

  test('a late GRANTED for an aborted request is kept when another request() of this client holds the lock by then', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { client, ws } = await connected({ requestTimeoutMs: 1000 });
    const { controller, frame } = await queuedRequest(client, ws);
    const work = deferred();
    const next = client.request('doc', async (lock) => { await work.promise; return lock.token; });
    controller.abort();
    await flush();
    ws.reply(ws.next('cancel'), { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    await flush();
    ws.expectNothingSent();
    t.mock.timers.tick(1000); // no GRANTED within a request timeout: the next one may go on
    await flush();
    const lock = ws.next('lock');
    ws.reply(lock, { status: 'LOCKED', token: 50 }); // the session holds it: the server answers with its grant
    await flush();
    grant(ws, frame, 50); // the old grant's push, very late
    await flush();
    ws.expectNothingSent(); // not unlocked under the running callback
    assert.deepEqual(client.heldLocks, new Map([['doc', 50]]));
    work.resolve();
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 50);
  });

  test('abort while queued, NOT_QUEUED, then CANCELLED (the server timed it out meanwhile): the next request() goes on at once', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { client, ws } = await connected();
    const { controller } = await queuedRequest(client, ws);
    const next = client.request('doc', (lock) => lock.token);
    controller.abort();
    await flush();
    ws.reply(ws.next('cancel'), { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    await flush();
    ws.expectNothingSent();
    ws.push({ status: 'CANCELLED', message: 'doc', lock: 'doc', reason: 'timeout' });
    await flush();
    const lock = ws.next('lock'); // no waiting for a grant that will not come
    ws.reply(lock, { status: 'LOCKED', token: 9 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 9);
  });

  test('abort while queued, the cancel answered OK only after its TIMEOUT: the next request()\'s CANCELLED still rejects it', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t, { requestTimeoutMs: 1000 });
    const errors = recordEvents(client, 'error');
    const { controller, requesting } = await queuedRequest(client, ws);
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    const cancel = ws.next('cancel');
    t.mock.timers.tick(1000); // no reply in time (a slow backend)
    await flush();
    ws.reply(cancel, { status: 'OK', lock: 'doc' }); // late: the place is gone
    await flush();
    const second = track(client.request('doc', { timeout: 500 }, () => 'never'));
    await flush();
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 2 });
    await flush();
    ws.push({ status: 'CANCELLED', message: 'doc', lock: 'doc', reason: 'timeout', request: frame.id });
    await flush();
    assert.equal(second.error?.code, 'CANCELLED', 'the server\'s CANCELLED rejects the request() that queued');
    assert.deepEqual(errors.map(([, { error }]) => error.code), ['TIMEOUT'], 'the cancel\'s timeout');
    ws.expectNothingSent();
  });

  test('abort while queued and the connection drops before the cancel reply: nothing more is sent', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t, { reconnect: false });
    const { controller, requesting } = await queuedRequest(client, ws);
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    ws.next('cancel');
    ws.drop();
    await flush();
    assert.equal(server.sockets.length, 1);
    ws.expectNothingSent();
  });
});

describe('request() on a version 2 server: timeouts and CANCELLED', () => {
  test('the timeout goes to the server; CANCELLED timeout rejects with code CANCELLED, reason timeout and the push', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t);
    const requesting = client.request('doc', { timeout: 5000 }, () => 'never');
    await flush();
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', wait: true, timeout: 5000 });
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 4 });
    await flush();
    const push = { status: 'CANCELLED', message: 'doc', time: 1, lock: 'doc', reason: 'timeout' };
    ws.push(push);
    const error = await rejection(requesting);
    assert.ok(error instanceof DistLockError);
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.reason, 'timeout');
    assert.deepEqual(error.reply, push);
    assert.match(error.message, /doc.*timeout/);
    ws.expectNothingSent();
  });

  test('CANCELLED backend rejects with reason backend, and the name is free for the next request()', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    ws.push({ status: 'CANCELLED', message: 'doc', lock: 'doc', reason: 'backend' });
    const error = await rejection(requesting);
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.reason, 'backend');
    const next = client.request('doc', (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 2 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 2);
  });

  test('while queued the client leaves the timing to the server (no cancel of its own at the deadline)', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t);
    const requesting = track(client.request('doc', { timeout: 1000 }, () => 'never'));
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    t.mock.timers.tick(5000);
    await flush();
    ws.expectNothingSent();
    assert.equal(requesting.settled, false);
    ws.push({ status: 'CANCELLED', lock: 'doc', reason: 'timeout' });
    await flush();
    assert.equal(requesting.error.code, 'CANCELLED');
  });

  test('time spent waiting for the local turn counts: the server gets what is left, and none left rejects without asking', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t);
    const hold = deferred();
    const holder = client.request('doc', () => hold.promise);
    const patient = client.request('doc', { timeout: 1000 }, () => 'patient');
    const hasty = client.request('doc', { timeout: 300 }, () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    t.mock.timers.tick(300);
    const error = await rejection(hasty);
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.reason, 'timeout');
    ws.expectNothingSent();
    t.mock.timers.tick(100);
    hold.resolve();
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', wait: true, timeout: 600 });
    ws.reply(frame, { status: 'LOCKED', token: 2 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await holder;
    assert.equal(await patient, 'patient');
  });
});

describe('request() on a version 2 server: the session ends while queued', () => {
  async function acceptReconnect(server, sessionId, version = 2) {
    const ws = server.socket;
    ws.open();
    const frame = ws.next('connect');
    ws.reply(frame, { status: 'OK', session: sessionId, ...(version === 2 ? { version } : {}) });
    await flush();
    return ws;
  }

  test('a reconnect while queued: the place went with the old session, so it queues again (at the back) in the new one', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const requesting = client.request('doc', (lock) => lock.token);
    await flush();
    const old = ws.next('lock');
    ws.reply(old, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    ws.drop();
    await flush();
    t.mock.timers.tick(100);
    const ws2 = await acceptReconnect(server, 's-2');
    await flush();
    const frame = ws2.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', wait: true });
    ws2.reply(frame, { status: 'QUEUED', lock: 'doc', position: 3 });
    await flush();
    grant(ws2, frame, 60);
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 60);
    ws.expectNothingSent(); // no cancel on the dead socket
  });

  test('a reconnect while queued with a timeout: the new queue place gets the time left; a new server of version 1 means RETRY', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const requesting = client.request('doc', { timeout: 1000 }, (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    t.mock.timers.tick(250);
    ws.drop();
    await flush();
    t.mock.timers.tick(100);
    const ws2 = await acceptReconnect(server, 's-2');
    await flush();
    const frame = ws2.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', wait: true, timeout: 650 });
    ws2.drop();
    await flush();
    t.mock.timers.tick(200); // the backoff grew
    const ws3 = await acceptReconnect(server, 's-3', 1);
    await flush();
    const v1 = ws3.next('lock');
    assert.deepEqual(withoutId(v1), { action: 'lock', param: 'doc' });
    ws3.reply(v1, { status: 'WAIT', holder: 'bob' });
    await flush();
    t.mock.timers.tick(450); // 1000 ms after the request(): the client's own timer on version 1
    const error = await rejection(requesting);
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.reason, 'timeout');
  });

  test('a timeout that passes while the connection is down rejects when it passes', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const requesting = track(client.request('doc', { timeout: 500 }, () => 'never'));
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    t.mock.timers.tick(50);
    ws.drop();
    await flush();
    t.mock.timers.tick(100); // the reconnect attempt starts, and its socket does not open
    assert.equal(server.sockets.length, 2);
    t.mock.timers.tick(349);
    await flush();
    assert.equal(requesting.settled, false);
    t.mock.timers.tick(1); // 500 ms after the request()
    await flush();
    assert.equal(requesting.error?.code, 'CANCELLED');
    assert.equal(requesting.error.reason, 'timeout');
  });

  test('a timeout that passed while queued (the server\'s CANCELLED did not come) rejects as soon as the connection drops', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const requesting = track(client.request('doc', { timeout: 500 }, () => 'never'));
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    t.mock.timers.tick(600);
    await flush();
    assert.equal(requesting.settled, false, 'the server times the queue');
    ws.drop();
    await flush();
    assert.equal(requesting.error?.code, 'CANCELLED', 'no queueing again after the deadline');
    assert.equal(requesting.error.reason, 'timeout');
    t.mock.timers.tick(100);
    const ws2 = await acceptReconnect(server, 's-2');
    await flush();
    ws2.expectNothingSent();
  });

  test('a deadline the clock passed before its timer ran: rejects without sending a timeout of 0', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t);
    const hold = deferred();
    const holder = client.request('doc', () => hold.promise);
    const patient = client.request('doc', { timeout: 1000 }, () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 1 });
    await flush();
    t.mock.timers.setTime(Date.now() + 1000); // the clock moves, the timers have not run yet
    hold.resolve();
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    const error = await rejection(patient);
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.reason, 'timeout');
    await holder;
    ws.expectNothingSent();
  });

  test('without reconnects a drop while queued rejects with DISCONNECTED', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t, { reconnect: false });
    const requesting = client.request('doc', () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    ws.drop();
    assert.equal((await rejection(requesting)).code, 'DISCONNECTED');
  });

  test('close() while a lock() is queued: a cancelled event (reason session), as when the session expires', async () => {
    const { client, ws } = await connected();
    const cancelled = recordEvents(client, 'cancelled');
    const queueing = client.lock('doc', { wait: true });
    ws.reply(ws.next('lock'), { status: 'QUEUED', position: 1 });
    await queueing;
    const closing = client.close();
    ws.reply(ws.next('close'), { status: 'OK' });
    await closing;
    assert.deepEqual(cancelled, [['cancelled', { lock: 'doc', reason: 'session' }]]);
  });

  test('close() while queued rejects with NOT_CONNECTED; a GRANTED after that changes nothing', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', () => 'never');
    await flush();
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    const closing = client.close();
    ws.reply(ws.next('close'), { status: 'OK', message: 'Close session: alice' });
    await closing;
    assert.equal((await rejection(requesting)).code, 'NOT_CONNECTED');
    ws.expectNothingSent();
  });
});

describe('request() and a subclass that overrides lock()', () => {
  test('a lock() override that drops the options still works: WAIT then RETRY, as on version 1', async () => {
    const server = new FakeServer();
    const seen = [];
    class Watched extends DistLockClient {
      async lock(name) { // an old override: passes only the name on
        const result = await super.lock(name);
        seen.push(result.status);
        return result;
      }
    }
    const client = new Watched(URL_, { WebSocket: server.WebSocket });
    const ws = await connectSession(client, server, 'alice', 's-1', { version: 2 });
    const requesting = client.request('doc', (lock) => lock.token);
    await flush();
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc' }, 'the override lost wait: true on the way');
    ws.reply(frame, { status: 'WAIT', holder: 'bob' }); // so the server answers as for a plain lock
    await flush();
    ws.push({ status: 'RETRY', message: 'doc', lock: 'doc' });
    await flush();
    const again = ws.next('lock');
    ws.reply(again, { status: 'LOCKED', token: 4 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 4);
    assert.deepEqual(seen, ['WAIT', 'LOCKED']);
  });

  test('an override that passes the options on sees the queued call', async () => {
    const server = new FakeServer();
    const seen = [];
    class Watched extends DistLockClient {
      async lock(name, options) {
        const result = await super.lock(name, options);
        seen.push([options, result.status]);
        return result;
      }
    }
    const client = new Watched(URL_, { WebSocket: server.WebSocket });
    const ws = await connectSession(client, server, 'alice', 's-1', { version: 2 });
    const requesting = client.request('doc', (lock) => lock.token);
    await flush();
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    grant(ws, frame, 7);
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 7);
    assert.deepEqual(seen, [[{ wait: true }, 'QUEUED']]);
  });

  test('overrides that await before calling super (lock, unlock): request() locks and releases, and the application\'s calls are still refused', async () => {
    const server = new FakeServer();
    const seen = [];
    class Audited extends DistLockClient {
      async lock(name, options) {
        await Promise.resolve(); // say, an audit log call
        seen.push(['lock', name]);
        return super.lock(name, options);
      }
      async unlock(name) {
        await Promise.resolve(); // say, flushing writes made under the lock
        seen.push(['unlock', name]);
        return super.unlock(name);
      }
    }
    const client = new Audited(URL_, { WebSocket: server.WebSocket });
    const ws = await connectSession(client, server, 'alice', 's-1', { version: 2 });
    let mine;
    const requesting = client.request('doc', async (lock) => {
      mine = client.unlock('doc'); // the application's, through the same override
      await mine.catch(() => {});
      return lock.token;
    });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 3 });
    await flush();
    assert.equal((await rejection(mine)).code, 'ALREADY_HELD');
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 3);
    ws.expectNothingSent();
    assert.deepEqual(client.heldLocks, new Map());
    assert.deepEqual(seen, [['lock', 'doc'], ['unlock', 'doc'], ['unlock', 'doc']]);
  });

  test('a cancel() override that awaits before calling super: an aborted request() leaves the queue', async () => {
    const server = new FakeServer();
    class Audited extends DistLockClient {
      async cancel(name) {
        await Promise.resolve();
        return super.cancel(name);
      }
    }
    const client = new Audited(URL_, { WebSocket: server.WebSocket });
    const ws = await connectSession(client, server, 'alice', 's-1', { version: 2 });
    const controller = new AbortController();
    const requesting = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', lock: 'doc', position: 2, holder: 'bob' });
    await flush();
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    await flush();
    const cancel = ws.next('cancel');
    assert.deepEqual(withoutId(cancel), { action: 'cancel', param: 'doc' });
    ws.reply(cancel, { status: 'OK', message: 'doc' });
    await flush();
    ws.expectNothingSent();
    const mine = client.lock('doc'); // the name is the application's again
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 9 });
    assert.deepEqual(await mine, { status: 'LOCKED', token: 9 });
  });
});
