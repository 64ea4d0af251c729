// End-to-end tests of the demo page in a real headless Chromium (Debian's, driven by
// playwright-core; no browser download), against two distlock server nodes started from the
// built jar as child processes: node 1 with its embedded Redis, node 2 joining that Redis.
// One browser context (a separate "browser profile") per page. The server speaks protocol
// version 2, so request() (and the page's "Edit when free") waits in the server's FIFO queue:
// QUEUED, then GRANTED; the page's "Lock" button still asks once (WAIT, then RETRY).
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

const EDIT_SECONDS = 1.5; // how long "Edit when free" edits (the page's ?edit= parameter)
const DESKTOP = { width: 1200, height: 800 };
const PHONE = { width: 360, height: 780 };

// ---------------------------------------------------------------- the page

const rowSelector = (lock, { state, holder, edit } = {}) => `[data-testid="doc"][data-lock="${lock}"]`
  + (state ? `[data-state="${state}"]` : '')
  + (holder ? `[data-holder="${holder}"]` : '')
  + (edit ? `[data-edit="${edit}"]` : '');

const row = (page, lock, attributes) => page.locator(rowSelector(lock, attributes));

/** Waits until the document's row is in the given state (and with the given holder, edit phase). */
async function expectRow(page, lock, attributes) {
  await row(page, lock, attributes).waitFor({ timeout: UI_TIMEOUT_MS });
  return row(page, lock);
}

/** Waits for a log entry of this kind about this lock; returns its text. */
async function expectLog(page, kind, lock) {
  const entry = page.locator(`[data-testid="log-entry"][data-kind="${kind}"]${lock ? `[data-lock="${lock}"]` : ''}`).first();
  await entry.waitFor({ timeout: UI_TIMEOUT_MS });
  return entry.locator('[data-testid="log-text"]').innerText();
}

async function click(page, lock, button) {
  await row(page, lock).locator(`[data-testid="${button}-button"]`).click({ timeout: UI_TIMEOUT_MS });
}

async function heldToken(page, lock) {
  const token = await row(page, lock, { state: 'held' }).getAttribute('data-token', { timeout: UI_TIMEOUT_MS });
  return BigInt(token);
}

/** Through the client API of the page (window.distlock). */
function apiHeld(page, lock) {
  return page.evaluate((name) => window.distlock.client.heldLocks.get(name) ?? null, lock);
}

/**
 * Starts `client.request(name, options, callback)` in the page, under `tag`: the callback
 * records when it entered (Date.now(); every page runs on this machine), its token and mode,
 * and holds the lock until {@link releaseHold}. Does not wait for the lock.
 */
async function startHold(page, tag, name, options = {}) {
  await page.evaluate(({ tag: holdTag, name: lockName, options: requestOptions }) => {
    window.holds ??= {};
    const hold = { entered: null, left: null, token: null, mode: null, error: null, release: null };
    window.holds[holdTag] = hold;
    hold.done = window.distlock.client.request(lockName, requestOptions, (lock) => new Promise((resolveHold) => {
      Object.assign(hold, { entered: Date.now(), token: lock.token, mode: lock.mode });
      hold.release = () => {
        hold.left = Date.now();
        resolveHold();
      };
    })).catch((error) => { hold.error = `${error.name} ${error.code ?? ''}: ${error.message}`; });
  }, { tag, name, options });
}

