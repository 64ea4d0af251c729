// Sessions across a dropped connection (protocol version 2): the states an application shows
// (connected, suspended, resumed, expired), `resume`, `ping`, several URLs, sessionStorage.
// The server is the scripted fake; the resume OK is assumed to be
// {"status":"OK","id":…,"session":"<id>","locks":{"<name>":{"token":n,"mode":"exclusive"|"shared"}},"queued":["<name>",…]}.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DistLockClient } from '../src/distlock.js';
import { FakeServer, fakeWindow, flush, recordEvents } from './support/fake-websocket.js';

const RECONNECT = { initialDelayMs: 100, maxDelayMs: 100 };
const STATE_EVENTS = ['connected', 'suspended', 'resumed', 'expired'];

/** A client on fake timers (and a fake clock), connected to a version 2 server that granted `grace`. */
async function connected(t, { grace = 5000, options = {}, server = new FakeServer(), mocked = false } = {}) {
  if (!mocked) {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    t.mock.method(Math, 'random', () => 1); // backoff delays are exactly RECONNECT's
  }
  const client = new DistLockClient(options.url ?? 'ws://localhost/distlock/lock',
    { WebSocket: server.WebSocket, reconnect: RECONNECT, grace, ...options });
  const connecting = client.connect('alice');
  await flush();
  const ws = server.socket;
  ws.open();
  await flush();
  const frame = ws.next('connect');
  assert.equal(frame.version, 2);
  ws.reply(frame, { status: 'OK', session: 's-1', version: 2, resume: 'secret-1', grace });
  await connecting;
  return { server, client, ws };
}

async function lock(client, ws, name, token) {
  const locking = client.lock(name);
  ws.reply(ws.next('lock'), { status: 'LOCKED', token });
  await locking;
}

/** Records whether a promise settled, without awaiting it. */
function track(promise) {
  const state = { settled: false, value: undefined, error: undefined };
  promise.then((value) => { state.settled = true; state.value = value; },
    (error) => { state.settled = true; state.error = error; });
  return state;
}

/** Moves fake time on in steps until `state` (of track()) has settled, or the deadline `ms` has passed. */
async function settledWithin(t, state, ms = 5000, step = 100) {
  for (let waited = 0; !state.settled && waited < ms; waited += step) {
    await flush();
    t.mock.timers.tick(step);
  }
  await flush();
  return state;
}

/** Lets the backoff pass and opens the reconnect socket; returns it. */
async function reconnect(t, server) {
  t.mock.timers.tick(RECONNECT.maxDelayMs);
  const ws = server.socket;
  ws.open();
  await flush();
  return ws;
}

