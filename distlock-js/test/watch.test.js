// Protocol version 2, issue 14 on the client: query(), watch() and its unwatch, the CHANGED
// push, re-watching on a new or resumed session; steal and ask on lock() and request(), the
// stolen holder's side, the ASKED push (the `asked` event) and RATE_LIMITED asks. Frames as in
// PROTOCOL-v2.md; names go in `params`, as for every action (docs/protocol.md).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DistLockClient, DistLockError } from '../src/distlock.js';
import { FakeServer, connectSession, flush, recordEvents } from './support/fake-websocket.js';

const URL_ = 'ws://localhost/distlock/lock';
const RECONNECT = { initialDelayMs: 100, maxDelayMs: 100 };

/** A client with a session on a version 2 server (or `version: 1`: a server that does not know it). */
async function connected({ version = 2, ...options } = {}) {
  const server = new FakeServer();
  const client = new DistLockClient(URL_, { WebSocket: server.WebSocket, ...options });
  const ws = await connectSession(client, server, 'alice', 's-1', version === 2 ? { version: 2 } : {});
  return { server, client, ws };
}

/** The same on fake timers (setTimeout and Date), with the reconnect backoff fixed at 100 ms. */
async function connectedOnFakeTime(t, options = {}) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.mock.method(Math, 'random', () => 1);
  return connected({ reconnect: RECONNECT, ...options });
}

/** The frame without its id, to compare whole frames. */
function withoutId({ id, ...frame }) {
  assert.ok(Number.isInteger(id), `a request id: ${JSON.stringify(frame)}`);
  return frame;
}

async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

function deferred() {
  let resolve;
  const promise = new Promise((res) => { resolve = res; });
  return { promise, resolve };
}

/** The server's default frame limit (EndpointOptions maxFrameBytes): a larger client frame is closed with 1009. */
const MAX_FRAME_BYTES = 8192;

