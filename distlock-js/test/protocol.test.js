import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Action, ClientCode, FailCode, Mode, REPLY_STATUSES, Status, negotiatedVersion } from '../lib/protocol.js';

describe('the protocol words (lib/protocol.js)', () => {
  test('are the protocol\'s, spelled as on the wire', () => {
    assert.deepEqual(Object.values(Status), ['OK', 'LOCKED', 'WAIT', 'QUEUED', 'RETRY', 'LOST', 'GRANTED', 'CANCELLED', 'ASKED', 'CHANGED', 'FAIL']);
    assert.deepEqual(Object.values(Action), ['connect', 'close', 'lock', 'unlock', 'mlock', 'munlock', 'cancel', 'resume', 'ping', 'query', 'watch', 'unwatch']);
    assert.deepEqual(Object.values(Mode), ['exclusive', 'shared']);
    for (const [key, value] of [...Object.entries(FailCode), ...Object.entries(ClientCode)]) {
      assert.equal(key, value);
    }
    assert.deepEqual(Object.keys(REPLY_STATUSES).sort(), Object.values(Action).sort());
  });

  test('the version a connect reply announces: 2 when it says 2 (or more), 1 without the field', () => {
    assert.equal(negotiatedVersion({ status: 'OK', version: 2 }), 2);
    assert.equal(negotiatedVersion({ status: 'OK', version: 3 }), 2, 'never more than the client asked for');
    assert.equal(negotiatedVersion({ status: 'OK' }), 1);
    assert.equal(negotiatedVersion({ status: 'OK', version: '2' }), 1, 'only a number counts');
  });

  test('every error code is in the TypeScript declarations\' DistLockErrorCode, and nothing else is', async () => {
    const types = await readFile(new URL('../types/distlock.d.ts', import.meta.url), 'utf8');
    const union = types.match(/export type DistLockErrorCode =([^;]*);/)[1];
    const declared = [...union.matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]).sort();
    const defined = [...new Set([...Object.values(FailCode), ...Object.values(ClientCode)])].sort();
    assert.deepEqual(declared, defined);
  });
});