describe('sessions across a dropped connection', () => {
  test('connect asks for the grace period; a drop suspends the session (locks kept, nothing lost); reconnecting resumes it', async (t) => {
    const server = new FakeServer();
    const events = [];
    const { client, ws } = await connected(t, { server });
    assert.equal(client.state, 'connected');
    for (const type of [...STATE_EVENTS, 'lost']) client.on(type, (detail) => events.push([type, detail]));
    await lock(client, ws, 'doc', 7);

    ws.drop();
    assert.equal(client.state, 'suspended');
    assert.deepEqual(events.splice(0), [['suspended', { session: 's-1', until: Date.now() + 4500, locks: ['doc'] }]]);
    assert.deepEqual(client.heldLocks, new Map([['doc', 7]]), 'kept by the server for the grace period');
    await assert.rejects(client.lock('other'), { code: 'NOT_CONNECTED' });

    const ws2 = await reconnect(t, server);
    const resume = ws2.next('resume');
    assert.deepEqual([resume.session, resume.resume], ['s-1', 'secret-1']);
    await assert.rejects(client.lock('other'), { code: 'NOT_CONNECTED' }, 'not before the resume is answered');
    ws2.expectNothingSent();
    ws2.reply(resume, { status: 'OK', session: 's-1', locks: { doc: { token: 7, mode: 'exclusive' } }, queued: [] });
    await flush();
    assert.equal(client.state, 'resumed');
    assert.deepEqual(events, [['resumed', { session: 's-1', name: 'alice', version: 2, grace: 5000, locks: ['doc'], queued: [], lost: [] }]]);
    assert.deepEqual(client.session, { session: 's-1', name: 'alice', version: 2 });
    assert.deepEqual(client.heldLocks, new Map([['doc', 7]]));
    ws2.reply(ws2.next('ping'), { status: 'OK' }); // the barrier after the missed pushes
    t.mock.timers.tick(10_000);
    assert.equal(client.state, 'resumed', 'no expiry after a resume');
  });

  test('a lock the resume OK does not list is lost: with the server\'s reason if its LOST comes among the missed pushes, else when the next reply comes', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    await lock(client, ws, 'a', 1);
    await lock(client, ws, 'b', 2);
    const lost = recordEvents(client, 'lost');
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    assert.deepEqual(client.heldLocks, new Map(), 'not reported as held any more');
    ws2.push({ status: 'LOST', lock: 'a', reason: 'stolen', by: 'bob' });
    assert.deepEqual(lost.splice(0), [['lost', { lock: 'a', token: 1, reason: 'LOST', cause: 'stolen', by: 'bob' }]]);
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    assert.deepEqual(lost, [['lost', { lock: 'b', token: 2, reason: 'LOST' }]]);
  });

  test('a missed LOST that comes after the reply ending the window names its grant: it does not end the lock taken again since', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    await lock(client, ws, 'a', 1);
    const lost = recordEvents(client, 'lost');
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    assert.deepEqual(lost.splice(0), [['lost', { lock: 'a', token: 1, reason: 'LOST' }]], 'told when the window ended');
    await lock(client, ws2, 'a', 7);
    ws2.push({ status: 'LOST', lock: 'a', reason: 'lease', token: 1 });
    assert.deepEqual(lost, []);
    assert.deepEqual(client.heldLocks, new Map([['a', 7]]));
  });

  test('the LOST of a grant whose unlock was answered NOT_OWNER just before the drop comes among the missed pushes: told with its token and cause (the resume OK does not end the wait for it, the next reply does)', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    await lock(client, ws, 'doc', 5);
    const events = recordEvents(client, 'lost');
    const unlocking = client.unlock('doc');
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'lost before it was released' });
    await assert.rejects(unlocking, { code: 'NOT_OWNER' });
    ws.drop(); // before the LOST
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    ws2.push({ status: 'LOST', lock: 'doc', token: 5, reason: 'stolen', by: 'bob' });
    assert.deepEqual(events, [['lost', { lock: 'doc', token: 5, reason: 'LOST', cause: 'stolen', by: 'bob' }]]);
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.push({ status: 'LOST', lock: 'doc', token: 5, reason: 'stolen', by: 'bob' });
    assert.equal(events.length, 1, 'told once');
  });

  test('a lock() asked again for a queue place, its reply cut by the drop: a CANCELLED naming it after the resume ends the place', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const events = recordEvents(client, 'cancelled');
    const first = client.lock('doc', { wait: true });
    ws.reply(ws.next('lock'), { status: 'QUEUED', lock: 'doc', position: 1 });
    await first;
    const again = client.lock('doc', { wait: true, timeout: 1000 }); // the server keeps the place, with this timeout
    const againFrame = ws.next('lock');
    again.catch(() => {});
    ws.drop(); // before its QUEUED is read
    await assert.rejects(again, { code: 'DISCONNECTED' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.push({ status: 'CANCELLED', message: 'doc', lock: 'doc', reason: 'timeout', request: againFrame.id });
    assert.deepEqual(events, [['cancelled', { lock: 'doc', reason: 'timeout' }]]);
  });

  test('SESSION_EXPIRED on resume: every lock lost (EXPIRED), expired, and a new session', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    await lock(client, ws, 'doc', 3);
    const events = recordEvents(client, 'lost', 'expired', 'connected');
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'FAIL', code: 'SESSION_EXPIRED', message: 'no such session' });
    await flush();
    assert.deepEqual(events.splice(0), [
      ['lost', { lock: 'doc', token: 3, reason: 'EXPIRED' }],
      ['expired', { session: 's-1', reason: 'SESSION_EXPIRED', locks: ['doc'] }],
    ]);
    assert.equal(client.state, 'expired');
    const connect = ws2.next('connect');
    ws2.reply(connect, { status: 'OK', session: 's-2', version: 2, resume: 'secret-2', grace: 5000 });
    await flush();
    assert.equal(client.state, 'connected');
    assert.deepEqual(events, [['connected', { session: 's-2', name: 'alice', version: 2, grace: 5000, reconnected: true }]]);
  });

  test('the grace period passes while reconnecting: expired, counted from the last frame heard', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    await lock(client, ws, 'doc', 3);
    t.mock.timers.tick(1000); // quiet: the grace period counts from the lock reply
    const events = recordEvents(client, 'lost', 'expired');
    ws.drop();
    t.mock.timers.tick(100);
    server.socket.failToOpen();
    t.mock.timers.tick(3399); // 5 s less the client's margin (500 ms, see below)
    assert.equal(client.state, 'suspended');
    t.mock.timers.tick(1);
    assert.equal(client.state, 'expired');
    assert.deepEqual(events, [
      ['lost', { lock: 'doc', token: 3, reason: 'EXPIRED' }],
      ['expired', { session: 's-1', reason: 'grace', locks: ['doc'] }],
    ]);
    const ws3 = await reconnect(t, server);
    assert.equal(ws3.next().action, 'connect', 'a new session, no resume');
  });

  // The server frees the locks at its detach time + grace, a little after the last frame the
  // client heard + grace: without a margin a timer that fires late (a busy or throttled tab)
  // left the page believing it held locks the server had granted to someone else.
  for (const [grace, margin] of [[5000, 500], [30_000, 1000]]) {
    test(`a ${grace} ms grace ends here ${margin} ms early (min(grace / 10, 1 s)), not earlier: until, the expiry and the reconnect deadline`, async (t) => {
      const server = new FakeServer();
      const { client, ws } = await connected(t, { server, grace });
      await lock(client, ws, 'doc', 3);
      const heard = Date.now();
      t.mock.timers.tick(1000); // quiet: counted from the lock reply
      const events = recordEvents(client, 'suspended', 'lost', 'expired');
      ws.drop();
      assert.deepEqual(events.splice(0), [['suspended', { session: 's-1', until: heard + grace - margin, locks: ['doc'] }]]);
      t.mock.timers.tick(100);
      server.socket.failToOpen();
      t.mock.timers.tick(grace - margin - 1100 - 1);
      assert.equal(client.state, 'suspended', 'not earlier');
      t.mock.timers.tick(1);
      assert.equal(client.state, 'expired', 'at grace - margin, not at grace');
      assert.deepEqual(events, [
        ['lost', { lock: 'doc', token: 3, reason: 'EXPIRED' }],
        ['expired', { session: 's-1', reason: 'grace', locks: ['doc'] }],
      ]);
    });
  }

  test('the reconnect backoff aims at the client\'s own deadline, grace - margin', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, grace: 5000, options: { reconnect: { initialDelayMs: 1000, maxDelayMs: 60_000 } } });
    const closes = recordEvents(client, 'close');
    ws.drop(); // first attempt after 1 s
    t.mock.timers.tick(1000);
    server.socket.failToOpen();
    // Second: at most half the 3.5 s left to the deadline (4.5 s after the last frame), not half of 4 s.
    assert.deepEqual(closes.map(([, detail]) => detail.delayMs), [1000, 1750]);
  });

  test('a resume answered 1 ms before the client\'s deadline keeps the session and its locks', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, grace: 5000 });
    await lock(client, ws, 'doc', 3);
    const heard = Date.now();
    const events = recordEvents(client, 'lost', 'expired', 'resumed');
    ws.drop();
    const ws2 = await reconnect(t, server);
    const resume = ws2.next('resume');
    t.mock.timers.tick(heard + 4500 - 1 - Date.now());
    assert.equal(client.state, 'suspended');
    ws2.reply(resume, { status: 'OK', session: 's-1', locks: { doc: { token: 3, mode: 'exclusive' } }, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    t.mock.timers.tick(10_000);
    assert.equal(client.state, 'resumed');
    assert.deepEqual(client.heldLocks, new Map([['doc', 3]]));
    assert.deepEqual(events.map(([type]) => type), ['resumed']);
  });

  test('the reconnect backoff fits the grace period: a network back 20 s into a 30 s grace is found before the grace ends', async (t) => {
    // The default backoff (0.5 s doubling to 30 s) with the longest jitter (Math.random() is 1)
    // tried at 0.5, 1.5, 3.5, 7.5, 15.5, then 31.5 s: after the grace, so the session was lost.
    const server = new FakeServer();
    const grace = 30_000;
    const { client, ws } = await connected(t, { server, grace, options: { reconnect: true } });
    await lock(client, ws, 'doc', 3);
    const droppedAt = Date.now();
    ws.drop();
    let last = ws;
    for (;;) {
      t.mock.timers.tick(50);
      await flush();
      assert.equal(client.state, 'suspended', `still suspended ${Date.now() - droppedAt} ms after the drop`);
      if (server.socket === last) continue;
      last = server.socket;
      if (Date.now() - droppedAt < 20_000) {
        last.failToOpen(); // the network is still down
        continue;
      }
      last.open();
      await flush();
      last.reply(last.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 3, mode: 'exclusive' } }, queued: [] });
      await flush();
      break;
    }
    assert.equal(client.state, 'resumed');
    assert.ok(Date.now() - droppedAt < grace, `resumed ${Date.now() - droppedAt} ms after the drop`);
    assert.deepEqual(client.heldLocks, new Map([['doc', 3]]));
  });

  test('without a grace period a drop expires the session at once (lost DISCONNECTED), and a queued lock() is told: cancelled', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, grace: 0 });
    await lock(client, ws, 'doc', 3);
    const queueing = client.lock('other', { wait: true });
    ws.reply(ws.next('lock'), { status: 'QUEUED', position: 1 });
    await queueing;
    const events = recordEvents(client, 'lost', 'cancelled', 'suspended', 'expired');
    ws.drop();
    assert.deepEqual(events, [
      ['lost', { lock: 'doc', token: 3, reason: 'DISCONNECTED' }],
      ['cancelled', { lock: 'other', reason: 'session' }],
      ['expired', { session: 's-1', reason: 'DISCONNECTED', locks: ['doc'] }],
    ]);
  });

  test('a silent connection: ping after pingIntervalMs without a frame; no reply within requestTimeoutMs: suspended', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, grace: 30_000, options: { pingIntervalMs: 1000, requestTimeoutMs: 500 } });
    await lock(client, ws, 'doc', 3);
    t.mock.timers.tick(999);
    ws.expectNothingSent();
    t.mock.timers.tick(1);
    ws.reply(ws.next('ping'), { status: 'OK' });
    t.mock.timers.tick(1000);
    ws.next('ping'); // and the connection goes silent
    t.mock.timers.tick(499);
    assert.equal(client.state, 'connected');
    t.mock.timers.tick(1);
    await flush();
    assert.equal(client.state, 'suspended');
    assert.deepEqual(ws.closeCalls, [{ code: 4001, reason: 'no reply to ping' }]);
    assert.deepEqual(client.heldLocks, new Map([['doc', 3]]));
  });

  test('a request() queued when the connection drops keeps its place; granted while detached: the resume OK tells (resumed lists it in locks), the missed GRANTED changes nothing', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const granted = recordEvents(client, 'granted');
    const resumed = recordEvents(client, 'resumed');
    let seen;
    const requesting = client.request('doc', (lock) => { seen = lock.token; return 'done'; });
    await flush();
    const ask = ws.next('lock');
    assert.equal(ask.wait, true);
    ws.reply(ask, { status: 'QUEUED', position: 1 });
    await flush();
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 40, mode: 'exclusive' } }, queued: [] });
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: ask.id });
    await flush();
    assert.deepEqual([resumed[0][1].locks, resumed[0][1].queued], [['doc'], []], 'held, as the OK says');
    assert.equal(seen, 40);
    assert.equal(granted.length, 1, 'one granted event');
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'done');
    ws2.expectNothingSent();
  });

  test('a request() whose lock got no reply before the drop asks again after the resume; a missed GRANTED of that first ask (granted and lost while detached) is nobody\'s', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const events = recordEvents(client, 'granted', 'lost');
    let seen;
    let heldMeanwhile;
    const requesting = client.request('doc', (lock) => { seen = lock.token; heldMeanwhile = client.heldLocks; return 'done'; });
    await flush();
    const ask = ws.next('lock');
    ws.drop(); // before its QUEUED: the request() asks the resumed session again
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    await flush();
    const ping = ws2.next('ping');
    const again = ws2.next('lock');
    assert.equal(again.wait, true);
    // The pushes missed while detached: the first ask was granted, then the grant was stolen.
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: ask.id });
    ws2.push({ status: 'LOST', lock: 'doc', reason: 'stolen', by: 'bob' });
    ws2.reply(ping, { status: 'OK' });
    ws2.reply(again, { status: 'QUEUED', position: 1 });
    await flush();
    assert.equal(seen, undefined, 'no callback on a grant the session no longer has');
    assert.deepEqual(client.heldLocks, new Map());
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 41, mode: 'exclusive', request: again.id });
    await flush();
    assert.equal(seen, 41);
    assert.deepEqual(heldMeanwhile, new Map([['doc', 41]]));
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'done');
    assert.deepEqual(client.heldLocks, new Map());
    assert.deepEqual(events, [['granted', { lock: 'doc', token: 41, mode: 'exclusive', request: again.id }]]);
    ws2.expectNothingSent();
  });

  test('a lock() granted while detached is in heldLocks when resumed fires (its granted event follows)', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const events = [];
    client.on('resumed', ({ locks }) => events.push(['resumed', locks, client.heldLocks]));
    client.on('granted', ({ lock, token }) => events.push(['granted', lock, token]));
    const queueing = client.lock('doc', { wait: true });
    ws.reply(ws.next('lock'), { status: 'QUEUED', position: 1 });
    await queueing;
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 40, mode: 'exclusive' } }, queued: [] });
    await flush();
    assert.deepEqual(events, [['resumed', ['doc'], new Map([['doc', 40]])], ['granted', 'doc', 40]]);
  });

  test('a lock() granted while detached: its granted event carries the QUEUED result\'s request (the README\'s pattern starts work), once', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const queueing = client.lock('doc', { wait: true });
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', position: 1 });
    const answer = await queueing;
    const granted = recordEvents(client, 'granted');
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 40, mode: 'exclusive' } }, queued: [] });
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: ask.id }); // the missed push
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    await flush();
    assert.deepEqual(granted, [['granted', { lock: 'doc', token: 40, mode: 'exclusive', request: answer.request }]]);
    assert.deepEqual(client.heldLocks, new Map([['doc', 40]]));
  });

  test('an unlock the drop cut, for a lock the resume OK no longer lists: released (the server saw the unlock), not lost', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    await lock(client, ws, 'doc', 7);
    await lock(client, ws, 'other', 8);
    const lost = recordEvents(client, 'lost');
    const unlocking = client.unlock('doc');
    ws.next('unlock');
    ws.drop(); // no reply: did the server unlock it?
    await assert.rejects(unlocking, { code: 'DISCONNECTED' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    await flush();
    assert.deepEqual(lost, [['lost', { lock: 'other', token: 8, reason: 'LOST' }]], 'only the lock nobody unlocked is lost');
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('a request() still queued after the resume goes on waiting; one whose place is gone asks again', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const a = client.request('a', (lock) => lock.token);
    const b = client.request('b', (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', position: 1 });
    ws.reply(ws.next('lock'), { status: 'QUEUED', position: 1 });
    await flush();
    const cancelled = recordEvents(client, 'cancelled');
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['a'] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    await flush();
    assert.deepEqual(cancelled, [['cancelled', { lock: 'b', reason: 'session' }]]);
    const again = ws2.next('lock');
    assert.equal(again.param, 'b');
    ws2.expectNothingSent(); // 'a' keeps its place
    ws2.reply(again, { status: 'LOCKED', token: 9 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await b, 9);
    ws2.push({ status: 'GRANTED', lock: 'a', token: 8, mode: 'exclusive' });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await a, 8);
  });

  test('a lock the resume OK lists that nobody asked for any more (its reply was lost) is unlocked', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const locking = client.lock('doc');
    ws.next('lock');
    ws.drop();
    await assert.rejects(locking, { code: 'DISCONNECTED' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 5, mode: 'exclusive' } }, queued: [] });
    ws2.next('ping');
    const unlock = ws2.next('unlock');
    assert.equal(unlock.param, 'doc');
    ws2.reply(unlock, { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('a lock() asked again in the resumed handler, for a lock the resume OK lists that nobody asked for: the unlock goes out first, so the new grant stays', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const locking = client.lock('doc');
    ws.next('lock');
    ws.drop();
    await assert.rejects(locking, { code: 'DISCONNECTED' });
    let relocking;
    client.on('resumed', () => { relocking = client.lock('doc'); }); // "decide in your resumed handler what to lock again"
    const lost = recordEvents(client, 'lost');
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 5, mode: 'exclusive' } }, queued: [] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    const unlock = ws2.next('unlock');
    assert.equal(unlock.param, 'doc');
    await flush();
    ws2.expectNothingSent(); // the lock waits for the unlock's answer (see the next test)
    ws2.reply(unlock, { status: 'OK' });
    await flush();
    const relock = ws2.next('lock'); // after the unlock: the server releases, then grants anew
    assert.equal(relock.param, 'doc');
    ws2.reply(relock, { status: 'LOCKED', token: 6 });
    await flush();
    assert.deepEqual(await relocking, { status: 'LOCKED', token: 6 });
    assert.deepEqual(client.heldLocks, new Map([['doc', 6]]));
    assert.deepEqual(lost, []);
    ws2.expectNothingSent();
  });

  for (const how of ['lock()', 'request()']) {
    test(`a ${how} asked in the resumed handler while a grant nobody asked for is unlocked, which was lost meanwhile (NOT_OWNER, then LOST): it asks after that answer, and the LOST does not end its grant`, async (t) => {
      const server = new FakeServer();
      const { client, ws } = await connected(t, { server });
      const locking = client.lock('doc');
      ws.next('lock');
      ws.drop();
      await assert.rejects(locking, { code: 'DISCONNECTED' });
      let asking;
      client.on('resumed', () => {
        asking = how === 'lock()' ? client.lock('doc') : client.request('doc', (lock) => lock.token);
      });
      const lost = recordEvents(client, 'lost');
      const ws2 = await reconnect(t, server);
      ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 5, mode: 'exclusive' } }, queued: [] });
      ws2.reply(ws2.next('ping'), { status: 'OK' });
      const unlock = ws2.next('unlock');
      await flush();
      // Asked now, its LOCKED would come before the LOST that follows the unlock's answer (a server places
      // a push behind the replies it owes), and the LOST would seem to end the new grant.
      ws2.expectNothingSent();
      ws2.reply(unlock, { status: 'FAIL', code: 'NOT_OWNER', message: 'lock \'doc\' was lost before it was released' });
      ws2.push({ status: 'LOST', message: 'doc', time: Date.now(), lock: 'doc', reason: 'stolen', by: 'bob' });
      await flush();
      const relock = ws2.next('lock');
      ws2.reply(relock, { status: 'LOCKED', token: 6 });
      await flush();
      if (how === 'lock()') {
        assert.deepEqual(await asking, { status: 'LOCKED', token: 6 });
        assert.deepEqual(client.heldLocks, new Map([['doc', 6]]));
      } else {
        ws2.reply(ws2.next('unlock'), { status: 'OK' });
        assert.equal(await asking, 6, 'the callback ran with its grant, its signal not aborted');
      }
      assert.ok(lost.every(([, detail]) => detail.token !== 6), `no lost event names the new grant: ${JSON.stringify(lost)}`);
      ws2.expectNothingSent();
    });
  }

  test('disconnect() with a grace period ends the session (close) before closing the socket', async (t) => {
    const { client, ws } = await connected(t);
    await lock(client, ws, 'doc', 3);
    const events = recordEvents(client, 'lost', 'expired');
    await client.disconnect();
    assert.equal(ws.next('close').param, 'alice');
    assert.equal(client.state, 'idle');
    assert.deepEqual(events, [['lost', { lock: 'doc', token: 3, reason: 'DISCONNECTED' }]]);
  });

  test('disconnect() in a resumed listener: nothing is thrown out of the socket\'s message handler, and a later connect() opens a new session', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, options: { requestTimeoutMs: 1000 } });
    await lock(client, ws, 'doc', 7);
    const errors = recordEvents(client, 'error');
    const off = client.on('resumed', () => client.disconnect());
    ws.drop();
    const ws2 = await reconnect(t, server);
    const events = recordEvents(client, 'granted', 'lost');
    assert.doesNotThrow(() => ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 7, mode: 'exclusive' } }, queued: [] }));
    off();
    assert.equal(client.state, 'idle');
    assert.deepEqual(events, [['lost', { lock: 'doc', token: 7, reason: 'DISCONNECTED' }]]);
    const again = track(client.connect('alice'));
    await flush();
    const ws3 = server.socket;
    assert.notEqual(ws3, ws2);
    ws3.open();
    await flush();
    ws3.reply(ws3.next('connect'), { status: 'OK', session: 's-2', version: 2, resume: 'secret-2', grace: 5000 });
    await settledWithin(t, again);
    assert.deepEqual(again.value, { session: 's-2', name: 'alice', version: 2 });
    assert.deepEqual(errors, []);
  });

  test('disconnect() while suspended: the locks are reported lost at once, no expiry later', async (t) => {
    const { client, ws } = await connected(t);
    await lock(client, ws, 'doc', 3);
    ws.drop();
    const events = recordEvents(client, 'lost', 'expired');
    await client.disconnect();
    assert.equal(client.state, 'idle');
    t.mock.timers.tick(60_000);
    assert.deepEqual(events, [['lost', { lock: 'doc', token: 3, reason: 'DISCONNECTED' }]]);
  });

  test('disconnect() while suspended and a reconnect socket is opening: the locks are lost DISCONNECTED too, not EXPIRED', async (t) => {
    const { client, ws, server } = await connected(t);
    await lock(client, ws, 'doc', 3);
    ws.drop();
    t.mock.timers.tick(100); // the backoff: a new socket is opening
    assert.notEqual(server.socket, ws);
    const events = recordEvents(client, 'lost', 'expired');
    const disconnecting = client.disconnect();
    server.socket.closeCalls.length > 0 && server.socket.failToOpen(); // the opening socket reports its close
    t.mock.timers.tick(60_000);
    await disconnecting;
    assert.equal(client.state, 'idle');
    assert.deepEqual(events, [['lost', { lock: 'doc', token: 3, reason: 'DISCONNECTED' }]]);
  });
});