/** The state of a hold: {entered, left, token, mode, error} (times null until they happen). */
function hold(page, tag) {
  return page.evaluate((holdTag) => {
    const { entered, left, token, mode, error } = window.holds[holdTag];
    return { entered, left, token, mode, error };
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

/** Waits for the page's QUEUED log entry for `lock` and returns the position it names. */
async function queuedPosition(page, lock) {
  const text = await expectLog(page, 'queued', lock);
  return Number(/number (\d+) in line/.exec(text)?.[1]);
}

const browserState = { launching: null, browser: null, pageErrors: [] };

/** A page of its own browser context on `node`, connected through the UI as `name`. */
async function openPage(node, name, { viewport = DESKTOP, editSeconds = EDIT_SECONDS } = {}) {
  const context = await browserState.browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on('pageerror', (error) => browserState.pageErrors.push(`${name}: ${error.stack ?? error}`));
  await page.goto(`${node.pageUrl}?edit=${editSeconds}`);
  await page.waitForFunction(() => window.distlock !== undefined, null, { timeout: UI_TIMEOUT_MS });
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('connect-button').click();
  await page.locator('[data-testid="connection-status"][data-status="connected"]').waitFor();
  return page;
}

async function screenshot(page, file, options = {}) {
  await page.screenshot({ path: join(OUT, file), animations: 'disabled', ...options });
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
    for (const lock of ['Quarterly report', 'Roadmap', 'Budget']) {
      await expectRow(bob, lock, { state: 'free' });
    }
  });

  test('UI: the second page gets WAIT naming the holder, RETRY when it unlocks, then a larger token', async () => {
    await click(alice, 'Roadmap', 'lock');
    await expectRow(alice, 'Roadmap', { state: 'held' });
    const first = await heldToken(alice, 'Roadmap');
    assert.equal(BigInt(await apiHeld(alice, 'Roadmap')), first, 'the UI shows the token the client holds');
    assert.match(await expectLog(alice, 'locked', 'Roadmap'), new RegExp(`LOCKED with fencing token ${first}`));

    await click(bob, 'Roadmap', 'lock');
    const waiting = await expectRow(bob, 'Roadmap', { state: 'waiting', holder: 'Alice' });
    assert.equal(await waiting.getByTestId('doc-state').innerText(), 'Held by Alice');
    assert.match(await expectLog(bob, 'wait', 'Roadmap'), /held by Alice: WAIT/);
    assert.equal(await apiHeld(bob, 'Roadmap'), null);

    await click(alice, 'Roadmap', 'unlock');
    await expectRow(alice, 'Roadmap', { state: 'free' });
    assert.match(await expectLog(bob, 'retry', 'Roadmap'), /server said RETRY/);
    await expectRow(bob, 'Roadmap', { state: 'free' });

    await click(bob, 'Roadmap', 'lock');
    await expectRow(bob, 'Roadmap', { state: 'held' });
    const second = await heldToken(bob, 'Roadmap');
    assert.ok(second > first, `the second token ${second} is larger than the first ${first}`);
    assert.equal(BigInt(await apiHeld(bob, 'Roadmap')), second);

    await click(bob, 'Roadmap', 'unlock');
    await expectRow(bob, 'Roadmap', { state: 'free' });
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
    // the page shows locks taken through the API too
    await expectRow(alice, lock, { state: 'held' });
    await expectRow(bob, lock, { state: 'waiting', holder: 'Alice' });

    await alice.evaluate((name) => window.distlock.client.unlock(name), lock);
    const retry = await bob.evaluate(() => window.retried);
    assert.deepEqual(retry, { lock });
    const second = await bob.evaluate((name) => window.distlock.client.lock(name), lock);
    assert.equal(second.status, 'LOCKED');
    assert.ok(second.token > first.token, `${second.token} > ${first.token}`);
    await expectRow(bob, lock, { state: 'held' });
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
      assert.equal(await queuedPosition(bob, lock), 1, 'Bob is next');
      await startHold(carol, 'fifo-carol', lock);
      assert.equal(await queuedPosition(carol, lock), 2, 'Carol is behind Bob');
      assert.match(await expectLog(carol, 'queued', lock), /held by Alice/);
      assert.equal(await (await expectRow(bob, lock, { state: 'queued', holder: 'Alice' })).getAttribute('data-position'), '1');
      assert.equal(await (await expectRow(carol, lock, { state: 'queued', holder: 'Alice' })).getAttribute('data-position'), '2');
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
        assert.equal(await page.locator(`[data-testid="log-entry"][data-kind="retry"][data-lock="${lock}"]`).count(), 0,
          'handed over by the queue, never a RETRY race');
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
      assert.equal(await queuedPosition(bob, lock), 1);
      await startHold(carol, 'reader-carol', lock, { mode: 'shared' });
      assert.equal(await queuedPosition(carol, lock), 2);
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

      assert.match(await expectLog(alice, 'queued', lock), /QUEUED, number 1 in line/, 'the second writer queues behind the readers');
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

  test('UI: "Edit when free" on both pages edits one after the other, never at the same time', async () => {
    const lock = 'Quarterly report';
    // Record, in each page, when its row shows "editing" (Date.now(): both pages run on this machine).
    for (const page of [alice, bob]) {
      await page.evaluate((selector) => {
        const element = document.querySelector(selector);
        const edits = [];
        let current = null;
        const check = () => {
          const editing = element.dataset.state === 'editing';
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

    await click(alice, lock, 'edit');
    await expectRow(alice, lock, { state: 'editing' });
    await click(bob, lock, 'edit');
    const queued = await expectRow(bob, lock, { state: 'queued', holder: 'Alice', edit: 'waiting' });
    assert.equal(await queued.getAttribute('data-position'), '1');
    assert.equal(await queued.getByTestId('edit-button').innerText(), 'Stop waiting');
    assert.match(await expectLog(bob, 'queued', lock), /held by Alice: QUEUED, number 1 in line/);

    await expectRow(bob, lock, { state: 'editing' });
    assert.match(await expectLog(bob, 'granted', lock), /GRANTED with fencing token \d+ \(Edit when free\)/);
    await expectRow(alice, lock, { state: 'free', edit: 'none' });
    await expectRow(bob, lock, { state: 'free', edit: 'none' });
    assert.match(await expectLog(bob, 'edit', lock), /Saved Quarterly report and released the lock/);

    const [aliceEdits, bobEdits] = await Promise.all([alice, bob].map((page) => page.evaluate(() => window.edits)));
    assert.equal(aliceEdits.length, 1);
    assert.equal(bobEdits.length, 1);
    assert.ok(bobEdits[0].enter >= aliceEdits[0].exit,
      `Bob started editing at ${bobEdits[0].enter}, before Alice stopped at ${aliceEdits[0].exit}`);
    assert.ok(aliceEdits[0].exit - aliceEdits[0].enter >= EDIT_SECONDS * 1000 - 100, 'the edit lasted its time');
  });

  test('UI: "Stop waiting" on a queued edit sends cancel: the page leaves the queue and is not granted the lock later', async () => {
    const lock = 'Budget';
    await click(alice, lock, 'lock');
    await expectRow(alice, lock, { state: 'held' });
    await click(bob, lock, 'edit');
    await expectRow(bob, lock, { state: 'queued', holder: 'Alice', edit: 'waiting' });
    await click(bob, lock, 'edit'); // now "Stop waiting"
    assert.match(await expectLog(bob, 'cancelled', lock), /Left the queue for Budget: cancel, OK/);
    assert.match(await expectLog(bob, 'edit', lock), /Stopped waiting for Budget/);
    await expectRow(bob, lock, { state: 'free', edit: 'none' });

    await click(alice, lock, 'unlock');
    await expectRow(alice, lock, { state: 'free' });
    // The queue is empty now: someone else can take it at once, and Bob was handed nothing.
    const taken = await alice.evaluate((name) => window.distlock.client.lock(name), lock);
    assert.equal(taken.status, 'LOCKED');
    assert.equal(await bob.locator(`[data-testid="log-entry"][data-kind="granted"][data-lock="${lock}"]`).count(), 0);
    assert.equal(await apiHeld(bob, lock), null);
    await alice.evaluate((name) => window.distlock.client.unlock(name), lock);
    await expectRow(alice, lock, { state: 'free' });
  });

  test('closing the first tab releases its locks: the second page gets RETRY for one, and is GRANTED the one it queued for', async () => {
    for (const page of [alice, bob]) await page.getByTestId('clear-log').click();
    await click(alice, 'Budget', 'lock');
    await click(alice, 'Roadmap', 'lock');
    await expectRow(alice, 'Budget', { state: 'held' });
    await expectRow(alice, 'Roadmap', { state: 'held' });
    const aliceBudget = await heldToken(alice, 'Budget');

    await click(bob, 'Budget', 'lock');
    await expectRow(bob, 'Budget', { state: 'waiting', holder: 'Alice' });
    await click(bob, 'Roadmap', 'edit');
    await expectRow(bob, 'Roadmap', { state: 'queued', holder: 'Alice', edit: 'waiting' });

    await screenshot(alice, 'node1.png');
    await screenshot(bob, 'node2.png');

    await alice.close(); // the tab, not the browser: its WebSocket closes with it
    assert.match(await expectLog(bob, 'retry', 'Budget'), /server said RETRY/);
    await expectRow(bob, 'Budget', { state: 'free' });
    await click(bob, 'Budget', 'lock');
    await expectRow(bob, 'Budget', { state: 'held' });
    assert.ok(await heldToken(bob, 'Budget') > aliceBudget);
    // the queued edit is handed the lock by the server (no RETRY, no asking again), edits and releases
    await expectLog(bob, 'granted', 'Roadmap');
    await expectRow(bob, 'Roadmap', { state: 'free', edit: 'none' });
    assert.equal(await bob.locator('[data-testid="log-entry"][data-kind="retry"][data-lock="Roadmap"]').count(), 0);
    await click(bob, 'Budget', 'unlock');
    await expectRow(bob, 'Budget', { state: 'free' });
  });

  test('screenshots for people: desktop and phone, with a held lock, a waiting document and a log', async () => {
    const alice2 = await openPage(node1, 'Alice', { editSeconds: 60 });
    const bob2 = await openPage(node2, 'Bob', { editSeconds: 5 }); // the page's default, for the picture
    await click(alice2, 'Budget', 'lock');
    await expectRow(alice2, 'Budget', { state: 'held' });
    await click(bob2, 'Roadmap', 'lock');
    await expectRow(bob2, 'Roadmap', { state: 'held' });
    await click(bob2, 'Budget', 'lock');
    await expectRow(bob2, 'Budget', { state: 'waiting', holder: 'Alice' });
    await click(alice2, 'Budget', 'unlock');
    await expectLog(bob2, 'retry', 'Budget');
    await click(bob2, 'Budget', 'lock');
    await expectRow(bob2, 'Budget', { state: 'held' });
    await click(alice2, 'Quarterly report', 'edit');
    await expectRow(alice2, 'Quarterly report', { state: 'editing' });
    await click(bob2, 'Quarterly report', 'edit');
    await expectRow(bob2, 'Quarterly report', { state: 'queued', holder: 'Alice', edit: 'waiting' });
    await click(alice2, 'Roadmap', 'lock');
    await expectRow(alice2, 'Roadmap', { state: 'waiting', holder: 'Bob' });

    await screenshot(bob2, 'demo-page.png');
    await screenshot(alice2, 'demo-page-editing.png');
    await bob2.setViewportSize(PHONE);
    const overflow = await bob2.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling at ${PHONE.width} px (overflow ${overflow} px)`);
    await screenshot(bob2, 'phone.png', { fullPage: true });
    await Promise.all([alice2.context().close(), bob2.context().close()]);
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
