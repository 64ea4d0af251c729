// Request matching (lib/pending.js) on its own; the client tests cover it end to end.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { PendingRequests } from '../lib/pending.js';

describe('PendingRequests', () => {
  test('numbers requests from 1, matches replies by id only, and forgets what it matched', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
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

  test('a request that cannot be written rejects with DISCONNECTED and is not pending', async () => {
    const pending = new PendingRequests(1000);
    const failing = pending.send('lock', {}, {}, () => { throw new Error('socket closed'); });
    await assert.rejects(failing, { code: 'DISCONNECTED' });
    assert.equal(pending.take(1), undefined);
  });

  test('a timed-out request stays pending, marked expired, so its late reply is still matched', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
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