describe('where to connect', () => {
  test('several URLs: a socket that fails to open moves to the next one; a resume works on any', async (t) => {
    const server = new FakeServer();
    const urls = ['ws://node-a/distlock/lock', 'ws://node-b/distlock/lock'];
    const { client, ws } = await connected(t, { server, options: { url: urls } });
    assert.equal(ws.url, urls[0]);
    ws.drop();
    t.mock.timers.tick(100);
    assert.equal(server.socket.url, urls[0], 'a drop alone does not move: the node may be fine');
    server.socket.failToOpen();
    const ws3 = await reconnect(t, server);
    assert.equal(ws3.url, urls[1]);
    ws3.reply(ws3.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    await flush();
    assert.equal(client.state, 'resumed');
  });

  test('a URL function is asked before every socket, so a token in the URL is fresh on each reconnect', async (t) => {
    const server = new FakeServer();
    let token = 0;
    const url = async ({ reconnect }) => `ws://localhost/distlock/lock?token=${++token}&reconnect=${reconnect}`;
    const { client, ws } = await connected(t, { server, options: { url } });
    assert.equal(ws.url, 'ws://localhost/distlock/lock?token=1&reconnect=false');
    ws.drop();
    t.mock.timers.tick(100);
    await flush();
    assert.equal(server.socket.url, 'ws://localhost/distlock/lock?token=2&reconnect=true');
    assert.equal(client.state, 'suspended');
  });

  test('a URL function that fails: the attempt fails like a socket that did not open, and the next one asks again', async (t) => {
    const server = new FakeServer();
    let calls = 0;
    const url = () => {
      calls++;
      if (calls === 2) throw new Error('token service down');
      return 'ws://localhost/distlock/lock';
    };
    const { client, ws } = await connected(t, { server, options: { url } });
    ws.drop();
    t.mock.timers.tick(100);
    assert.equal(server.sockets.length, 1, 'no socket without a URL');
    await reconnect(t, server);
    assert.equal(calls, 3);
    assert.equal(server.sockets.length, 2);
    assert.equal(server.socket.next('resume').session, 's-1');
    assert.equal(client.state, 'suspended');
  });
});

describe('surviving a page reload (sessionStorage)', () => {
  function memoryStorage() {
    const items = new Map();
    return {
      items,
      getItem: (key) => items.get(key) ?? null,
      setItem: (key, value) => items.set(key, String(value)),
      removeItem: (key) => items.delete(key),
    };
  }

  test('off by default: nothing stored', async (t) => {
    const storage = memoryStorage();
    globalThis.sessionStorage = storage;
    t.after(() => { delete globalThis.sessionStorage; });
    await connected(t);
    assert.equal(storage.items.size, 0);
    const { ws } = await connected(t, { options: { sessionStorage: true }, mocked: true }); // and on when asked
    assert.equal(JSON.parse(storage.items.get('distlock:alice')).session, 's-1');
    ws.expectNothingSent();
  });

  test('a page that unloads ends a session nobody can resume (close goes out first); not one kept in the back/forward cache, nor one whose secret is stored', async (t) => {
    const page = new EventTarget(); // the window, as far as the client looks
    globalThis.addEventListener = page.addEventListener.bind(page);
    globalThis.sessionStorage = memoryStorage();
    t.after(() => { delete globalThis.addEventListener; delete globalThis.sessionStorage; });
    const pagehide = (persisted) => page.dispatchEvent(Object.assign(new Event('pagehide'), { persisted }));
    const unstored = await connected(t);
    const stored = await connected(t, { options: { sessionStorage: true }, mocked: true });
    await lock(unstored.client, unstored.ws, 'doc', 3);

    pagehide(true); // into the back/forward cache: the page may come back and resume
    unstored.ws.expectNothingSent();
    assert.equal(unstored.client.state, 'connected');

    pagehide(false); // closed, reloaded or left
    assert.equal(unstored.ws.next('close').param, 'alice', 'the server releases its locks now, not after the grace period');
    assert.equal(unstored.client.state, 'idle');
    stored.ws.expectNothingSent(); // the next page may resume it
    assert.equal(stored.client.state, 'connected');
  });

  test('the window has a pagehide listener only while a session nobody else could resume is open: close(), disconnect() and an expiry take it off, a new session puts it back', async (t) => {
    const page = fakeWindow(t);
    const pagehide = () => page.dispatchEvent(Object.assign(new Event('pagehide'), { persisted: false }));
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    assert.equal(page.listeners('pagehide'), 1);

    const closing = client.close(); // the session ends, the socket stays
    ws.reply(ws.next('close'), { status: 'OK' });
    await closing;
    assert.equal(page.listeners('pagehide'), 0, 'closed');
    const connecting = client.connect('alice');
    await flush();
    ws.reply(ws.next('connect'), { status: 'OK', session: 's-2', version: 2, resume: 'secret-2', grace: 5000 });
    await connecting;
    assert.equal(page.listeners('pagehide'), 1, 'a new session');

    ws.drop(); // suspended: the page still has the secret
    assert.equal(page.listeners('pagehide'), 1, 'suspended');
    t.mock.timers.tick(5000);
    assert.equal(client.state, 'expired');
    assert.equal(page.listeners('pagehide'), 0, 'expired');
    const ws2 = server.socket;
    ws2.open();
    await flush();
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-3', version: 2, resume: 'secret-3', grace: 5000 });
    await flush();
    assert.equal(client.state, 'connected');
    assert.equal(page.listeners('pagehide'), 1, 'the session reopened after the reconnect');

    await client.disconnect();
    ws2.next('close'); // its reply never comes: the socket closes right behind it
    assert.equal(page.listeners('pagehide'), 0, 'disconnected');
    pagehide();
    assert.equal(client.state, 'idle');

    // A single-page application that opens a client per route and disconnects it on leaving.
    for (let i = 0; i < 20; i++) {
      const route = await connected(t, { mocked: true });
      await route.client.disconnect();
    }
    assert.equal(page.listeners('pagehide'), 0, 'every client it disconnected is off the window');
  });

  test('a reloaded page resumes the stored session and holds its locks again; close() forgets it', async (t) => {
    const storage = memoryStorage();
    const { ws } = await connected(t, { options: { sessionStorage: storage } });
    assert.deepEqual(JSON.parse(storage.items.get('distlock:alice')), { session: 's-1', resume: 'secret-1', grace: 5000 });
    ws.drop(1001); // the page goes away

    const server = new FakeServer();
    const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket, grace: 5000, sessionStorage: storage });
    const events = recordEvents(client, 'resumed', 'connected');
    const connecting = client.connect('alice');
    await flush();
    server.socket.open();
    await flush();
    const ws2 = server.socket;
    const resume = ws2.next('resume');
    assert.deepEqual([resume.session, resume.resume], ['s-1', 'secret-1']);
    ws2.reply(resume, { status: 'OK', session: 's-1', locks: { doc: { token: 12, mode: 'exclusive' } }, queued: [] });
    assert.deepEqual(await connecting, { session: 's-1', name: 'alice', version: 2 });
    assert.equal(client.state, 'resumed');
    assert.deepEqual(client.heldLocks, new Map([['doc', 12]]));
    assert.equal(events.length, 1);
    assert.deepEqual(events[0][1].locks, ['doc']);
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.expectNothingSent(); // the lock is the application's to use: not unlocked
    const closing = client.close();
    ws2.reply(ws2.next('close'), { status: 'OK' });
    await closing;
    assert.equal(storage.items.size, 0);
  });

  test('after a reload, a GRANTED for the old page\'s queue place does not meet an unwanted mark of another lock under the same request id', async (t) => {
    const storage = memoryStorage();
    const { client: oldPage, ws } = await connected(t, { options: { sessionStorage: storage } });
    await lock(oldPage, ws, 'x', 5);
    const queueing = oldPage.lock('A', { wait: true });
    const a = ws.next('lock');
    ws.reply(a, { status: 'QUEUED', position: 1 });
    assert.equal((await queueing).request, a.id);
    ws.drop(1001); // reloaded: the place in A's queue is the session's, and stays

    const server = new FakeServer();
    const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket, grace: 5000, sessionStorage: storage });
    const events = recordEvents(client, 'granted', 'error');
    const connecting = client.connect('alice');
    await flush();
    server.socket.open();
    await flush();
    const ws2 = server.socket;
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { x: { token: 5, mode: 'exclusive' } }, queued: ['A'] });
    await connecting;
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    const controller = new AbortController();
    const requesting = client.request('B', { signal: controller.signal }, () => 'never');
    await flush();
    const b = ws2.next('lock');
    // Math.random is mocked, the same for both pages: their ids collide, as two pages' could.
    assert.equal(b.id, a.id);
    ws2.reply(b, { status: 'QUEUED', position: 1 });
    await flush();
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    ws2.reply(ws2.next('cancel'), { status: 'FAIL', code: 'NOT_QUEUED', message: 'granted meanwhile' });
    ws2.push({ status: 'GRANTED', lock: 'A', token: 7, mode: 'exclusive', request: a.id }); // the old page's place
    ws2.push({ status: 'GRANTED', lock: 'B', token: 8, mode: 'exclusive', request: b.id }); // the aborted request()'s
    await flush();
    assert.equal(ws2.next('unlock').param, 'B', 'the aborted request()\'s grant is unlocked, A is the application\'s');
    ws2.expectNothingSent();
    assert.deepEqual(events.map(([type, detail]) => [type, detail.lock]), [['granted', 'A'], ['granted', 'B']]);
  });

  test('a resumed session\'s new secret is stored (the one sent is spent), so the next reload resumes too', async (t) => {
    const storage = memoryStorage();
    const { ws } = await connected(t, { options: { sessionStorage: storage } });
    ws.drop(1001);
    for (const [sent, issued] of [['secret-1', 'secret-2'], ['secret-2', 'secret-3']]) {
      const server = new FakeServer();
      const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket, grace: 5000, sessionStorage: storage });
      const connecting = client.connect('alice');
      await flush();
      server.socket.open();
      await flush();
      const resume = server.socket.next('resume');
      assert.equal(resume.resume, sent);
      server.socket.reply(resume, { status: 'OK', session: 's-1', resume: issued, locks: {}, queued: [] });
      await connecting;
      assert.deepEqual(JSON.parse(storage.items.get('distlock:alice')), { session: 's-1', resume: issued, grace: 5000 });
      server.socket.drop(1001); // reloaded again
    }
  });

  /** A reloaded page's client for the `stored` session, its connect('alice') sent: the resume is the socket's next frame. */
  async function reloadedPage(t, stored = { session: 's-1', resume: 'secret-1', grace: 5000 }) {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const storage = memoryStorage();
    storage.setItem('distlock:alice', JSON.stringify(stored));
    const server = new FakeServer();
    const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket, grace: 5000, sessionStorage: storage });
    const connecting = client.connect('alice');
    await flush();
    server.socket.open();
    await flush();
    return { client, connecting, ws: server.socket, storage };
  }

  test('a stored session that expired: a new session, and the entry is replaced', async (t) => {
    const { client, connecting, ws, storage } = await reloadedPage(t, { session: 's-old', resume: 'old', grace: 5000 });
    ws.reply(ws.next('resume'), { status: 'FAIL', code: 'SESSION_EXPIRED', message: 'no such session' });
    await flush();
    const connect = ws.next('connect');
    assert.equal(connect.grace, 5000);
    ws.reply(connect, { status: 'OK', session: 's-2', version: 2, resume: 'secret-2', grace: 5000 });
    assert.deepEqual(await connecting, { session: 's-2', name: 'alice', version: 2 });
    assert.equal(client.state, 'connected');
    assert.equal(JSON.parse(storage.items.get('distlock:alice')).session, 's-2');
  });

  const IN_PROGRESS = { status: 'FAIL', code: 'BACKEND_UNAVAILABLE', message: 'a resume of this session is in progress; try again' };

  test('a reloaded page whose resume is still in progress (the old page sent one as it unloaded) asks again, and resumes', async (t) => {
    const { client, connecting, ws } = await reloadedPage(t);
    ws.reply(ws.next('resume'), IN_PROGRESS);
    await flush();
    t.mock.timers.tick(99);
    await flush();
    ws.expectNothingSent();
    t.mock.timers.tick(1);
    await flush();
    const again = ws.next('resume');
    assert.deepEqual([again.session, again.resume], ['s-1', 'secret-1']);
    ws.reply(again, { status: 'OK', session: 's-1', resume: 'secret-2', locks: { doc: { token: 12, mode: 'exclusive' } }, queued: [] });
    assert.deepEqual(await connecting, { session: 's-1', name: 'alice', version: 2 });
    assert.equal(client.state, 'resumed');
    assert.deepEqual(client.heldLocks, new Map([['doc', 12]]));
  });

  test('a resume still answered BACKEND_UNAVAILABLE after four more tries (1.5 s) rejects connect() with it, and opens no new session', async (t) => {
    const { client, connecting, ws } = await reloadedPage(t);
    for (const delayMs of [100, 200, 400, 800]) {
      ws.reply(ws.next('resume'), IN_PROGRESS);
      await flush();
      t.mock.timers.tick(delayMs);
      await flush();
    }
    ws.reply(ws.next('resume'), IN_PROGRESS);
    await assert.rejects(connecting, { code: 'BACKEND_UNAVAILABLE' });
    ws.expectNothingSent();
    assert.equal(client.state, 'idle');
  });

  test('disconnect() while a resume waits to be tried again ends that connect(): nothing more is sent', async (t) => {
    const { client, connecting, ws } = await reloadedPage(t);
    ws.reply(ws.next('resume'), IN_PROGRESS);
    await flush();
    const closing = client.disconnect();
    const rejected = assert.rejects(connecting, { code: 'DISCONNECTED' });
    t.mock.timers.tick(100);
    await rejected;
    ws.expectNothingSent();
    await closing;
  });
});

