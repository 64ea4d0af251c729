// End-to-end tests of the demo page in a real headless Chromium (Debian's, driven by
// playwright-core; no browser download), against two distlock server nodes started from the
// built jar as child processes: node 1 with its embedded Redis, node 2 joining that Redis.
// One browser context (a separate "browser profile") per page. The server speaks protocol
// version 2, so request() (and the board's "Edit") waits in the server's FIFO queue: QUEUED,
// then GRANTED; lock() without `wait` still asks once (WAIT, then RETRY). The nodes run without
// --allow-steal; the board's take-over story is board.test.mjs.
//
//   npm ci && npm test        (after `mvn package` built ../../../target/distlock-server.jar)
//
// Environment: CHROMIUM (default /usr/bin/chromium), JAVA (default $JAVA_HOME/bin/java, else
// java on the PATH), DISTLOCK_SERVER_JAR, E2E_OUTPUT_DIR (default ../../../target/e2e, where the
// screenshots and the nodes' logs go).
//
// No fixed sleeps: every wait is for a condition, with a deadline.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import {
  OUT, UI_TIMEOUT_MS, accepts, isAlive, startBrowserAndNodes, stopBrowserAndNodes, until,
} from './support.mjs';

const DESKTOP = { width: 1200, height: 800 };

// ---------------------------------------------------------------- the page

const rowSelector = (lock) => `[data-testid="doc"][data-lock="${lock}"]`;
const row = (page, lock) => page.locator(rowSelector(lock));

/**
 * Waits until the board's row is in the given state ('free', 'mine', 'other', 'queued', 'lost'),
 * with the given holder and queue (names, comma-separated; null: nobody waits).
 */
async function expectRow(page, lock, { state, holder, queue } = {}) {
  let selector = rowSelector(lock) + (state ? `[data-state="${state}"]` : '') + (holder ? `[data-holder="${holder}"]` : '');
  if (queue !== undefined) selector += queue === null ? ':not([data-queue])' : `[data-queue="${queue}"]`;
  await page.locator(selector).waitFor({ timeout: UI_TIMEOUT_MS });
  return row(page, lock);
}

/** Waits for a log entry of this kind about this lock; returns its text. */
async function expectLog(page, kind, lock) {
  const entry = page.locator(`[data-testid="log-entry"][data-kind="${kind}"]${lock ? `[data-lock="${lock}"]` : ''}`).first();
  await entry.waitFor({ timeout: UI_TIMEOUT_MS });
  return entry.locator('[data-testid="log-text"]').innerText();
}

async function click(page, lock, button) {
  await row(page, lock).locator(`[data-testid="${button}"]`).click({ timeout: UI_TIMEOUT_MS });
}

async function heldToken(page, lock) {
  return Number(await row(page, lock).getAttribute('data-token', { timeout: UI_TIMEOUT_MS }));
}

/** Through the client API of the page (window.distlock). */
function apiHeld(page, lock) {
  return page.evaluate((name) => window.distlock.client.heldLocks.get(name) ?? null, lock);
}

/** The locks the page's client was told RETRY for (recorded since the page opened). */
function retries(page) {
  return page.evaluate(() => window.retries);
}

/**
 * Starts `client.request(name, options, callback)` in the page, under `tag`: the callback
 * records when it entered (Date.now(); every page runs on this machine), its token and mode,
 * and holds the lock until {@link releaseHold}; `onQueued` records the place in line. Does not
 * wait for the lock.
 */
async function startHold(page, tag, name, options = {}) {
  await page.evaluate(({ tag: holdTag, name: lockName, options: requestOptions }) => {
    window.holds ??= {};
    const hold = { entered: null, left: null, token: null, mode: null, error: null, release: null, position: null, holder: null };
    window.holds[holdTag] = hold;
    const onQueued = ({ position, holder }) => Object.assign(hold, { position, holder });
    hold.done = window.distlock.client.request(lockName, { ...requestOptions, onQueued }, (lock) => new Promise((resolveHold) => {
      Object.assign(hold, { entered: Date.now(), token: lock.token, mode: lock.mode });
      hold.release = () => {
        hold.left = Date.now();
        resolveHold();
      };
    })).catch((error) => { hold.error = `${error.name} ${error.code ?? ''}: ${error.message}`; });
  }, { tag, name, options });
}

