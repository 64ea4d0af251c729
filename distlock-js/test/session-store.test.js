// The sessionStorage entry on its own (lib/session-store.js): which page may resume a stored
// session. Pages share one origin's Web Locks; here a small in-memory LockManager (exclusive,
// first come first served, as navigator.locks grants one name) stands in for the browser's,
// and each "page" has its own copy of the storage, as window.open() and "Duplicate tab" give.
// The same in a real browser: resume.test.mjs ("a window opened from the page").
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sessionStore } from '../lib/session-store.js';
import { flush } from './support/fake-websocket.js';

class InMemoryLocks {
  #queues = new Map(); // name -> [{callback, resolve, reject}], the holder first

  request(name, callback) {
    return new Promise((resolve, reject) => {
      const queue = this.#queues.get(name) ?? [];
      this.#queues.set(name, queue);
      queue.push({ callback, resolve, reject });
      if (queue.length === 1) this.#grant(name, queue);
    });
  }

  #grant(name, queue) {
    const { callback, resolve, reject } = queue[0];
    Promise.resolve(callback({ name, mode: 'exclusive' })).then(resolve, reject).finally(() => {
      queue.shift();
      if (queue.length > 0) this.#grant(name, queue);
      else this.#queues.delete(name);
    });
  }
}

/** A page's storage: its own Map, started as a copy of `from`'s (or empty). */
function storage(from) {
  const items = new Map(from?.items);
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => items.set(key, String(value)),
    removeItem: (key) => items.delete(key),
  };
}

const ENTRY = { session: 's-1', resume: 'secret-1', grace: 10_000 };

describe('which page resumes a stored session', () => {
  function setup(t) {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    globalThis.navigator = { locks: new InMemoryLocks() };
    t.after(() => { delete globalThis.navigator; });
    const first = storage();
    const firstPage = sessionStore(first);
    firstPage.save('ann', ENTRY); // the first page opened the session, and holds it
    return { first, firstPage };
  }

  test('a copy of the storage (window.open, Duplicate tab) does not resume a session its page still has: load gives null after a second', async (t) => {
    const { first } = setup(t);
    await flush();
    const copy = sessionStore(storage(first));
    let loaded = 'pending';
    copy.load('ann').then((entry) => { loaded = entry; });
    t.mock.timers.tick(999);
    await flush();
    assert.equal(loaded, 'pending', 'waits for the holder to let go');
    t.mock.timers.tick(1);
    await flush();
    assert.equal(loaded, null);
  });

  test('a page that loads after the holder let go (a reload: the old page unloaded) resumes at once; a late release within the second too', async (t) => {
    const { first, firstPage } = setup(t);
    await flush();
    const reloadedStorage = storage(first); // a reload keeps the tab's storage
    const reloaded = sessionStore(reloadedStorage);
    let loaded = 'pending';
    reloaded.load('ann').then((entry) => { loaded = entry; });
    t.mock.timers.tick(300);
    await flush();
    assert.equal(loaded, 'pending');
    firstPage.remove('ann'); // lets go, as an unloading page does (and drops its own entry, which the reload already copied)
    await flush();
    assert.deepEqual(loaded, ENTRY, 'the entry, before the second is out');

    const again = sessionStore(storage(reloadedStorage));
    let next = 'pending';
    again.load('ann').then((entry) => { next = entry; });
    await flush();
    assert.equal(next, 'pending', 'the reloaded page holds the session now');
    reloaded.remove('ann');
    await flush();
    assert.deepEqual(next, ENTRY);
  });

  test('a copy that gave up opens its own session: saving it claims that one, and the first page\'s stays the first page\'s', async (t) => {
    const { first } = setup(t);
    await flush();
    const copyStorage = storage(first);
    const copy = sessionStore(copyStorage);
    const loading = copy.load('ann');
    t.mock.timers.tick(1000);
    assert.equal(await loading, null);
    copy.save('ann', { session: 's-2', resume: 'secret-2', grace: 10_000 });
    assert.equal(JSON.parse(copyStorage.items.get('distlock:ann')).session, 's-2');
    assert.equal(JSON.parse(first.items.get('distlock:ann')).session, 's-1', 'the first page\'s own storage is untouched');
    await flush();
    const another = sessionStore(storage(copyStorage));
    const claimed = another.load('ann');
    t.mock.timers.tick(1000);
    assert.equal(await claimed, null, 's-2 is held by the copy');
  });

  test('two loads in one page (two connect() calls at once) both get the entry, and one remove lets go of the session', async (t) => {
    const { first, firstPage } = setup(t);
    await flush();
    const reloadedStorage = storage(first);
    firstPage.remove('ann');
    await flush();
    const page = sessionStore(reloadedStorage);
    const loads = [];
    for (let i = 0; i < 2; i++) page.load('ann').then((entry) => loads.push(entry));
    await flush();
    assert.deepEqual(loads, [ENTRY, ENTRY], 'no wait for its own claim');
    const copied = storage(reloadedStorage);
    page.remove('ann');
    await flush();
    let loaded = 'pending';
    sessionStore(copied).load('ann').then((entry) => { loaded = entry; });
    await flush();
    assert.deepEqual(loaded, ENTRY, 'the page let go of the session: another has it at once');
  });

  test('without navigator.locks (an older browser) a stored entry is loaded as it is', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const first = storage();
    sessionStore(first).save('ann', ENTRY);
    assert.deepEqual(await sessionStore(storage(first)).load('ann'), ENTRY);
  });
});
