import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { UnwantedGrants } from '../lib/unwanted-grants.js';

/** Whether a promise settled by the time pending callbacks ran. */
async function isSettled(promise) {
  let settled = false;
  promise.then(() => { settled = true; });
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

describe('UnwantedGrants (lib/unwanted-grants.js)', () => {
  test('a grant meets its mark by request id once; other ids and names do not', async () => {
    const grants = new UnwantedGrants();
    const keep = () => false;
    const { settled } = grants.mark(7, 'doc', keep);
    assert.equal(grants.take(8, 'doc'), undefined, 'another request of the same lock is wanted');
    const mark = grants.take(7, 'doc');
    assert.equal(mark.name, 'doc');
    assert.equal(mark.keep, keep);
    assert.equal(grants.take(7, 'doc'), undefined, 'taken once');
    assert.equal(await isSettled(settled), false, 'settled by whoever deals with the grant');
    mark.settle();
    assert.equal(await isSettled(settled), true);
  });

  test('a grant meets a mark by request id only if the mark is for its lock (the id may be another page\'s request)', () => {
    const grants = new UnwantedGrants();
    grants.mark(3, 'B', () => false);
    assert.equal(grants.take(3, 'A'), undefined, 'a GRANTED for A under the id of B\'s mark');
    assert.equal(grants.take(3, 'B').name, 'B', 'the mark stays for B\'s own grant');
  });

  test('a grant without request id (the server left it out) meets a mark by lock name', () => {
    const grants = new UnwantedGrants();
    grants.mark(3, 'a', () => false);
    grants.mark(4, 'b', () => false);
    assert.equal(grants.take(undefined, 'b').name, 'b');
    assert.equal(grants.take(undefined, 'b'), undefined);
    assert.equal(grants.take(undefined, 'c'), undefined);
  });

  test('settle(name) ends that lock\'s marks (a CANCELLED came); settle() all of them (the session ended)', async () => {
    const grants = new UnwantedGrants();
    const a = grants.mark(1, 'a', () => false);
    const b = grants.mark(2, 'b', () => false);
    assert.equal(grants.settle('a'), true);
    assert.equal(grants.settle('a'), false);
    assert.equal(await isSettled(a.settled), true);
    assert.equal(await isSettled(b.settled), false);
    assert.equal(grants.take(1, 'a'), undefined);
    assert.equal(grants.settle(), true);
    assert.equal(await isSettled(b.settled), true);
    assert.equal(grants.take(2, 'b'), undefined);
  });

  test('a mark made without a request id meets a grant by lock name, but never the grant of the request this page knows queues now (live)', () => {
    const grants = new UnwantedGrants();
    grants.mark(undefined, 'doc', () => false);
    assert.equal(grants.take(7, 'doc', 7), undefined, 'the live request\'s grant');
    assert.equal(grants.take(5, 'doc', 7).name, 'doc', 'another request\'s (the place nobody asked for)');
    grants.mark(undefined, 'doc', () => false);
    assert.equal(grants.take(undefined, 'doc', 7).name, 'doc', 'a grant without request id: by name, as before');
  });

  test('settle(name, requestId) ends the mark of that request and those made without an id, not another request\'s; true if it ended one', async () => {
    const grants = new UnwantedGrants();
    const older = grants.mark(1, 'doc', () => false);
    const unknown = grants.mark(undefined, 'doc', () => false);
    assert.equal(grants.settle('doc', 2), true);
    assert.equal(await isSettled(unknown.settled), true);
    assert.equal(await isSettled(older.settled), false, 'the mark of request 1 is not ended by the CANCELLED of request 2');
    assert.equal(grants.settle('doc', 2), false);
    assert.equal(grants.settle('doc', 1), true);
    assert.equal(await isSettled(older.settled), true);
  });

  test('forget() ends a mark (cancel answered OK) and does not touch a newer mark of the same id', async () => {
    const grants = new UnwantedGrants();
    const first = grants.mark(5, 'doc', () => false);
    first.forget();
    assert.equal(await isSettled(first.settled), true);
    assert.equal(grants.take(5, 'doc'), undefined);
    const old = grants.mark(6, 'doc', () => false);
    grants.mark(6, 'doc', () => true);
    old.forget();
    assert.notEqual(grants.take(6, 'doc'), undefined, 'the newer mark stays');
  });
});