/** The state of a hold: {entered, left, token, mode, error, position, holder} (null until they happen). */
function hold(page, tag) {
  return page.evaluate((holdTag) => {
    const { entered, left, token, mode, error, position, holder } = window.holds[holdTag];
    return { entered, left, token, mode, error, position, holder };
  }, tag);
}

/** Waits until the hold's callback runs (it holds the lock), failing at once if its request() failed. */
async function untilHolding(page, tag, label) {
  return until(async () => {
    const state = await hold(page, tag);
    if (state.error !== null) throw new Error(`${label}: request() failed: ${state.error}`);
    return state.entered !== null ? state : null;
  }, { message: `${label} to hold the lock` });
}

/** Ends the hold's callback; resolves when request() released the lock. */
function releaseHold(page, tag) {
  return page.evaluate(async (holdTag) => {
    const state = window.holds[holdTag];
    state.release();
    await state.done;
    return state.left;
  }, tag);
}

/** Waits until the hold is QUEUED (its onQueued was called); returns {position, holder}. */
async function queued(page, tag) {
  return until(async () => {
    const state = await hold(page, tag);
    return state.position !== null ? { position: state.position, holder: state.holder } : null;
  }, { message: `${tag} to be queued` });
}

const browserState = { launching: null, browser: null, pageErrors: [] };

async function screenshot(page, file) {
  await page.screenshot({ path: join(OUT, file), animations: 'disabled' });
}

/** A page of its own browser context on `node`, connected through the UI as `name`. */
async function openPage(node, name, { viewport = DESKTOP } = {}) {
  const context = await browserState.browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on('pageerror', (error) => browserState.pageErrors.push(`${name}: ${error.stack ?? error}`));
  await page.goto(node.pageUrl);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: UI_TIMEOUT_MS });
  await page.evaluate(() => {
    window.retries = [];
    window.distlock.client.on('retry', ({ lock }) => window.retries.push(lock));
  });
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('connect-button').click();
  await page.locator('[data-testid="connection-status"][data-status="connected"]').waitFor();
  return page;
}


// ---------------------------------------------------------------- the tests