describe('resume edge cases', () => {
  test('a queue place the resume OK lists that nobody asked for (its QUEUED was lost) is cancelled, and a grant that crossed the cancel unlocked', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const queueing = client.lock('doc', { wait: true });
    const ask = ws.next('lock');
    ws.drop();
    await assert.rejects(queueing, { code: 'DISCONNECTED' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    const cancel = ws2.next('cancel');
    assert.equal(cancel.param, 'doc');
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 21, mode: 'exclusive', request: ask.id });
    ws2.reply(cancel, { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    await flush();
    const unlock = ws2.next('unlock');
    assert.equal(unlock.param, 'doc');
    ws2.reply(unlock, { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('a lock(name, {wait: true}) asked again in the resumed handler, for a place the resume OK lists that nobody asked for: the cancel goes out first, so the new place stays and its grant comes', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const queueing = client.lock('doc', { wait: true });
    ws.next('lock');
    ws.drop();
    await assert.rejects(queueing, { code: 'DISCONNECTED' });
    let again;
    client.on('resumed', () => { again = client.lock('doc', { wait: true }); });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    const cancel = ws2.next('cancel');
    assert.equal(cancel.param, 'doc');
    const ask = ws2.next('lock'); // after the cancel: a new place, not the one cancelled
    ws2.reply(cancel, { status: 'OK' });
    ws2.reply(ask, { status: 'QUEUED', position: 1 });
    await flush();
    const answer = await again;
    assert.equal(answer.status, 'QUEUED');
    const events = recordEvents(client, 'granted', 'cancelled');
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 12, mode: 'exclusive', request: ask.id });
    await flush();
    assert.deepEqual(events, [['granted', { lock: 'doc', token: 12, mode: 'exclusive', request: answer.request }]]);
    assert.deepEqual(client.heldLocks, new Map([['doc', 12]]));
    ws2.expectNothingSent();
  });

  test('a lock() asked in the resumed handler, and the place the resume OK lists that nobody asked for is granted before its cancel: the grant is kept for that lock() (LOCKED after it), not unlocked', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const queueing = client.lock('doc', { wait: true });
    const first = ws.next('lock');
    ws.drop();
    await assert.rejects(queueing, { code: 'DISCONNECTED' });
    let again;
    client.on('resumed', () => { again = client.lock('doc'); });
    const lost = recordEvents(client, 'lost');
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    const cancel = ws2.next('cancel');
    const ask = ws2.next('lock');
    // The server grants the place, then answers the cancel (too late) and the lock (held: the same token).
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 30, mode: 'exclusive', request: first.id });
    ws2.reply(cancel, { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    ws2.reply(ask, { status: 'LOCKED', token: 30 });
    await flush();
    assert.deepEqual(await again, { status: 'LOCKED', token: 30 });
    ws2.expectNothingSent(); // no unlock of the application's lock
    assert.deepEqual(client.heldLocks, new Map([['doc', 30]]));
    assert.deepEqual(lost, []);
  });

  test('a lockAll() asked in the resumed handler, answered WAIT (it takes none), and the listed place nobody asked for granted before its cancel: the grant is unlocked once the WAIT comes, not kept for ever', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const queueing = client.lock('doc', { wait: true });
    const first = ws.next('lock');
    ws.drop();
    await assert.rejects(queueing, { code: 'DISCONNECTED' });
    let again;
    client.on('resumed', () => { again = client.lockAll(['doc', 'other']); });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    const cancel = ws2.next('cancel');
    const ask = ws2.next('mlock');
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 30, mode: 'exclusive', request: first.id });
    ws2.reply(cancel, { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    await flush();
    ws2.expectNothingSent(); // kept while the lockAll() is out: it may be answered LOCKED
    ws2.reply(ask, { status: 'WAIT', holders: { other: 'bob' } });
    assert.deepEqual(await again, { status: 'WAIT', holders: { other: 'bob' } });
    await flush();
    const unlock = ws2.next('unlock');
    assert.equal(unlock.param, 'doc');
    ws2.reply(unlock, { status: 'OK' });
    await flush();
    ws2.expectNothingSent();
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('the same with a lock() asked in the handler answered FAIL: the grant is unlocked', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const queueing = client.lock('doc', { wait: true });
    const first = ws.next('lock');
    ws.drop();
    await assert.rejects(queueing, { code: 'DISCONNECTED' });
    let again;
    client.on('resumed', () => { again = client.lock('doc', { steal: true }); });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    const cancel = ws2.next('cancel');
    const ask = ws2.next('lock');
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 30, mode: 'exclusive', request: first.id });
    ws2.reply(cancel, { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    ws2.reply(ask, { status: 'FAIL', code: 'UNAUTHORIZED', message: 'no steal' });
    await assert.rejects(again, { code: 'UNAUTHORIZED' });
    await flush();
    const unlock = ws2.next('unlock');
    assert.equal(unlock.param, 'doc');
    ws2.reply(unlock, { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('the same with the lockAll() answered LOCKED: the grant is the application\'s, kept', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const queueing = client.lock('doc', { wait: true });
    const first = ws.next('lock');
    ws.drop();
    await assert.rejects(queueing, { code: 'DISCONNECTED' });
    let again;
    client.on('resumed', () => { again = client.lockAll(['doc', 'other']); });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    const cancel = ws2.next('cancel');
    const ask = ws2.next('mlock');
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 30, mode: 'exclusive', request: first.id });
    ws2.reply(cancel, { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    ws2.reply(ask, { status: 'LOCKED', tokens: { doc: 30, other: 31 } });
    assert.deepEqual(await again, { status: 'LOCKED', tokens: { doc: 30, other: 31 } });
    await flush();
    ws2.expectNothingSent();
    assert.deepEqual(client.heldLocks, new Map([['doc', 30], ['other', 31]]));
  });

  test('a resume OK that comes after the grace period ran out here: the session is closed again and a new one opened (the app was told the locks were lost); the missed pushes that follow are ignored', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, grace: 1000 });
    await lock(client, ws, 'doc', 3);
    const queueing = client.lock('queued', { wait: true });
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', position: 1 });
    await queueing;
    ws.drop();
    const ws2 = await reconnect(t, server); // 100 ms after the drop
    const resume = ws2.next('resume');
    t.mock.timers.tick(900);
    assert.equal(client.state, 'expired');
    const events = recordEvents(client, 'granted', 'lost', 'cancelled', 'retry');
    ws2.reply(resume, { status: 'OK', session: 's-1', locks: { doc: { token: 3, mode: 'exclusive' }, queued: { token: 4, mode: 'exclusive' } }, queued: [] });
    // The session's missed pushes, before the server reads the close: none is the new session's.
    ws2.push({ status: 'GRANTED', lock: 'queued', token: 4, mode: 'exclusive', request: ask.id });
    ws2.push({ status: 'LOST', lock: 'doc', reason: 'lease' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
    assert.equal(ws2.next('close').param, 'alice');
    const connect = ws2.next('connect');
    ws2.reply(connect, { status: 'OK', session: 's-2', version: 2, resume: 'secret-2', grace: 1000 });
    await flush();
    assert.equal(client.state, 'connected');
    assert.deepEqual(client.heldLocks, new Map());
    assert.deepEqual(events, []);
  });

  test('the grace period runs out here while the resume is out, then the server answers SESSION_EXPIRED: expired once, a new session on the same socket', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, grace: 1000 });
    await lock(client, ws, 'doc', 3);
    const events = recordEvents(client, 'error', 'expired');
    ws.drop();
    const ws2 = await reconnect(t, server);
    const resume = ws2.next('resume');
    t.mock.timers.tick(900);
    assert.equal(client.state, 'expired');
    ws2.reply(resume, { status: 'FAIL', code: 'SESSION_EXPIRED', message: 'no such session' });
    await flush();
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2', version: 2, resume: 'secret-2', grace: 1000 });
    await flush();
    assert.equal(client.state, 'connected');
    assert.deepEqual(ws2.closeCalls, []);
    assert.deepEqual(events.map(([type]) => type), ['expired']);
  });

  test('a request() aborted while suspended, with another waiting for the name: the grant the resume tells of is unlocked (no cancel: the place is gone), and the other asks itself', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const errors = recordEvents(client, 'error');
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', position: 1 });
    await flush();
    let seen;
    const second = client.request('doc', (lock) => { seen = lock.token; return 'done'; });
    ws.drop();
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 40, mode: 'exclusive' } }, queued: [] });
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: ask.id });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.reply(ws2.next('unlock'), { status: 'OK' }); // nobody's: the first request() was aborted
    await flush();
    // No cancel: the resume OK lists the lock as held, not the place; NOT_QUEUED would answer it.
    const again = ws2.next('lock');
    assert.equal(again.wait, true);
    ws2.reply(again, { status: 'LOCKED', token: 41 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await second, 'done');
    assert.equal(seen, 41);
    assert.deepEqual(client.heldLocks, new Map());
    assert.deepEqual(errors, []);
    ws2.expectNothingSent();
  });

  test('a request() aborted while suspended and still queued after the resume: cancel goes out then', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', position: 2 });
    await flush();
    ws.drop();
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.reply(ws2.next('cancel'), { status: 'OK' });
    await flush();
    ws2.expectNothingSent();
    const next = client.request('doc', (lock) => lock.token);
    await flush();
    ws2.reply(ws2.next('lock'), { status: 'LOCKED', token: 9 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await next, 9);
  });

  test('a request() aborted while suspended, its place ended while detached (the resume OK no longer lists it, its CANCELLED among the missed pushes): no cancel goes out, and the next request() asks', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const errors = recordEvents(client, 'error');
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', position: 2 });
    await flush();
    ws.drop();
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    ws2.push({ status: 'CANCELLED', lock: 'doc', reason: 'timeout', request: ask.id });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    await flush();
    ws2.expectNothingSent(); // the server has no place to drop: a cancel would be answered NOT_QUEUED
    const next = client.request('doc', (lock) => lock.token);
    await flush();
    ws2.reply(ws2.next('lock'), { status: 'LOCKED', token: 9 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await next, 9);
    assert.deepEqual(errors, []);
    ws2.expectNothingSent();
  });

  test('a request() aborted while suspended, and the session expires: no cancel in the new session, and the next request() asks there', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', position: 2 });
    await flush();
    const next = client.request('doc', (lock) => lock.token);
    ws.drop();
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'FAIL', code: 'SESSION_EXPIRED', message: 'no such session' });
    await flush();
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2', version: 2, resume: 'secret-2', grace: 5000 });
    await flush();
    const again = ws2.next('lock');
    ws2.reply(again, { status: 'LOCKED', token: 12 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await next, 12);
    ws2.expectNothingSent();
  });

  test('a cancel that timed out, then a drop, and the resume reports the grant: a request() made meanwhile queues anew (not ALREADY_HELD) once the grant is unlocked', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, options: { requestTimeoutMs: 1000 } });
    const errors = recordEvents(client, 'error');
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', position: 2 });
    await flush();
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    ws.next('cancel'); // never answered
    t.mock.timers.tick(1000);
    await flush();
    ws.drop();
    let seen;
    let failure;
    const second = client.request('doc', (lock) => { seen = lock.token; return 'done'; });
    second.catch((error) => { failure = error; });
    const ws2 = await reconnect(t, server);
    // The cancel never reached the server, which granted the place while the session was detached.
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 40, mode: 'exclusive' } }, queued: [] });
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: ask.id });
    await flush();
    assert.equal(failure, undefined, 'the grant is the aborted request\'s, not one the application took with lock()');
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.reply(ws2.next('unlock'), { status: 'OK' }); // nobody's: its request() was aborted
    await flush();
    const again = ws2.next('lock'); // after the unlock: the server sees the release first
    assert.equal(again.wait, true);
    ws2.reply(again, { status: 'QUEUED', position: 1 });
    await flush();
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 41, mode: 'exclusive', request: again.id });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await second, 'done');
    assert.equal(seen, 41);
    assert.deepEqual(client.heldLocks, new Map());
    assert.deepEqual(errors.map(([, { error }]) => error.code), ['TIMEOUT'], 'the cancel\'s timeout, nothing else');
    ws2.expectNothingSent();
  });

  test('a cancel that timed out, then another request() queued, then a drop: the grant the resume reports goes to that request()', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, options: { requestTimeoutMs: 1000 } });
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', position: 2 });
    await flush();
    let seen;
    const second = client.request('doc', (lock) => { seen = lock.token; return 'done'; });
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    ws.next('cancel'); // never answered
    t.mock.timers.tick(1000);
    await flush();
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', position: 1 }); // the session's one place, now in this request's name
    await flush();
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 40, mode: 'exclusive' } }, queued: [] });
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: ask.id });
    await flush();
    assert.equal(seen, 40, 'the waiting request() runs with the grant');
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await second, 'done');
    assert.deepEqual(client.heldLocks, new Map());
    ws2.expectNothingSent();
  });

  test('the unlock of a grant nobody wants, cut by a drop: the resume that lists the lock unlocks it again', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const errors = recordEvents(client, 'error');
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', position: 1 });
    await flush();
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    const cancel = ws.next('cancel');
    ws.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: ask.id });
    ws.reply(cancel, { status: 'FAIL', code: 'NOT_QUEUED', message: 'granted meanwhile' });
    await flush();
    ws.next('unlock'); // cut by the drop: the server may or may not have seen it
    ws.drop();
    await flush();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 40, mode: 'exclusive' } }, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' }); // the missed pushes are all in
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' }); // it had not: unlocked now, not kept by nobody
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
    assert.deepEqual(errors, []);
    ws2.expectNothingSent();
  });

  test('the unlock of a grant that crossed an abort (LOCKED after it), cut by a drop: the resume that lists the lock unlocks it, and the next request() for it runs (not ALREADY_HELD)', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const errors = recordEvents(client, 'error');
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const ask = ws.next('lock');
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    ws.reply(ask, { status: 'LOCKED', token: 5 }); // granted at once, the abort on its way
    await flush();
    ws.next('unlock'); // cut by the drop: the server may or may not have seen it
    ws.drop();
    await flush();
    const second = client.request('doc', (lock) => lock.token);
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 5, mode: 'exclusive' } }, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.reply(ws2.next('unlock'), { status: 'OK' }); // it had not: unlocked now
    await flush();
    const again = ws2.next('lock');
    ws2.reply(again, { status: 'LOCKED', token: 6 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await second, 6);
    assert.deepEqual(client.heldLocks, new Map());
    assert.deepEqual(errors, []);
    ws2.expectNothingSent();
  });

  test('the unlock of a grant that came in the tick of an abort while queued, cut by a drop: the resume that lists the lock unlocks it', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const errors = recordEvents(client, 'error');
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', position: 1 });
    await flush();
    ws.push({ status: 'GRANTED', lock: 'doc', token: 5, mode: 'exclusive', request: ask.id });
    controller.abort(); // the same tick: no cancel, the grant is unlocked
    await assert.rejects(first, { name: 'AbortError' });
    ws.next('unlock');
    ws.drop();
    await flush();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 5, mode: 'exclusive' } }, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
    assert.deepEqual(errors, []);
    ws2.expectNothingSent();
  });

  test('the unlock of a lock() granted after its TIMEOUT, cut by a drop: the resume that lists the lock unlocks it', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, options: { requestTimeoutMs: 1000 } });
    const errors = recordEvents(client, 'error');
    const locking = client.lock('doc');
    const ask = ws.next('lock');
    t.mock.timers.tick(1000);
    await assert.rejects(locking, { code: 'TIMEOUT' });
    ws.reply(ask, { status: 'LOCKED', token: 5 }); // late: nobody counts on it
    ws.next('unlock');
    ws.drop();
    await flush();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 5, mode: 'exclusive' } }, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
    assert.deepEqual(errors, []);
    ws2.expectNothingSent();
  });

  test('a node that does not know resume (UNKNOWN_ACTION) cannot resume: expired, and a new session there', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    await lock(client, ws, 'doc', 3);
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'FAIL', code: 'UNKNOWN_ACTION', message: 'resume' });
    await flush();
    assert.equal(client.state, 'expired');
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2' });
    await flush();
    assert.equal(client.state, 'connected');
    assert.equal(client.session.version, 1);
  });

  test('a resume that fails for another reason (BACKEND_UNAVAILABLE) is reported; still suspended, the next attempt resumes', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    await lock(client, ws, 'doc', 3);
    const errors = recordEvents(client, 'error');
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'FAIL', code: 'BACKEND_UNAVAILABLE', message: 'Redis is unreachable' });
    await flush();
    assert.equal(errors.length, 1);
    assert.equal(client.state, 'suspended');
    assert.deepEqual(client.heldLocks, new Map([['doc', 3]]));
    const ws3 = await reconnect(t, server);
    ws3.reply(ws3.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 3, mode: 'exclusive' } }, queued: [] });
    await flush();
    assert.equal(client.state, 'resumed');
  });

  test('a request() whose callback ends while suspended: the unlock goes out after the resume, and request() settles then', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    let finish;
    let signal;
    const requesting = client.request('doc', (lock) => {
      signal = lock.signal;
      return new Promise((resolve) => { finish = resolve; });
    });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await flush();
    ws.drop();
    assert.equal(signal.aborted, false, 'suspended: the lock is kept');
    finish('done');
    await flush();
    let settled = false;
    requesting.then(() => { settled = true; });
    await flush();
    assert.equal(settled, false, 'not released yet');
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 5, mode: 'exclusive' } }, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 'done');
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('a request() whose callback ends while the socket is closing (the server\'s close frame is in, its close event not yet): the unlock goes out after the resume, not dropped', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    let finish;
    const requesting = track(client.request('doc', () => new Promise((resolve) => { finish = resolve; })));
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 7 });
    await flush();
    ws.readyState = 2; // closing: a rolling restart's 1001, say
    finish('done');
    await flush();
    ws.drop(1001, 'going away');
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 7, mode: 'exclusive' } }, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    assert.equal(requesting.settled, false, 'not released yet');
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    await settledWithin(t, requesting);
    assert.equal(requesting.value, 'done');
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('a request() called while the socket is closing waits for the resume, and asks then (not NOT_CONNECTED)', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    ws.readyState = 2;
    const requesting = track(client.request('doc', (lock) => lock.token));
    await flush();
    ws.drop(1001, 'going away');
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.reply(ws2.next('lock'), { status: 'LOCKED', token: 8 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    await settledWithin(t, requesting);
    assert.equal(requesting.value, 8);
  });

  test('a request() aborted while queued and the socket is closing: the cancel goes out after the resume, and a grant told by it is unlocked', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const controller = new AbortController();
    const requesting = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    const ask = ws.next('lock');
    ws.reply(ask, { status: 'QUEUED', lock: 'doc', position: 2 });
    await flush();
    ws.readyState = 2;
    controller.abort();
    await assert.rejects(requesting, { name: 'AbortError' });
    await flush(); // its cancel failed (NOT_CONNECTED) before the close event
    ws.drop(1001, 'going away');
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    const cancel = ws2.next('cancel');
    ws2.push({ status: 'GRANTED', lock: 'doc', token: 30, mode: 'exclusive', request: ask.id }); // granted before the cancel came
    ws2.reply(cancel, { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    await flush();
    assert.deepEqual(client.heldLocks, new Map());
    ws2.expectNothingSent();
  });

  test('a resume OK with entries a server should not send (a lock without a token, a name that is no string): they are left out, the resume settles, the session is resumed', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    await lock(client, ws, 'doc', 7);
    const errors = recordEvents(client, 'error');
    const events = recordEvents(client, 'lost', 'resumed');
    ws.drop();
    const ws2 = await reconnect(t, server);
    assert.doesNotThrow(() => ws2.reply(ws2.next('resume'),
      { status: 'OK', session: 's-1', locks: { doc: { token: 7, mode: 'exclusive' }, bad: null, worse: { mode: 'shared' } }, queued: [3, 'q'] }));
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    await flush();
    assert.equal(client.state, 'resumed');
    assert.deepEqual(client.heldLocks, new Map([['doc', 7]]));
    assert.deepEqual(events.map(([type, detail]) => [type, detail.locks, detail.queued]), [['resumed', ['doc'], ['q']]]);
    assert.deepEqual(ws2.takeAll().map((frame) => `${frame.action} ${frame.param}`), ['cancel q'], 'the place nobody asked for is cancelled');
    assert.deepEqual(errors, []);
  });

  test('a request() whose callback ends while suspended, and the session expires: request() rejects with LOST (EXPIRED) then, not never', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    let signal;
    const requesting = client.request('doc', (lock) => { signal = lock.signal; return 'done'; });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await flush();
    const unlock = ws.next('unlock');
    ws.drop(); // the unlock is cut: released after the resume, or with the session
    const state = { settled: false };
    requesting.catch((error) => { state.error = error; }).finally(() => { state.settled = true; });
    await flush();
    assert.equal(state.settled, false);
    assert.ok(unlock);
    t.mock.timers.tick(5000); // the grace period passes with no server to resume at
    await flush();
    assert.equal(client.state, 'expired');
    assert.equal(state.settled, true, 'request() settles with the session');
    assert.equal(state.error?.code, 'LOST');
    assert.deepEqual(state.error.lost, { lock: 'doc', token: 5, reason: 'EXPIRED' });
    assert.equal(signal.reason, state.error);
    assert.deepEqual(client.heldLocks, new Map());
  });

  test('a request() whose callback ends while suspended, and the resume no longer lists its lock: request() rejects with LOST, the missed LOST\'s detail', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    let signal;
    const requesting = client.request('doc', (lock) => { signal = lock.signal; return 'done'; });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    ws.drop(); // before the callback ends: its unlock cannot be sent
    await flush();
    const state = { settled: false };
    requesting.catch((error) => { state.error = error; }).finally(() => { state.settled = true; });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    await flush(); // the missed LOST comes in a later frame
    ws2.push({ status: 'LOST', lock: 'doc', reason: 'stolen', by: 'bob' });
    await flush();
    assert.equal(state.settled, true);
    assert.equal(state.error?.code, 'LOST', `${state.error}`);
    assert.deepEqual(state.error.lost, { lock: 'doc', token: 5, reason: 'LOST', cause: 'stolen', by: 'bob' });
    assert.equal(signal.aborted, true);
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    await flush();
    ws2.expectNothingSent(); // not the session's: no unlock
  });

  test('a request() whose lock the server gave up while detached: its signal aborts on resume and it rejects with LOST', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    let signal;
    let finish;
    const requesting = client.request('doc', (lock) => {
      signal = lock.signal;
      return new Promise((resolve) => { finish = resolve; });
    });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await flush();
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    ws2.push({ status: 'LOST', lock: 'doc', reason: 'lease' });
    assert.equal(signal.aborted, true);
    finish('done');
    await assert.rejects(requesting, (error) => error.code === 'LOST' && error.lost.cause === 'lease');
  });

  test('a request() callback that ends while suspended, its unlock after the resume answered NOT_OWNER (lost after the OK): request() rejects with LOST and the server\'s cause', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const state = { settled: false };
    const requesting = client.request('doc', () => 'done');
    requesting.then((value) => { state.value = value; }, (error) => { state.error = error; }).finally(() => { state.settled = true; });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    ws.drop(); // before the callback ends: its unlock waits for the resume
    await flush();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 5, mode: 'exclusive' } }, queued: [] });
    await flush();
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    ws2.reply(ws2.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'not held' });
    await flush();
    await flush();
    assert.equal(state.settled, false, 'waits for the server\'s LOST, which says why');
    ws2.push({ status: 'LOST', lock: 'doc', token: 5, reason: 'lease' }); // in a later read
    await flush();
    assert.equal(state.settled, true);
    assert.equal(state.error?.code, 'LOST', `request() resolved with ${JSON.stringify(state.value)}`);
    assert.deepEqual(state.error.lost, { lock: 'doc', token: 5, reason: 'LOST', cause: 'lease' });
  });

  test('a request() callback that ends after a resume OK without its lock, before the next reply: its signal aborts at the OK, request() rejects with LOST once the lost event comes', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server });
    const lost = recordEvents(client, 'lost');
    let signal;
    let finish;
    const requesting = client.request('doc', (lock) => {
      signal = lock.signal;
      return new Promise((resolve) => { finish = resolve; });
    });
    const state = { settled: false };
    requesting.then((value) => { state.value = value; }, (error) => { state.error = error; }).finally(() => { state.settled = true; });
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    await flush();
    ws.drop();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    assert.deepEqual(client.heldLocks, new Map());
    assert.equal(signal.aborted, true, 'the grant is gone: the callback is told at once');
    assert.equal(signal.reason.code, 'LOST');
    finish('done'); // before the reply that ends the window of missed pushes
    await flush();
    await flush();
    assert.equal(state.settled, false, 'waits for the lost event, which may bring the server\'s cause');
    ws2.reply(ws2.next('ping'), { status: 'OK' }); // no missed LOST came: lost, reason LOST
    await flush();
    assert.deepEqual(lost, [['lost', { lock: 'doc', token: 5, reason: 'LOST' }]]);
    assert.equal(state.settled, true);
    assert.equal(state.error?.code, 'LOST', `request() resolved with ${JSON.stringify(state.value)}`);
    assert.equal(state.error, signal.reason);
    assert.deepEqual(state.error.lost, { lock: 'doc', token: 5, reason: 'LOST' });
    ws2.expectNothingSent(); // not the session's: no unlock
  });
});

