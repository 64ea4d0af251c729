import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Action, ClientCode, FailCode, REPLY_STATUSES, Status } from '../lib/protocol.js';

describe('the protocol words (lib/protocol.js)', () => {
  test('are the protocol\'s, spelled as on the wire', () => {
    assert.deepEqual(Object.values(Status), ['OK', 'LOCKED', 'WAIT', 'RETRY', 'LOST', 'FAIL']);
    assert.deepEqual(Object.values(Action), ['connect', 'close', 'lock', 'unlock', 'mlock', 'munlock']);
    for (const [key, value] of [...Object.entries(FailCode), ...Object.entries(ClientCode)]) {
      assert.equal(key, value);
    }
    assert.deepEqual(Object.keys(REPLY_STATUSES).sort(), Object.values(Action).sort());
  });

  test('every error code is in the TypeScript declarations\' DistLockErrorCode, and nothing else is', async () => {
    const types = await readFile(new URL('../types/distlock.d.ts', import.meta.url), 'utf8');
    const union = types.match(/export type DistLockErrorCode =([^;]*);/)[1];
    const declared = [...union.matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]).sort();
    const defined = [...new Set([...Object.values(FailCode), ...Object.values(ClientCode)])].sort();
    assert.deepEqual(declared, defined);
  });
});