describe('the demo page in Chromium against two server nodes', { timeout: 120_000 }, () => {
  const nodes = [];
  let node1;
  let node2;
  let alice; // the page on node 1
  let bob; // the page on node 2

  before(async () => {
    [node1, node2] = await startBrowserAndNodes(browserState, nodes);
    alice = await openPage(node1, 'Alice');
    bob = await openPage(node2, 'Bob');
  });

  after(() => stopBrowserAndNodes(browserState, nodes));

  test('each page says which node it is connected to, and exposes the client', async () => {
    for (const [page, node, name] of [[alice, node1, 'Alice'], [bob, node2, 'Bob']]) {
      assert.equal(await page.getByTestId('node-id').innerText(), node.nodeId);
      assert.equal(await page.getByTestId('node-address').innerText(), `127.0.0.1:${node.port}`);
      assert.equal(await page.getByTestId('connection-status').innerText(), `Connected as ${name}`);
      assert.match(await expectLog(page, 'connected'), new RegExp(`Connected to node ${node.nodeId} as ${name}`));
      const api = await page.evaluate(() => ({
        session: window.distlock.client.session,
        isClient: window.distlock.client instanceof window.distlock.DistLockClient,
      }));
      assert.equal(api.session.name, name);
      assert.equal(api.session.version, 2, 'the client asked for protocol version 2 and the server speaks it');
      assert.ok(api.isClient);
    }
    assert.notEqual(node1.nodeId, node2.nodeId);
    for (const lock of ['doc-7', 'doc-12', 'doc-23', 'doc-42', 'doc-57', 'doc-64']) {
      await expectRow(bob, lock, { state: 'free' });
    }
  });

  test('without --allow-steal the board offers no Take over, and a steal is refused UNAUTHORIZED', async () => {
    await click(alice, 'doc-64', 'edit-button');
    await expectRow(alice, 'doc-64', { state: 'mine' });
    await expectRow(bob, 'doc-64', { state: 'other', holder: 'Alice' });
    assert.equal(await row(bob, 'doc-64').getByTestId('ask-button').isVisible(), true);
    assert.equal(await row(bob, 'doc-64').getByTestId('steal-button').isVisible(), false);
    assert.equal(await bob.getByTestId('steal-hint').isVisible(), false);
    const refused = await bob.evaluate((name) => window.distlock.client.lock(name, { steal: true })
      .then((result) => `resolved ${JSON.stringify(result)}`, (error) => error.code), 'doc-64');
    assert.equal(refused, 'UNAUTHORIZED');
    await expectRow(alice, 'doc-64', { state: 'mine' });
    await click(alice, 'doc-64', 'release-button');
    await expectRow(bob, 'doc-64', { state: 'free' });
  });

  test('API: lock() answers WAIT with the holder, a retry event follows the unlock, then a larger token', async () => {
    const lock = 'api-doc';
    const first = await alice.evaluate((name) => window.distlock.client.lock(name), lock);
    assert.equal(first.status, 'LOCKED');
    await bob.evaluate((name) => {
      const { client } = window.distlock;
      window.retried = new Promise((resolveRetry) => {
        const off = client.on('retry', (detail) => {
          if (detail.lock === name) {
            off();
            resolveRetry(detail);
          }
        });
      });
    }, lock);
    const wait = await bob.evaluate((name) => window.distlock.client.lock(name), lock);
    assert.deepEqual(wait, { status: 'WAIT', holder: 'Alice' });

    await alice.evaluate((name) => window.distlock.client.unlock(name), lock);
    const retry = await bob.evaluate(() => window.retried);
    assert.deepEqual(retry, { lock });
    const second = await bob.evaluate((name) => window.distlock.client.lock(name), lock);
    assert.equal(second.status, 'LOCKED');
    assert.ok(second.token > first.token, `${second.token} > ${first.token}`);
    await bob.evaluate((name) => window.distlock.client.unlock(name), lock);
  });

  test('API: request() runs the callbacks of both pages one at a time, never overlapping', async () => {
    const perPage = 4;
    const run = (page) => page.evaluate(async ({ name, count, holdMs }) => {
      const { client } = window.distlock;
      const turns = [];
      await Promise.all(Array.from({ length: count }, () => client.request(name, async ({ token }) => {
        const enter = Date.now();
        await new Promise((resolveHold) => setTimeout(resolveHold, holdMs)); // the "work" while holding
        turns.push({ enter, exit: Date.now(), token });
      })));
      return turns;
    }, { name: 'shared-doc', count: perPage, holdMs: 150 });

    const [aliceTurns, bobTurns] = await Promise.all([run(alice), run(bob)]);
    assert.equal(aliceTurns.length, perPage, 'every request() of the first page ran');
    assert.equal(bobTurns.length, perPage, 'every request() of the second page ran');
    const turns = [...aliceTurns.map((t) => ({ ...t, page: 'Alice' })), ...bobTurns.map((t) => ({ ...t, page: 'Bob' }))]
      .sort((a, b) => a.enter - b.enter);
    for (let i = 1; i < turns.length; i++) {
      const [previous, current] = [turns[i - 1], turns[i]];
      assert.ok(current.enter >= previous.exit,
        `${current.page}'s callback entered at ${current.enter}, before ${previous.page}'s left at ${previous.exit}: ${JSON.stringify(turns)}`);
      assert.ok(current.token > previous.token, `fencing tokens grow with every turn: ${JSON.stringify(turns)}`);
    }
    assert.equal(await apiHeld(alice, 'shared-doc'), null);
    assert.equal(await apiHeld(bob, 'shared-doc'), null);
  });

  test('queue: the second tab (node 2) queues, a third (node 1) queues behind it; each release hands the lock to the next, in FIFO order', async () => {
    const lock = 'fifo-doc';
    const carol = await openPage(node1, 'Carol');
    try {
      await startHold(alice, 'fifo-alice', lock);
      const first = await untilHolding(alice, 'fifo-alice', 'Alice');

      await startHold(bob, 'fifo-bob', lock);
      assert.deepEqual(await queued(bob, 'fifo-bob'), { position: 1, holder: 'Alice' }, 'Bob is next');
      await startHold(carol, 'fifo-carol', lock);
      assert.deepEqual(await queued(carol, 'fifo-carol'), { position: 2, holder: 'Alice' }, 'Carol is behind Bob');
      assert.equal(await apiHeld(bob, lock), null, 'queued: holds nothing yet');

      const aliceLeft = await releaseHold(alice, 'fifo-alice');
      const second = await untilHolding(bob, 'fifo-bob', 'Bob');
      assert.match(await expectLog(bob, 'granted', lock), /GRANTED with fencing token/);
      assert.equal((await hold(carol, 'fifo-carol')).entered, null, 'Carol still waits: Bob was first');
      assert.equal(await carol.locator(`[data-testid="log-entry"][data-kind="granted"][data-lock="${lock}"]`).count(), 0);

      const bobLeft = await releaseHold(bob, 'fifo-bob');
      const third = await untilHolding(carol, 'fifo-carol', 'Carol');
      await expectLog(carol, 'granted', lock);

      assert.ok(second.entered >= aliceLeft, `Bob entered at ${second.entered}, before Alice left at ${aliceLeft}`);
      assert.ok(third.entered >= bobLeft, `Carol entered at ${third.entered}, before Bob left at ${bobLeft}`);
      assert.ok(first.token < second.token && second.token < third.token,
        `tokens grow in grant order: ${first.token}, ${second.token}, ${third.token}`);
      await releaseHold(carol, 'fifo-carol');
      for (const page of [alice, bob, carol]) {
        assert.deepEqual((await retries(page)).filter((name) => name === lock), [], 'handed over by the queue, never a RETRY race');
        assert.equal(await apiHeld(page, lock), null);
      }
    } finally {
      await carol.context().close();
    }
  });

  test('queue: shared readers hold together after the writer, and a writer queued behind them waits for both', async () => {
    const lock = 'shared-doc-e2e';
    const carol = await openPage(node1, 'Carol');
    try {
      await startHold(alice, 'writer-1', lock); // exclusive, the default
      const writer1 = await untilHolding(alice, 'writer-1', 'the first writer');
      assert.equal(writer1.mode, 'exclusive');

      await startHold(bob, 'reader-bob', lock, { mode: 'shared' });
      assert.equal((await queued(bob, 'reader-bob')).position, 1);
      await startHold(carol, 'reader-carol', lock, { mode: 'shared' });
      assert.equal((await queued(carol, 'reader-carol')).position, 2);
      // Alice's second (exclusive) request waits behind her first in the page, then joins the queue
      await startHold(alice, 'writer-2', lock);

      const writer1Left = await releaseHold(alice, 'writer-1');
      // both readers are granted together: each holds while the other does
      const [bobRead, carolRead] = await Promise.all([
        untilHolding(bob, 'reader-bob', 'the reader on node 2'),
        untilHolding(carol, 'reader-carol', 'the reader on node 1'),
      ]);
      assert.equal(bobRead.mode, 'shared');
      assert.equal(carolRead.mode, 'shared');
      assert.ok(Math.min(bobRead.entered, carolRead.entered) >= writer1Left, 'no reader before the first writer left');
      assert.notEqual(bobRead.token, carolRead.token, 'every grant has its own token');
      assert.ok(Math.min(bobRead.token, carolRead.token) > writer1.token);

      assert.equal((await queued(alice, 'writer-2')).position, 1, 'the second writer queues behind the readers');
      assert.equal((await hold(alice, 'writer-2')).entered, null, 'no writer while readers hold');
      const bobLeft = await releaseHold(bob, 'reader-bob');
      assert.equal((await hold(alice, 'writer-2')).entered, null, 'no writer while one reader still holds');
      const carolLeft = await releaseHold(carol, 'reader-carol');
      const writer2 = await untilHolding(alice, 'writer-2', 'the second writer');
      assert.ok(writer2.entered >= Math.max(bobLeft, carolLeft),
        `the writer entered at ${writer2.entered}, before the readers left (${bobLeft}, ${carolLeft})`);
      assert.ok(writer2.token > Math.max(bobRead.token, carolRead.token));
      assert.equal(writer2.mode, 'exclusive');
      await releaseHold(alice, 'writer-2');
      for (const page of [alice, bob, carol]) assert.equal(await apiHeld(page, lock), null);
    } finally {
      await carol.context().close();
    }
  });

  test('UI: "Edit" on both pages: the second waits in line and edits after the first is done, never at the same time', async () => {
    const lock = 'doc-7';
    // Record, in each page, when its row shows "mine" (Date.now(): both pages run on this machine).
    // A page shows "mine" only while its request() callback runs, and the lock is released after
    // the callback returns, so Bob's "mine" can only start after Alice's ended.
    for (const page of [alice, bob]) {
      await page.evaluate((selector) => {
        const element = document.querySelector(selector);
        const edits = [];
        let current = null;
        const check = () => {
          const editing = element.dataset.state === 'mine';
          if (editing && current === null) {
            current = { enter: Date.now() };
          } else if (!editing && current !== null) {
            edits.push({ ...current, exit: Date.now() });
            current = null;
          }
        };
        new MutationObserver(check).observe(element, { attributes: true, attributeFilter: ['data-state'] });
        window.edits = edits;
      }, rowSelector(lock));
    }

    await click(alice, lock, 'edit-button');
    await expectRow(alice, lock, { state: 'mine', holder: 'Alice' });
    const aliceToken = await heldToken(alice, lock);
    await expectRow(bob, lock, { state: 'other', holder: 'Alice' });
    await click(bob, lock, 'edit-button');
    const waiting = await expectRow(bob, lock, { state: 'queued', holder: 'Alice', queue: 'Bob' });
    assert.match(await waiting.getByTestId('doc-queue').innerText(), /You are number 1 in line\.$/);
    assert.match(await expectLog(bob, 'queued', lock), /edited by Alice: QUEUED, number 1 in line/);
    await expectRow(alice, lock, { state: 'mine', holder: 'Alice', queue: 'Bob' }); // the holder sees who waits

    await click(alice, lock, 'release-button');
    await expectRow(bob, lock, { state: 'mine', holder: 'Bob' });
    assert.match(await expectLog(bob, 'granted', lock), /GRANTED with fencing token \d+/);
    assert.ok(await heldToken(bob, lock) > aliceToken);
    await expectRow(alice, lock, { state: 'other', holder: 'Bob' });
    await click(bob, lock, 'release-button');
    await expectRow(alice, lock, { state: 'free' });
    await expectRow(bob, lock, { state: 'free' });

    const [aliceEdits, bobEdits] = await Promise.all([alice, bob].map((page) => page.evaluate(() => window.edits)));
    assert.equal(aliceEdits.length, 1);
    assert.equal(bobEdits.length, 1);
    assert.ok(bobEdits[0].enter >= aliceEdits[0].exit,
      `Bob started editing at ${bobEdits[0].enter}, before Alice stopped at ${aliceEdits[0].exit}`);
  });

  test('UI: "Stop waiting" sends cancel: the page leaves the line and is not handed the document later', async () => {
    const lock = 'doc-12';
    await click(alice, lock, 'edit-button');
    await expectRow(alice, lock, { state: 'mine' });
    await expectRow(bob, lock, { state: 'other', holder: 'Alice' });
    await click(bob, lock, 'edit-button');
    await expectRow(bob, lock, { state: 'queued', holder: 'Alice' });
    await click(bob, lock, 'cancel-button');
    assert.match(await expectLog(bob, 'cancelled', lock), /Left the line for doc-12/);
    await expectRow(bob, lock, { state: 'other', holder: 'Alice' });
    await expectRow(alice, lock, { state: 'mine', queue: null }); // the holder sees nobody waiting any more

    await click(alice, lock, 'release-button');
    await expectRow(alice, lock, { state: 'free' });
    await expectRow(bob, lock, { state: 'free' });
    // The queue is empty now: someone else can take it at once, and Bob was handed nothing.
    const taken = await alice.evaluate((name) => window.distlock.client.lock(name), lock);
    assert.equal(taken.status, 'LOCKED');
    assert.equal(await bob.locator(`[data-testid="log-entry"][data-kind="granted"][data-lock="${lock}"]`).count(), 0);
    assert.equal(await apiHeld(bob, lock), null);
    await alice.evaluate((name) => window.distlock.client.unlock(name), lock);
    await expectRow(bob, lock, { state: 'free' });
  });

  test('closing the first tab releases its locks: the second page gets RETRY for one, and is handed the document it waited for', async () => {
    for (const page of [alice, bob]) await page.getByTestId('clear-log').click();
    assert.equal((await alice.evaluate((name) => window.distlock.client.lock(name), 'api-budget')).status, 'LOCKED');
    await click(alice, 'doc-23', 'edit-button');
    await expectRow(alice, 'doc-23', { state: 'mine' });
    const aliceToken = await heldToken(alice, 'doc-23');

    assert.deepEqual(await bob.evaluate((name) => window.distlock.client.lock(name), 'api-budget'), { status: 'WAIT', holder: 'Alice' });
    await expectRow(bob, 'doc-23', { state: 'other', holder: 'Alice' });
    await click(bob, 'doc-23', 'edit-button');
    await expectRow(bob, 'doc-23', { state: 'queued', holder: 'Alice' });

    await screenshot(alice, 'node1.png');
    await screenshot(bob, 'node2.png');

    await alice.close(); // the tab, not the browser: its WebSocket closes with it
    await until(async () => (await retries(bob)).includes('api-budget'), { message: 'RETRY for api-budget on the second page' });
    assert.equal((await bob.evaluate((name) => window.distlock.client.lock(name), 'api-budget')).status, 'LOCKED');
    // the waiting edit is handed the document by the server (no RETRY, no asking again)
    await expectRow(bob, 'doc-23', { state: 'mine', holder: 'Bob' });
    await expectLog(bob, 'granted', 'doc-23');
    assert.ok(await heldToken(bob, 'doc-23') > aliceToken);
    assert.ok(!(await retries(bob)).includes('doc-23'));
    await click(bob, 'doc-23', 'release-button');
    await expectRow(bob, 'doc-23', { state: 'free' });
    await bob.evaluate((name) => window.distlock.client.unlock(name), 'api-budget');
  });

  test('no page threw an uncaught error', () => {
    assert.deepEqual(browserState.pageErrors, []);
  });

  test('SIGTERM stops both nodes, and node 1 its embedded redis-server', async () => {
    await browserState.browser.close();
    const redisPort = Number(new URL(node1.redisUrl).port);
    assert.ok(await accepts(redisPort), 'the embedded Redis listens while node 1 runs');
    if (existsSync('/proc/self/stat')) {
      assert.equal(node1.children.length, 1, 'node 1 runs one child process, its redis-server');
    }

    for (const node of [node2, node1]) {
      const { code, signal, killed } = await node.stop();
      assert.ok(!killed, `${node.label} stopped on SIGTERM (it had to be killed); output:\n${node.output}`);
      assert.ok([0, 143].includes(code) || signal === 'SIGTERM', `${node.label} exit: ${code} ${signal}`);
      assert.match(node.output, new RegExp(`distlock node ${node.nodeId} stopped`));
    }
    await until(() => node1.children.every((proc) => !isAlive(proc)), { message: 'the embedded redis-server to exit' });
    await until(async () => !(await accepts(redisPort)), { message: `nothing listening on the Redis port ${redisPort}` });
  });
});