describe('connect options and ping', () => {
  test('grace and info go with connect; without them the connect frame is as before', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    for (const [options, expected] of [
      [{ grace: 20_000, info: { displayName: 'Alice' } }, { grace: 20_000, info: { displayName: 'Alice' } }],
      [{}, {}],
    ]) {
      const server = new FakeServer();
      const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket, ...options });
      client.connect('alice');
      await flush();
      server.socket.open();
      await flush();
      const { id, ...frame } = server.socket.next('connect');
      assert.deepEqual(frame, { action: 'connect', param: 'alice', version: 2, ...expected });
    }
    assert.throws(() => new DistLockClient('ws://x/', { WebSocket: FakeServer, grace: -1 }), RangeError);
    assert.throws(() => new DistLockClient('ws://x/', { WebSocket: FakeServer, info: 'Alice' }), /info must be a JSON object/);
  });

  test('no ping on a version 1 session (it has no ping), nor when turned off', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const server = new FakeServer();
    const client = new DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket });
    const connecting = client.connect('alice');
    await flush();
    server.socket.open();
    await flush();
    server.socket.reply(server.socket.next('connect'), { status: 'OK', session: 's-1' }); // version 1
    await connecting;
    t.mock.timers.tick(60_000);
    server.socket.expectNothingSent();
    const { ws } = await connected(t, { options: { pingIntervalMs: false }, mocked: true });
    t.mock.timers.tick(60_000);
    ws.expectNothingSent();
  });

  test('a server that answers the ping keeps the session connected, however long it is idle', async (t) => {
    const { client, ws } = await connected(t, { options: { pingIntervalMs: 1000, requestTimeoutMs: 500 } });
    for (let i = 0; i < 5; i++) {
      t.mock.timers.tick(1000);
      ws.reply(ws.next('ping'), { status: 'OK' });
    }
    assert.equal(client.state, 'connected');
  });
});

