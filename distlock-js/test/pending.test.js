// Request matching (lib/pending.js) on its own; the client tests cover it end to end.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PendingRequests } from '../lib/pending.js';

describe('PendingRequests', () => {
  test('numbers requests up from a start, matches replies by id only, and forgets what it matched', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    t.mock.method(Math, 'random', () => 0);
    const pending = new PendingRequests(1000);
    const sent = [];
    const a = pending.send('lock', { param: 'a' }, { names: ['a'] }, (frame) => sent.push(JSON.parse(frame)));
    const b = pending.send('unlock', { param: 'b' }, { names: ['b'] }, (frame) => sent.push(JSON.parse(frame)));
    assert.deepEqual(sent, [{ action: 'lock', param: 'a', id: 1 }, { action: 'unlock', param: 'b', id: 2 }]);
    assert.equal(pending.take(undefined), undefined, 'a push has no id');
    assert.equal(pending.take(99), undefined);
    const second = pending.take(2);
    assert.equal(second.action, 'unlock');
    assert.equal(pending.take(2), undefined, 'one reply per request');
    second.resolve('b done');
    pending.take(1).resolve('a done');
    assert.deepEqual(await Promise.all([a, b]), ['a done', 'b done']);
  });

  test('each page starts its ids at random (a reloaded page resuming the session must not reuse the old page\'s), integers below 2^53', (t) => {
    const firstId = () => {
      let id;
      const pending = new PendingRequests(1000);
      pending.send('ping', {}, {}, (frame) => { id = JSON.parse(frame).id; }).catch(() => {});
      pending.rejectAll(() => new Error('done'));
      return id;
    };
    const ids = Array.from({ length: 4 }, firstId);
    assert.equal(new Set(ids).size, 4, `${ids}`);
    t.mock.method(Math, 'random', () => 1 - Number.EPSILON / 2); // the largest Math.random() there is
    const highest = firstId();
    assert.ok(Number.isSafeInteger(highest) && highest + 2 ** 52 <= Number.MAX_SAFE_INTEGER + 1, `${highest}: room for 2^52 more`);
  });

  test('a request that cannot be written rejects with DISCONNECTED and is not pending', async () => {
    const pending = new PendingRequests(1000);
    const failing = pending.send('lock', {}, {}, () => { throw new Error('socket closed'); });
    await assert.rejects(failing, { code: 'DISCONNECTED' });
    assert.equal(pending.take(1), undefined);
  });

  test('a timed-out request stays pending, marked expired, so its late reply is still matched', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    t.mock.method(Math, 'random', () => 0); // ids from 1
    const pending = new PendingRequests(100);
    const locking = pending.send('lock', { param: 'a' }, { names: ['a'] }, () => {});
    t.mock.timers.tick(100);
    await assert.rejects(locking, { code: 'TIMEOUT' });
    const later = pending.send('lock', { param: 'a' }, { names: ['a'] }, () => {});
    const entry = pending.take(1);
    assert.equal(entry.expired, true);
    assert.equal(pending.hasLaterRequestFor(entry), true, 'someone asked for a again');
    pending.take(2).resolve();
    await later;
    assert.equal(pending.hasLaterRequestFor(entry), false);
  });

  test('rejectAll() rejects every pending call with the error made for it, and empties the table', async () => {
    const pending = new PendingRequests(1000);
    const calls = [pending.send('lock', {}, {}, () => {}), pending.send('close', {}, {}, () => {})];
    pending.rejectAll((entry) => new Error(`gone: ${entry.action}`));
    const errors = await Promise.all(calls.map((call) => call.catch((error) => error.message)));
    assert.deepEqual(errors, ['gone: lock', 'gone: close']);
    assert.equal(pending.take(1), undefined);
  });
});
