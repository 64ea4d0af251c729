// The client's behaviour in each connection state (see lib/connection.js), through its
// public API only.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DistLockClient } from '../src/distlock.js';
import { FakeServer, connectSession, flush, recordEvents } from './support/fake-websocket.js';

function setup(t, options = {}) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  t.mock.method(Math, 'random', () => 1);
  const server = new FakeServer();
  const client = new DistLockClient('ws://localhost/distlock/lock',
    { WebSocket: server.WebSocket, reconnect: { initialDelayMs: 100, maxDelayMs: 1000 }, ...options });
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

describe('states, as the client shows them', () => {
  test('idle: calls reject with NOT_CONNECTED, request() too, and no socket is opened', async (t) => {
    const { server, client } = setup(t);
    assert.equal((await rejection(client.lock('a'))).code, 'NOT_CONNECTED');
    assert.equal((await rejection(client.request('a', () => {}))).code, 'NOT_CONNECTED');
    assert.equal(server.sockets.length, 0);
    await client.disconnect(); // nothing to close
  });

  test('connecting: calls reject with NOT_CONNECTED, but request() waits for the session', async (t) => {
    const { server, client } = setup(t);
    const connecting = client.connect('alice');
    await flush();
    assert.equal((await rejection(client.lock('a'))).code, 'NOT_CONNECTED');
    const requesting = client.request('a', (lock) => lock.token);
    await flush();
    const ws = server.socket;
    ws.expectNothingSent();
    ws.open();
    await flush();
    ws.reply(ws.next('connect'), { status: 'OK', session: 's-1' });
    await connecting;
    await flush();
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 4 });
    await flush();
    ws.reply(ws.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 4);
  });

  test('disconnect() while connecting: connect() and waiting request()s reject, close fires once, no reconnect', async (t) => {
    const { server, client } = setup(t);
    const events = recordEvents(client, 'close', 'open');
    const connecting = client.connect('alice');
    await flush();
    const requesting = client.request('a', () => {});
    await flush();
    await client.disconnect();
    assert.equal((await rejection(connecting)).code, 'DISCONNECTED');
    assert.equal((await rejection(requesting)).code, 'NOT_CONNECTED', 'it never had a session to lose');
    assert.deepEqual(events, [['close', { code: 1000, reason: 'disconnect()', wasClean: true, willReconnect: false }]]);
    assert.deepEqual(server.socket.closeCalls, [{ code: 1000, reason: 'client disconnect' }]);
    t.mock.timers.tick(60_000);
    assert.equal(server.sockets.length, 1);
    assert.equal(client.session, null);
  });

  test('reconnect-wait: calls reject with NOT_CONNECTED; a request() made now waits and asks the next session', async (t) => {
    const { server, client } = setup(t);
    const ws = await connectSession(client, server);
    ws.drop();
    assert.equal((await rejection(client.unlock('a'))).code, 'NOT_CONNECTED');
    const requesting = client.request('a', (lock) => lock.token);
    await flush();
    t.mock.timers.tick(100);
    const ws2 = server.socket;
    ws2.open();
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2' });
    await flush();
    ws2.reply(ws2.next('lock'), { status: 'LOCKED', token: 8 });
    await flush();
    ws2.reply(ws2.next('unlock'), { status: 'OK' });
    assert.equal(await requesting, 8);
  });

  test('closed after a final drop: calls and request() reject, connect() opens a new socket', async (t) => {
    const { server, client } = setup(t, { reconnect: false });
    const ws = await connectSession(client, server);
    ws.drop();
    assert.equal((await rejection(client.lock('a'))).code, 'NOT_CONNECTED');
    assert.equal((await rejection(client.request('a', () => {}))).code, 'NOT_CONNECTED');
    await connectSession(client, server, 'alice', 's-2');
    assert.equal(server.sockets.length, 2);
  });

  test('a dropped socket\'s late frames are ignored once a new one is current', async (t) => {
    const { server, client } = setup(t);
    const ws = await connectSession(client, server);
    ws.readyState = 2; // closing: frames may still arrive before the close event
    const reconnecting = client.connect('alice'); // sees the socket closing and starts afresh
    await flush();
    assert.equal(server.sockets.length, 2);
    const events = recordEvents(client, 'retry', 'lost', 'close');
    ws.readyState = 1;
    ws.push({ status: 'RETRY', lock: 'x' });
    ws.drop();
    assert.deepEqual(events, [], 'the old socket is no longer heard');
    const ws2 = server.socket;
    ws2.open();
    await flush();
    ws2.reply(ws2.next('connect'), { status: 'OK', session: 's-2' });
    assert.deepEqual(await reconnecting, { session: 's-2', name: 'alice', version: 1 });
  });
});