describe('an unwanted mark ends with its queue place', () => {
  /**
   * A lock('doc', {wait: true}) whose QUEUED the drop cut; the resume OK lists its place, which
   * nobody asked for: the client marks it unwanted and sends cancel. Returns that cancel, unanswered.
   */
  async function strayPlace(t, server, options = {}) {
    const { client, ws } = await connected(t, { server, options });
    const queueing = client.lock('doc', { wait: true });
    ws.next('lock');
    ws.drop();
    await assert.rejects(queueing, { code: 'DISCONNECTED' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: ['doc'] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    return { client, ws: ws2, cancel: ws2.next('cancel') };
  }

  /** The same, its cancel cut by a second drop; then the next resume OK (`resume`), and its ping answered. */
  async function strayPlaceCancelCut(t, server, resume) {
    const { client, ws } = await strayPlace(t, server);
    ws.drop();
    await flush();
    const ws3 = await reconnect(t, server);
    ws3.reply(ws3.next('resume'), { status: 'OK', session: 's-1', ...resume });
    ws3.reply(ws3.next('ping'), { status: 'OK' });
    await flush();
    return { client, ws: ws3 };
  }

  /** The application's lock('doc', {wait: true}), answered QUEUED: its result and its frame. */
  async function queuedLock(client, ws) {
    const locking = client.lock('doc', { wait: true });
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1 });
    return { answer: await locking, frame };
  }

  /** A drop, and a resume OK that reports the place granted while detached (locks: doc 40); its ping answered. */
  async function grantedWhileDetached(t, server, ws) {
    ws.drop();
    await flush();
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: { doc: { token: 40, mode: 'exclusive' } }, queued: [] });
    ws2.reply(ws2.next('ping'), { status: 'OK' });
    await flush();
    return ws2;
  }

  test('a place nobody asked for, its cancel answered OK after its TIMEOUT: the application\'s next queued lock() keeps its grant (no unlock, no silent loss)', async (t) => {
    const server = new FakeServer();
    const { client, ws, cancel } = await strayPlace(t, server, { requestTimeoutMs: 1000 });
    t.mock.timers.tick(1000); // the cancel's reply is slow
    await flush();
    ws.reply(cancel, { status: 'OK' }); // late: the place is gone
    await flush();
    const { answer, frame } = await queuedLock(client, ws);
    const events = recordEvents(client, 'granted', 'lost');
    ws.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: frame.id });
    await flush();
    assert.deepEqual(events, [['granted', { lock: 'doc', token: 40, mode: 'exclusive', request: answer.request }]]);
    assert.deepEqual(client.heldLocks, new Map([['doc', 40]]));
    ws.expectNothingSent();
  });

  test('the same, and the grant is told by the OK of a later resume (it carries no request): kept too', async (t) => {
    const server = new FakeServer();
    const { client, ws, cancel } = await strayPlace(t, server, { requestTimeoutMs: 1000 });
    t.mock.timers.tick(1000);
    await flush();
    ws.reply(cancel, { status: 'OK' });
    await flush();
    const { answer } = await queuedLock(client, ws);
    const events = recordEvents(client, 'granted', 'lost');
    const ws2 = await grantedWhileDetached(t, server, ws);
    assert.deepEqual(events, [['granted', { lock: 'doc', token: 40, mode: 'exclusive', request: answer.request }]]);
    assert.deepEqual(client.heldLocks, new Map([['doc', 40]]));
    ws2.expectNothingSent();
  });

  test('a place nobody asked for, its cancel cut by a drop, and the next resume no longer lists it (another node: no missed pushes): the application\'s next queued lock() keeps its grant', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await strayPlaceCancelCut(t, server, { locks: {}, queued: [] });
    const { answer, frame } = await queuedLock(client, ws);
    const events = recordEvents(client, 'granted', 'lost');
    ws.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: frame.id });
    await flush();
    assert.deepEqual(events, [['granted', { lock: 'doc', token: 40, mode: 'exclusive', request: answer.request }]]);
    ws.expectNothingSent();
  });

  test('the same, and the grant is told by the OK of a later resume: kept too', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await strayPlaceCancelCut(t, server, { locks: {}, queued: [] });
    const { answer } = await queuedLock(client, ws);
    const events = recordEvents(client, 'granted', 'lost');
    const ws2 = await grantedWhileDetached(t, server, ws);
    assert.deepEqual(events, [['granted', { lock: 'doc', token: 40, mode: 'exclusive', request: answer.request }]]);
    assert.deepEqual(client.heldLocks, new Map([['doc', 40]]));
    ws2.expectNothingSent();
  });

  test('a place nobody asked for, still listed by the next resume (its cancel cut): the application\'s lock() queued there since makes the place its own, and keeps the grant that names it', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await strayPlaceCancelCut(t, server, { locks: {}, queued: ['doc'] });
    const { answer, frame } = await queuedLock(client, ws); // the session's one place, now in this request's name
    const events = recordEvents(client, 'granted', 'lost');
    ws.push({ status: 'GRANTED', lock: 'doc', token: 40, mode: 'exclusive', request: frame.id });
    await flush();
    assert.deepEqual(events, [['granted', { lock: 'doc', token: 40, mode: 'exclusive', request: answer.request }]]);
    ws.expectNothingSent();
  });

  test('the same with a request() and a timeout: the server\'s CANCELLED naming it rejects it (the mark of the place nobody asked for does not swallow it)', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await strayPlaceCancelCut(t, server, { locks: {}, queued: ['doc'] });
    const requesting = track(client.request('doc', { timeout: 500 }, () => 'never'));
    await flush();
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    ws.push({ status: 'CANCELLED', lock: 'doc', reason: 'timeout', request: frame.id });
    await settledWithin(t, requesting);
    assert.equal(requesting.error?.code, 'CANCELLED');
    assert.equal(requesting.error?.reason, 'timeout');
    ws.expectNothingSent();
  });

  test('a request() aborted while suspended, its place gone when resumed on another node (no missed pushes): the next request()\'s CANCELLED rejects it', async (t) => {
    const server = new FakeServer();
    const { client, ws } = await connected(t, { server, options: { requestTimeoutMs: 1000 } });
    const controller = new AbortController();
    const first = client.request('doc', { signal: controller.signal }, () => 'never');
    await flush();
    ws.reply(ws.next('lock'), { status: 'QUEUED', position: 2 });
    await flush();
    ws.drop();
    controller.abort();
    await assert.rejects(first, { name: 'AbortError' });
    const ws2 = await reconnect(t, server);
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    await flush();
    for (const frame of ws2.takeAll()) {
      if (frame.action === 'ping') ws2.reply(frame, { status: 'OK' });
      if (frame.action === 'cancel') ws2.reply(frame, { status: 'FAIL', code: 'NOT_QUEUED', message: 'not queued' });
    }
    await flush();
    const second = track(client.request('doc', { timeout: 500 }, () => 'never'));
    await flush();
    const frame = ws2.next('lock');
    ws2.reply(frame, { status: 'QUEUED', lock: 'doc', position: 2 });
    await flush();
    ws2.push({ status: 'CANCELLED', lock: 'doc', reason: 'timeout', request: frame.id });
    await settledWithin(t, second);
    assert.equal(second.error?.code, 'CANCELLED');
  });
});