/** `count` distinct lock names of `length` characters, starting with `prefix`. */
function longNames(prefix, count, length) {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}-`.padEnd(length, 'x'));
}

/** A client with a session on a version 2 server that grants a grace period (resumable), on fake timers. */
async function resumableOnFakeTime(t) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  t.mock.method(Math, 'random', () => 1);
  const server = new FakeServer();
  const client = new DistLockClient(URL_, { WebSocket: server.WebSocket, reconnect: RECONNECT, grace: 5000 });
  const connecting = client.connect('alice');
  await flush();
  const ws = server.socket;
  ws.open();
  await flush();
  ws.reply(ws.next('connect'), { status: 'OK', session: 's-1', version: 2, resume: 'secret', grace: 5000 });
  await connecting;
  return { server, client, ws };
}

/**
 * Drops `ws` and lets the client reconnect (backoff fixed at 100 ms): a new session on a
 * version 2 server, or with `resumed` the session resumed (its resume OK and ping taken).
 * Returns the new socket, with the frames that follow the session's opening unread.
 */
async function reconnect(t, server, ws, { resumed = false } = {}) {
  ws.drop();
  await flush();
  t.mock.timers.tick(100);
  const ws2 = server.socket;
  ws2.open();
  await flush();
  if (resumed) {
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    ws2.next('ping');
  } else {
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2', version: 2 });
  }
  return ws2;
}

const FREE = Object.freeze({ holders: [], queue: [] });
const entry = (name, since, mode = 'exclusive') => ({ name, info: { displayName: name.toUpperCase() }, mode, since });
const heldBy = (name, since = 1) => ({ holders: [entry(name, since)], queue: [] });

/** A watch() answered OK with `state`: returns the unwatch function and the calls its callback got. */
async function watching(client, ws, target, state) {
  const calls = [];
  const watching = client.watch(target, (lock, lockState) => calls.push([lock, lockState]));
  const frame = ws.next('watch');
  ws.reply(frame, state === undefined ? { status: 'OK' } : { status: 'OK', state });
  return { unwatch: await watching, calls, frame };
}

function changed(ws, lock, state) {
  ws.push({ status: 'CHANGED', message: lock, time: Date.now(), lock, state });
}

describe('query()', () => {
  test('one name or several go in params; the OK\'s state is the result, entries as the server sent them (hidden ones without name and info)', async () => {
    const { client, ws } = await connected();
    const one = client.query('doc-1');
    const frame = ws.next('query');
    assert.deepEqual(withoutId(frame), { action: 'query', params: ['doc-1'] });
    const state = { 'doc-1': { holders: [entry('bob', 10)], queue: [entry('carol', 12, 'shared')] } };
    ws.reply(frame, { status: 'OK', state });
    assert.deepEqual(await one, state);

    const several = client.query(['doc-1', 'doc-2']);
    const second = ws.next('query');
    assert.deepEqual(second.params, ['doc-1', 'doc-2']);
    const hidden = { 'doc-1': { holders: [{ mode: 'exclusive', since: 10 }], queue: [] }, 'doc-2': FREE };
    ws.reply(second, { status: 'OK', state: hidden });
    assert.deepEqual(await several, hidden);
  });

  test('a FAIL rejects with the server\'s code and reply', async () => {
    const { client, ws } = await connected();
    const querying = client.query(['doc-1']);
    ws.reply(ws.next('query'), { status: 'FAIL', code: 'UNAUTHORIZED', message: 'not allowed to query doc-1' });
    const error = await rejection(querying);
    assert.ok(error instanceof DistLockError);
    assert.equal(error.code, 'UNAUTHORIZED');
    assert.equal(error.reply.message, 'not allowed to query doc-1');
  });

  test('names that are not strings are a TypeError, and nothing is sent', async () => {
    const { client, ws } = await connected();
    await assert.rejects(client.query(42), TypeError);
    await assert.rejects(client.query(['a', 1]), TypeError);
    ws.expectNothingSent();
  });

  test('on a version 1 server query and watch reject with NOT_SUPPORTED and send nothing', async () => {
    const { client, ws } = await connected({ version: 1 });
    await assert.rejects(client.query('doc'), { code: 'NOT_SUPPORTED' });
    const calls = [];
    await assert.rejects(client.watch('doc', (...args) => calls.push(args)), { code: 'NOT_SUPPORTED' });
    ws.expectNothingSent();
    assert.deepEqual(calls, []);
  });
});

describe('watch()', () => {
  test('names: the initial state of each, in order, once the OK comes; then every CHANGED of a watched lock, in order; others are not told', async () => {
    const { client, ws } = await connected();
    const calls = [];
    const watching = client.watch(['a', 'b'], (lock, state) => calls.push([lock, state]));
    const frame = ws.next('watch');
    assert.deepEqual(withoutId(frame), { action: 'watch', params: ['a', 'b'] });
    changed(ws, 'a', heldBy('bob')); // before the OK: the initial state must come first
    assert.deepEqual(calls, []);
    ws.reply(frame, { status: 'OK', state: { a: heldBy('bob'), b: FREE } });
    changed(ws, 'b', heldBy('carol', 2)); // right behind the OK, before watch() resolved
    const unwatch = await watching;
    assert.equal(typeof unwatch, 'function');
    changed(ws, 'c', heldBy('dave')); // nobody watches c
    changed(ws, 'a', FREE);
    assert.deepEqual(calls, [['a', heldBy('bob')], ['b', FREE], ['b', heldBy('carol', 2)], ['a', FREE]]);
  });

  test('a single name is sent as a one-name list', async () => {
    const { client, ws } = await connected();
    const { frame, calls } = await watching(client, ws, 'doc-42', { 'doc-42': heldBy('bob') });
    assert.deepEqual(withoutId(frame), { action: 'watch', params: ['doc-42'] });
    assert.deepEqual(calls, [['doc-42', heldBy('bob')]]);
  });

  test('prefix: sent as prefix; no initial state; every CHANGED whose lock starts with it (case-sensitive), nothing else', async () => {
    const { client, ws } = await connected();
    const { frame, calls } = await watching(client, ws, { prefix: 'doc-' });
    assert.deepEqual(withoutId(frame), { action: 'watch', prefix: 'doc-' });
    assert.deepEqual(calls, []);
    changed(ws, 'doc-1', heldBy('bob'));
    changed(ws, 'Doc-2', heldBy('bob'));
    changed(ws, 'xdoc-3', heldBy('bob'));
    changed(ws, 'doc-', FREE);
    assert.deepEqual(calls, [['doc-1', heldBy('bob')], ['doc-', FREE]]);
  });

  test('overlapping watches each get their calls; unwatch stops a callback at once, and tells the server only what no other watch needs', async () => {
    const { client, ws } = await connected();
    const one = await watching(client, ws, 'a', { a: FREE });
    const two = await watching(client, ws, ['a', 'b'], { a: FREE, b: FREE });
    const three = await watching(client, ws, { prefix: 'a' });
    const four = await watching(client, ws, { prefix: 'a' });
    assert.deepEqual(one.calls.splice(0), [['a', FREE]], 'the second watch\'s OK is not told to the first');
    two.calls.length = 0;
    changed(ws, 'a', heldBy('bob'));
    for (const { calls } of [one, two, three, four]) assert.deepEqual(calls.splice(0), [['a', heldBy('bob')]]);

    await one.unwatch(); // 'a' is still watched by name by two
    ws.expectNothingSent();
    changed(ws, 'a', FREE);
    assert.deepEqual(one.calls, []);
    for (const { calls } of [two, three, four]) assert.deepEqual(calls.splice(0), [['a', FREE]]);

    const unwatching = two.unwatch();
    const unwatch = ws.next('unwatch');
    assert.deepEqual(withoutId(unwatch), { action: 'unwatch', params: ['a', 'b'] });
    ws.reply(unwatch, { status: 'OK' });
    assert.equal(await unwatching, undefined);

    await three.unwatch(); // the same prefix is still watched by four
    ws.expectNothingSent();
    const last = four.unwatch();
    const prefix = ws.next('unwatch');
    assert.deepEqual(withoutId(prefix), { action: 'unwatch', prefix: 'a' });
    ws.reply(prefix, { status: 'OK' });
    await last;
    await four.unwatch(); // idempotent
    await two.unwatch();
    ws.expectNothingSent();
    changed(ws, 'a', heldBy('carol'));
    for (const { calls } of [one, two, three, four]) assert.deepEqual(calls, []);
  });

  test('no unwatch for a name another watch of this client is still asking for (its watch in flight)', async () => {
    const { client, ws } = await connected();
    const one = await watching(client, ws, 'a', { a: FREE });
    const calls = [];
    const second = client.watch('a', (lock, state) => calls.push([lock, state]));
    const frame = ws.next('watch');
    await one.unwatch();
    ws.expectNothingSent(); // an unwatch now would undo the second watch on the server
    ws.reply(frame, { status: 'OK', state: { a: heldBy('bob') } });
    await second;
    assert.deepEqual(calls, [['a', heldBy('bob')]]);
  });

  test('a refused watch rejects with the server\'s code and is not kept', async () => {
    const { client, ws } = await connected();
    const calls = [];
    const refused = client.watch('a', (...args) => calls.push(args));
    ws.reply(ws.next('watch'), { status: 'FAIL', code: 'TOO_MANY_LOCKS', message: 'too many watches' });
    assert.equal((await rejection(refused)).code, 'TOO_MANY_LOCKS');
    changed(ws, 'a', heldBy('bob'));
    assert.deepEqual(calls, []);
    // Another watch of 'a', then unwatched: the refused one does not keep 'a' from being unwatched.
    const other = await watching(client, ws, 'a', { a: FREE });
    const unwatching = other.unwatch();
    const unwatch = ws.next('unwatch');
    assert.deepEqual(unwatch.params, ['a']);
    ws.reply(unwatch, { status: 'OK' });
    await unwatching;
  });

  test('a watch that gave up (TIMEOUT) and is answered OK later is unwatched on the server, but for what another watch needs', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t, { requestTimeoutMs: 100 });
    const calls = [];
    const gaveUp = client.watch(['a', 'b'], (...args) => calls.push(args));
    const late = ws.next('watch');
    t.mock.timers.tick(100);
    assert.equal((await rejection(gaveUp)).code, 'TIMEOUT');
    const other = await watching(client, ws, 'b', { b: FREE });
    ws.reply(late, { status: 'OK', state: { a: heldBy('bob'), b: FREE } });
    const unwatch = ws.next('unwatch');
    assert.deepEqual(unwatch.params, ['a']); // else the server pushes it for good, counted against the connection's limits
    ws.reply(unwatch, { status: 'OK' });
    changed(ws, 'b', heldBy('bob'));
    await flush();
    assert.deepEqual(calls, []);
    assert.deepEqual(other.calls, [['b', FREE], ['b', heldBy('bob')]]);
  });

  test('a callback that throws is an error event; the other watches are still called', async () => {
    const { client, ws } = await connected();
    const errors = recordEvents(client, 'error');
    const boom = new Error('boom');
    const first = client.watch('a', () => { throw boom; });
    ws.reply(ws.next('watch'), { status: 'OK', state: { a: FREE } });
    await first;
    const other = await watching(client, ws, 'a', { a: FREE });
    changed(ws, 'a', heldBy('bob'));
    assert.deepEqual(errors.map(([, detail]) => detail.error), [boom, boom]);
    assert.deepEqual(other.calls, [['a', FREE], ['a', heldBy('bob')]]);
  });

  test('bad targets and callbacks are a TypeError, and nothing is sent', async () => {
    const { client, ws } = await connected();
    for (const target of [42, [], ['a', 1], {}, { prefix: 3 }, { prefix: '' }, null]) {
      await assert.rejects(client.watch(target, () => {}), TypeError, JSON.stringify(target));
    }
    await assert.rejects(client.watch('a'), TypeError);
    ws.expectNothingSent();
  });

  test('unwatch without a session sends nothing (the watches went with the connection), and the watch is not renewed', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const one = await watching(client, ws, 'a', { a: FREE });
    const two = await watching(client, ws, 'b', { b: FREE });
    ws.drop();
    await one.unwatch();
    t.mock.timers.tick(100);
    const ws2 = server.socket;
    ws2.open();
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2', version: 2 });
    assert.deepEqual(withoutId(ws2.next('watch')), { action: 'watch', params: ['b'] });
    ws2.expectNothingSent();
    void two;
  });
});

describe('watches on a new connection', () => {
  test('a new session after a drop: every name watched again (in as few watch frames as stay under the server\'s frame limit: here one), each prefix, the busy locks under a prefix queried; callbacks get the fresh state; info goes with the connect', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t, { info: { displayName: 'Alice' } });
    const byName = await watching(client, ws, ['a', 'b'], { a: heldBy('bob'), b: FREE });
    const again = await watching(client, ws, 'a', { a: heldBy('bob') });
    const byPrefix = await watching(client, ws, { prefix: 'doc-' });
    changed(ws, 'doc-1', heldBy('bob'));
    changed(ws, 'doc-2', heldBy('carol'));
    changed(ws, 'doc-2', FREE); // free again: nothing to refresh
    for (const { calls } of [byName, again, byPrefix]) calls.length = 0;

    ws.drop();
    await flush();
    t.mock.timers.tick(100);
    const ws2 = server.socket;
    ws2.open();
    const connect = ws2.next('connect');
    assert.deepEqual(withoutId(connect), { action: 'connect', param: 'alice', version: 2, info: { displayName: 'Alice' } });
    ws2.expectNothingSent(); // nothing before the session is there
    ws2.reply(connect, { status: 'OK', session: 's-2', version: 2 });
    const names = ws2.next('watch');
    assert.deepEqual(withoutId(names), { action: 'watch', params: ['a', 'b'] });
    const prefix = ws2.next('watch');
    assert.deepEqual(withoutId(prefix), { action: 'watch', prefix: 'doc-' });
    const query = ws2.next('query');
    assert.deepEqual(withoutId(query), { action: 'query', params: ['doc-1'] });
    ws2.expectNothingSent();

    ws2.reply(names, { status: 'OK', state: { a: FREE, b: heldBy('dave') } }); // bob left while we were away
    ws2.reply(prefix, { status: 'OK' });
    ws2.reply(query, { status: 'OK', state: { 'doc-1': FREE } });
    await flush();
    assert.deepEqual(byName.calls, [['a', FREE], ['b', heldBy('dave')]]);
    assert.deepEqual(again.calls, [['a', FREE]]);
    assert.deepEqual(byPrefix.calls, [['doc-1', FREE]]);
  });

  test('a query OK without state (a server should not send one) while watching again: nothing is called back, no unhandled rejection', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const byPrefix = await watching(client, ws, { prefix: 'doc-' });
    changed(ws, 'doc-1', heldBy('bob'));
    byPrefix.calls.length = 0;
    const unhandled = [];
    const onUnhandled = (reason) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.after(() => process.off('unhandledRejection', onUnhandled));
    const ws2 = await reconnect(t, server, ws);
    ws2.reply(ws2.next('watch'), { status: 'OK' });
    ws2.reply(ws2.next('query'), { status: 'OK' });
    for (let i = 0; i < 3; i++) await flush(); // unhandled rejections are reported after a turn
    assert.deepEqual(unhandled, []);
    assert.deepEqual(byPrefix.calls, []);
  });

  test('a CHANGED that comes before the query\'s answer is newer than it: that lock\'s answer is dropped', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const byPrefix = await watching(client, ws, { prefix: 'doc-' });
    changed(ws, 'doc-1', heldBy('bob'));
    changed(ws, 'doc-2', heldBy('carol'));
    byPrefix.calls.length = 0;
    ws.drop();
    await flush();
    t.mock.timers.tick(100);
    const ws2 = server.socket;
    ws2.open();
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2', version: 2 });
    ws2.reply(ws2.next('watch'), { status: 'OK' });
    const query = ws2.next('query');
    assert.deepEqual(query.params, ['doc-1', 'doc-2']);
    changed(ws2, 'doc-1', heldBy('dave', 5)); // pushed while the query was read
    ws2.reply(query, { status: 'OK', state: { 'doc-1': heldBy('bob'), 'doc-2': FREE } });
    await flush();
    assert.deepEqual(byPrefix.calls, [['doc-1', heldBy('dave', 5)], ['doc-2', FREE]]);
  });

  test('a resumed session watches again too (after the resume OK and its ping)', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    t.mock.method(Math, 'random', () => 1);
    const server = new FakeServer();
    const client = new DistLockClient(URL_, { WebSocket: server.WebSocket, reconnect: RECONNECT, grace: 5000 });
    const connecting = client.connect('alice');
    await flush();
    const ws = server.socket;
    ws.open();
    await flush();
    ws.reply(ws.next('connect'), { status: 'OK', session: 's-1', version: 2, resume: 'secret', grace: 5000 });
    await connecting;
    const watch = await watching(client, ws, 'a', { a: FREE });
    watch.calls.length = 0;

    ws.drop();
    assert.equal(client.state, 'suspended');
    t.mock.timers.tick(100);
    const ws2 = server.socket;
    ws2.open();
    await flush();
    ws2.reply(ws2.next('resume'), { status: 'OK', session: 's-1', locks: {}, queued: [] });
    ws2.next('ping');
    const renewed = ws2.next('watch');
    assert.deepEqual(withoutId(renewed), { action: 'watch', params: ['a'] });
    ws2.reply(renewed, { status: 'OK', state: { a: heldBy('bob') } });
    assert.deepEqual(watch.calls, [['a', heldBy('bob')]]);
  });

  for (const resumed of [false, true]) {
    test(`${resumed ? 'a resumed' : 'a new'} session: five watches of 40 names of 40 characters, each accepted, are watched again in frames of at most 8192 bytes (the server closes a larger one with 1009), every name`, async (t) => {
      const { server, client, ws } = resumed ? await resumableOnFakeTime(t) : await connectedOnFakeTime(t);
      const errors = recordEvents(client, 'error');
      const calls = new Map();
      const names = [];
      for (let w = 0; w < 5; w++) {
        const list = longNames(`doc-${w}-`, 40, 40);
        names.push(...list);
        const watched = client.watch(list, (lock, state) => calls.set(lock, state));
        ws.reply(ws.next('watch'), { status: 'OK', state: Object.fromEntries(list.map((name) => [name, FREE])) });
        await watched;
      }
      assert.ok(Math.max(...ws.sentBytes) <= MAX_FRAME_BYTES, 'each watch() alone fits');
      calls.clear();

      const ws2 = await reconnect(t, server, ws, { resumed });
      const frames = ws2.takeAll();
      assert.ok(ws2.sentBytes.every((bytes) => bytes <= MAX_FRAME_BYTES), `frame sizes ${ws2.sentBytes}`);
      assert.ok(frames.every((frame) => frame.action === 'watch'), JSON.stringify(frames.map((frame) => frame.action)));
      assert.deepEqual(frames.flatMap((frame) => frame.params).sort(), [...names].sort());
      for (const frame of frames) {
        ws2.reply(frame, { status: 'OK', state: Object.fromEntries(frame.params.map((name) => [name, heldBy('bob')])) });
      }
      await flush();
      assert.deepEqual([...calls.keys()].sort(), [...names].sort());
      assert.ok([...calls.values()].every((state) => state.holders[0].name === 'bob'));
      assert.deepEqual(errors, []);
    });
  }

  test('one refused watch frame (UNAUTHORIZED) is an error event; the names of the other frames are watched again', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const errors = recordEvents(client, 'error');
    const calls = [];
    for (let w = 0; w < 5; w++) {
      const list = longNames(`doc-${w}-`, 40, 40);
      const watched = client.watch(list, (lock, state) => calls.push([lock, state]));
      ws.reply(ws.next('watch'), { status: 'OK', state: Object.fromEntries(list.map((name) => [name, FREE])) });
      await watched;
    }
    calls.length = 0;

    const ws2 = await reconnect(t, server, ws);
    const [refused, ...others] = ws2.takeAll();
    assert.ok(others.length > 0, 'the names go in several frames');
    ws2.reply(refused, { status: 'FAIL', code: 'UNAUTHORIZED', message: 'not allowed to watch' });
    for (const frame of others) {
      ws2.reply(frame, { status: 'OK', state: Object.fromEntries(frame.params.map((name) => [name, heldBy('bob')])) });
    }
    await flush();
    assert.deepEqual(errors.map(([, { error }]) => error.code), ['UNAUTHORIZED']);
    const renewed = others.flatMap((frame) => frame.params);
    assert.deepEqual(calls.map(([lock]) => lock), renewed);
    calls.length = 0;
    const last = renewed.at(-1);
    changed(ws2, last, FREE);
    assert.deepEqual(calls, [[last, FREE]]);
  });

  test('the busy locks under a prefix are queried in frames of at most 64 names and 8192 bytes (64 names of 130 characters)', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const byPrefix = await watching(client, ws, { prefix: 'doc-' });
    const names = longNames('doc-', 64, 130);
    for (const name of names) changed(ws, name, heldBy('bob'));
    byPrefix.calls.length = 0;

    const ws2 = await reconnect(t, server, ws);
    ws2.reply(ws2.next('watch'), { status: 'OK' });
    const queries = ws2.takeAll();
    assert.ok(ws2.sentBytes.every((bytes) => bytes <= MAX_FRAME_BYTES), `frame sizes ${ws2.sentBytes}`);
    assert.ok(queries.every((frame) => frame.action === 'query' && frame.params.length <= 64));
    assert.deepEqual(queries.flatMap((frame) => frame.params), names);
    for (const frame of queries) {
      ws2.reply(frame, { status: 'OK', state: Object.fromEntries(frame.params.map((name) => [name, FREE])) });
    }
    await flush();
    assert.deepEqual(byPrefix.calls, names.map((name) => [name, FREE]));
  });

  test('a new session on a version 1 node: nothing about watches is sent (one NOT_SUPPORTED error event: paused), unwatch sends nothing; the next version 2 session watches again', async (t) => {
    const { server, client, ws } = await connectedOnFakeTime(t);
    const errors = recordEvents(client, 'error');
    const byName = await watching(client, ws, ['a', 'b'], { a: FREE, b: FREE });
    const gone = await watching(client, ws, 'c', { c: FREE });
    const byPrefix = await watching(client, ws, { prefix: 'doc-' });
    changed(ws, 'doc-1', heldBy('bob')); // busy: a version 2 session would query it
    byName.calls.length = 0;
    byPrefix.calls.length = 0;

    ws.drop();
    await flush();
    t.mock.timers.tick(100);
    const ws2 = server.socket;
    ws2.open();
    await flush();
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2' }); // no version: version 1
    await flush();
    assert.equal(client.session.version, 1);
    ws2.expectNothingSent();
    assert.equal(errors.length, 1);
    const [[, { error }]] = errors;
    assert.ok(error instanceof DistLockError);
    assert.equal(error.code, 'NOT_SUPPORTED');
    assert.match(error.message, /paused/);
    const unwatching = gone.unwatch();
    await flush();
    ws2.expectNothingSent(); // a version 1 server has no watches to end
    await unwatching;

    ws2.drop();
    await flush();
    t.mock.timers.tick(100);
    const ws3 = server.socket;
    ws3.open();
    await flush();
    ws3.reply(ws3.next('connect'), { status: 'OK', session: 's-3', version: 2 });
    const names = ws3.next('watch');
    assert.deepEqual(withoutId(names), { action: 'watch', params: ['a', 'b'] });
    const prefix = ws3.next('watch');
    assert.deepEqual(withoutId(prefix), { action: 'watch', prefix: 'doc-' });
    const query = ws3.next('query');
    assert.deepEqual(query.params, ['doc-1']);
    ws3.expectNothingSent();
    ws3.reply(names, { status: 'OK', state: { a: heldBy('dave'), b: FREE } });
    ws3.reply(prefix, { status: 'OK' });
    ws3.reply(query, { status: 'OK', state: { 'doc-1': FREE } });
    await flush();
    assert.deepEqual(byName.calls, [['a', heldBy('dave')], ['b', FREE]]);
    assert.deepEqual(byPrefix.calls, [['doc-1', FREE]]);
    assert.deepEqual(gone.calls, [['c', FREE]], 'unwatched: only its first state');
    assert.equal(errors.length, 1);
  });

  test('a new session after the old one expired carries info again', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    t.mock.method(Math, 'random', () => 1);
    const server = new FakeServer();
    const info = { displayName: 'Alice', avatar: 'https://example.com/a.png' };
    const client = new DistLockClient(URL_, { WebSocket: server.WebSocket, reconnect: RECONNECT, grace: 5000, info });
    const connecting = client.connect('alice');
    await flush();
    const ws = server.socket;
    ws.open();
    await flush();
    const first = ws.next('connect');
    assert.deepEqual(first.info, info);
    ws.reply(first, { status: 'OK', session: 's-1', version: 2, resume: 'secret', grace: 5000 });
    await connecting;
    ws.drop();
    t.mock.timers.tick(100);
    const ws2 = server.socket;
    ws2.open();
    await flush();
    const resume = ws2.next('resume');
    assert.equal(resume.info, undefined, 'a resumed session keeps its info on the server');
    ws2.reply(resume, { status: 'FAIL', code: 'SESSION_EXPIRED' });
    await flush();
    const connect = ws2.next('connect');
    assert.deepEqual(withoutId(connect), { action: 'connect', param: 'alice', version: 2, grace: 5000, info });
  });
});

describe('steal', () => {
  test('lock() with steal sends it (with mode if given); LOCKED holds the lock', async () => {
    const { client, ws } = await connected();
    const stealing = client.lock('doc', { steal: true });
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', steal: true });
    ws.reply(frame, { status: 'LOCKED', token: 90 });
    assert.deepEqual(await stealing, { status: 'LOCKED', token: 90 });
    assert.deepEqual(client.heldLocks, new Map([['doc', 90]]));
    const shared = client.lock('other', { steal: true, mode: 'shared' });
    const second = ws.next('lock');
    assert.deepEqual(withoutId(second), { action: 'lock', param: 'other', mode: 'shared', steal: true });
    ws.reply(second, { status: 'LOCKED', token: 91 });
    assert.deepEqual(await shared, { status: 'LOCKED', token: 91 });
  });

  test('steal with wait, and ask without wait, are a TypeError; on a version 1 server NOT_SUPPORTED; nothing is sent', async () => {
    const { client, ws } = await connected();
    await assert.rejects(client.lock('doc', { steal: true, wait: true }), TypeError);
    await assert.rejects(client.lock('doc', { ask: true }), TypeError);
    ws.expectNothingSent();
    const v1 = await connected({ version: 1 });
    await assert.rejects(v1.client.lock('doc', { steal: true }), { code: 'NOT_SUPPORTED' });
    await assert.rejects(v1.client.lock('doc', { wait: true, ask: true }), { code: 'NOT_SUPPORTED' });
    v1.ws.expectNothingSent();
  });

  test('request() with steal: lock with steal (never wait), the callback runs with the new token, then unlock', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', { steal: true }, (lock) => ({ token: lock.token, mode: lock.mode }));
    await flush();
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', steal: true });
    ws.reply(frame, { status: 'LOCKED', token: 91 });
    await flush();
    const unlock = ws.next('unlock');
    assert.deepEqual(withoutId(unlock), { action: 'unlock', param: 'doc' });
    ws.reply(unlock, { status: 'OK' });
    assert.deepEqual(await requesting, { token: 91, mode: 'exclusive' });
  });

  test('request() with steal refused (UNAUTHORIZED) rejects with that code, runs nothing, and frees the name', async () => {
    const { client, ws } = await connected();
    let ran = false;
    const requesting = client.request('doc', { steal: true }, () => { ran = true; });
    await flush();
    ws.reply(ws.next('lock'), { status: 'FAIL', code: 'UNAUTHORIZED', message: 'steal not allowed' });
    assert.equal((await rejection(requesting)).code, 'UNAUTHORIZED');
    assert.equal(ran, false);
    const next = client.request('doc', { ifAvailable: true }, (lock) => lock?.token ?? null);
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT', holder: 'bob' });
    assert.equal(await next, null);
  });

  test('as in Web Locks, steal with ifAvailable, signal, shared mode, timeout or ask, and ask with ifAvailable, reject with NotSupportedError; nothing is sent', async () => {
    const { client, ws } = await connected();
    const signal = new AbortController().signal;
    for (const options of [
      { steal: true, ifAvailable: true }, { steal: true, signal }, { steal: true, mode: 'shared' },
      { steal: true, timeout: 100 }, { steal: true, ask: true }, { ask: true, ifAvailable: true },
    ]) {
      await assert.rejects(client.request('doc', options, () => {}), { name: 'NotSupportedError' }, Object.keys(options).join());
    }
    ws.expectNothingSent();
  });

  test('on a version 1 server request() with steal or ask rejects with NotSupportedError and sends nothing', async () => {
    const { client, ws } = await connected({ version: 1 });
    await assert.rejects(client.request('doc', { steal: true }, () => {}), { name: 'NotSupportedError' });
    await assert.rejects(client.request('doc', { ask: true }, () => {}), { name: 'NotSupportedError' });
    ws.expectNothingSent();
  });

  test('the holder whose lock is stolen: lost event with cause stolen and by, its lock.signal aborts, request() rejects with LOST, no unlock; the name is free again here', async () => {
    const { client, ws } = await connected();
    const lost = recordEvents(client, 'lost');
    const work = deferred();
    let signal;
    const requesting = client.request('doc', (lock) => { signal = lock.signal; return work.promise; });
    await flush();
    const frame = ws.next('lock');
    ws.reply(frame, { status: 'LOCKED', token: 30 });
    await flush();
    assert.equal(signal.aborted, false);
    ws.push({ status: 'LOST', message: 'doc', time: Date.now(), lock: 'doc', reason: 'stolen', by: 'bob' });
    assert.equal(signal.aborted, true);
    assert.deepEqual(lost, [['lost', { lock: 'doc', token: 30, reason: 'LOST', cause: 'stolen', by: 'bob' }]]);
    assert.deepEqual(client.heldLocks, new Map());
    work.resolve('late write');
    const error = await rejection(requesting);
    assert.ok(error instanceof DistLockError);
    assert.equal(error, signal.reason);
    assert.equal(error.code, 'LOST');
    assert.deepEqual(error.lost, { lock: 'doc', token: 30, reason: 'LOST', cause: 'stolen', by: 'bob' });
    assert.match(error.message, /stolen by bob/);
    ws.expectNothingSent(); // not ours any more: no unlock
    const again = client.request('doc', { ifAvailable: true }, (lock) => lock?.token ?? null);
    await flush();
    ws.reply(ws.next('lock'), { status: 'WAIT', holder: 'bob' });
    assert.equal(await again, null);
  });
});

describe('ask', () => {
  test('lock() with wait and ask sends both', async () => {
    const { client, ws } = await connected();
    const asking = client.lock('doc', { wait: true, ask: true });
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', wait: true, ask: true });
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1, holder: 'bob' });
    assert.deepEqual(await asking, { status: 'QUEUED', position: 1, holder: 'bob', request: frame.id });
  });

  test('request() with ask queues with ask; the grant runs the callback', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', { ask: true }, (lock) => lock.token);
    await flush();
    const frame = ws.next('lock');
    assert.deepEqual(withoutId(frame), { action: 'lock', param: 'doc', wait: true, ask: true });
    ws.reply(frame, { status: 'QUEUED', lock: 'doc', position: 1, holder: 'bob' });
    await flush();
    ws.push({ status: 'GRANTED', lock: 'doc', token: 12, mode: 'exclusive', request: frame.id });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 12);
  });

  test('ASKED is an asked event with lock, by and info; without them (hidden) only the lock', async () => {
    const { client, ws } = await connected();
    const asked = recordEvents(client, 'asked');
    ws.push({ status: 'ASKED', message: 'doc', time: Date.now(), lock: 'doc', by: 'bob', info: { displayName: 'Bob' } });
    ws.push({ status: 'ASKED', message: 'doc', time: Date.now(), lock: 'doc' });
    assert.deepEqual(asked, [
      ['asked', { lock: 'doc', by: 'bob', info: { displayName: 'Bob' } }],
      ['asked', { lock: 'doc' }],
    ]);
  });

  test('RATE_LIMITED: lock() rejects with it; request() queues again at once without ask, and gets the lock', async () => {
    const { client, ws } = await connected();
    const asking = client.lock('doc', { wait: true, ask: true });
    ws.reply(ws.next('lock'), { status: 'FAIL', code: 'RATE_LIMITED', message: 'asked doc less than 10 s ago' });
    assert.equal((await rejection(asking)).code, 'RATE_LIMITED');

    const requesting = client.request('doc', { ask: true }, (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'FAIL', code: 'RATE_LIMITED', message: 'asked doc less than 10 s ago' });
    await flush();
    const plain = ws.next('lock');
    assert.deepEqual(withoutId(plain), { action: 'lock', param: 'doc', wait: true });
    ws.reply(plain, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    ws.push({ status: 'GRANTED', lock: 'doc', token: 13, mode: 'exclusive', request: plain.id });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 13);
  });

  test('RATE_LIMITED with a timeout: the ask queues again with the time left of the deadline, not the first try\'s', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t);
    const requesting = client.request('doc', { ask: true, timeout: 1000 }, (lock) => lock.token);
    await flush();
    const asked = ws.next('lock');
    assert.deepEqual(withoutId(asked), { action: 'lock', param: 'doc', wait: true, ask: true, timeout: 1000 });
    t.mock.timers.tick(300); // the refusal's round trip
    ws.reply(asked, { status: 'FAIL', code: 'RATE_LIMITED', message: 'asked doc less than 10 s ago' });
    await flush();
    const plain = ws.next('lock');
    assert.deepEqual(withoutId(plain), { action: 'lock', param: 'doc', wait: true, timeout: 700 });
    ws.reply(plain, { status: 'QUEUED', lock: 'doc', position: 1 });
    await flush();
    ws.push({ status: 'GRANTED', lock: 'doc', token: 14, mode: 'exclusive', request: plain.id });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 14);
  });

  test('RATE_LIMITED after the deadline passed: request() rejects CANCELLED (timeout) as its timeout does, and asks nothing more', async (t) => {
    const { client, ws } = await connectedOnFakeTime(t);
    const failing = rejection(client.request('doc', { ask: true, timeout: 1000 }, () => 'never'));
    await flush();
    const asked = ws.next('lock');
    t.mock.timers.tick(1000); // the deadline passes while the ask is out: the server would time it
    await flush();
    ws.reply(asked, { status: 'FAIL', code: 'RATE_LIMITED', message: 'asked doc less than 10 s ago' });
    await flush();
    ws.expectNothingSent();
    const error = await failing;
    assert.equal(error.code, 'CANCELLED');
    assert.equal(error.reason, 'timeout');
    const next = client.request('doc', (lock) => lock.token); // the name is free again
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 15 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 15);
  });

  test('RATE_LIMITED after an abort: the lock is not sent again (nor a cancel after it), request() rejects with the abort\'s reason, the name is free', async () => {
    const { client, ws } = await connected();
    const controller = new AbortController();
    const failing = rejection(client.request('doc', { ask: true, signal: controller.signal }, () => 'never'));
    await flush();
    const asked = ws.next('lock');
    controller.abort(); // while the ask is out: its answer decides what is left to do
    await flush();
    ws.reply(asked, { status: 'FAIL', code: 'RATE_LIMITED', message: 'asked doc less than 10 s ago' });
    await flush();
    ws.expectNothingSent(); // nothing is out for this request: no place to take and then leave
    assert.equal((await failing).name, 'AbortError');
    const next = client.request('doc', (lock) => lock.token);
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 16 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await next, 16);
    ws.expectNothingSent();
  });

  test('RATE_LIMITED, then an abort while the lock sent again is out: its grant is unlocked', async () => {
    const { client, ws } = await connected();
    const controller = new AbortController();
    const failing = rejection(client.request('doc', { ask: true, signal: controller.signal }, () => 'never'));
    await flush();
    ws.reply(ws.next('lock'), { status: 'FAIL', code: 'RATE_LIMITED', message: 'asked doc less than 10 s ago' });
    await flush();
    const plain = ws.next('lock');
    controller.abort();
    await flush();
    ws.reply(plain, { status: 'LOCKED', token: 17 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    await flush();
    ws.expectNothingSent();
    assert.equal((await failing).name, 'AbortError');
  });

  test('another FAIL of an ask (UNAUTHORIZED) rejects request() with that code', async () => {
    const { client, ws } = await connected();
    const requesting = client.request('doc', { ask: true }, () => 'ran');
    await flush();
    ws.reply(ws.next('lock'), { status: 'FAIL', code: 'UNAUTHORIZED' });
    assert.equal((await rejection(requesting)).code, 'UNAUTHORIZED');
    ws.expectNothingSent();
  });
});
