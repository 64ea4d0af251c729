// The "who is editing" board (issue 14) in a real headless Chromium against two server nodes
// sharing one Redis, both started with --allow-steal: tab A (Alice, node 1) edits doc-42; tab B
// (Bob, node 2) sees "Alice is editing", asks for it, and takes it over; Alice's page shows the
// request, then the loss, and her stale save is refused by the fenced store; a third tab (Carol,
// node 2) only watches, and the states its board shows for doc-42 are recorded and checked in
// order. Also: how long after Alice's grant Bob's board shows it (the figures are printed and
// written to target/e2e/board-figures.json), Release on an ask, and the page at phone size.
//
// No fixed sleeps: every wait is for a condition, with a deadline.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { OUT, UI_TIMEOUT_MS, startBrowserAndNodes, stopBrowserAndNodes, until } from './support.mjs';

const DESKTOP = { width: 1200, height: 860 };
const PHONE = { width: 390, height: 844 };
// The median's bound, B sees A's grant within this: what it tells apart is a push from the slow paths. The page
// never polls (without a push B's board never names Alice: the wait for it fails), and a server that missed the
// change reads the lock again only after a failed read's retry (a sixth of the 3 s lease: each figure 500 ms or more)
// or at an expiry (a lease). The issue's 50 ms is a speed goal, not a test's bound (medians measured up to 31 ms, single
// figures up to 118 ms on a loaded machine; all printed and written to board-figures.json).
const VISIBLE_WITHIN_MS = 250;
const ROUNDS = 7; // grants measured on doc-7, besides the one on doc-42

const browserState = { launching: null, browser: null, pageErrors: [] };

const rowSelector = (lock) => `[data-testid="doc"][data-lock="${lock}"]`;
const row = (page, lock) => page.locator(rowSelector(lock));
const inRow = (page, lock, testId) => row(page, lock).locator(`[data-testid="${testId}"]`);

/** Waits until the row's attributes match: {state, holder, queue}; null means "absent". */
async function expectRow(page, lock, { state, holder, queue } = {}) {
  let selector = rowSelector(lock) + (state ? `[data-state="${state}"]` : '');
  if (holder !== undefined) selector += holder === null ? ':not([data-holder])' : `[data-holder="${holder}"]`;
  if (queue !== undefined) selector += queue === null ? ':not([data-queue])' : `[data-queue="${queue}"]`;
  await page.locator(selector).waitFor({ timeout: UI_TIMEOUT_MS });
}

async function click(page, lock, testId) {
  await inRow(page, lock, testId).click({ timeout: UI_TIMEOUT_MS });
}

/** A page of its own browser context on `node`, connected through the UI as `name`. */
async function openPage(node, name, viewport = DESKTOP) {
  const context = await browserState.browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.on('pageerror', (error) => browserState.pageErrors.push(`${name}: ${error.stack ?? error}`));
  await page.goto(node.pageUrl);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: UI_TIMEOUT_MS });
  await page.getByTestId('name-input').fill(name);
  await page.getByTestId('connect-button').click();
  await page.locator('[data-testid="connection-status"][data-status="connected"]').waitFor();
  // the board has its first state (query) for every document
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="doc-holders"]')]
    .every((e) => !/Looking|Connect to/.test(e.textContent)), null, { timeout: UI_TIMEOUT_MS });
  return page;
}

/**
 * Records in the page, for `lock`'s row, every change of what the board shows as
 * {at, state, holder, queue}; `at` is performance.timeOrigin + performance.now() (ms since the
 * epoch, sub-millisecond), comparable across the tabs of this one machine.
 */
function record(page, lock) {
  return page.evaluate((selector) => {
    const element = document.querySelector(selector);
    const seen = [];
    const snapshot = () => ({
      at: performance.timeOrigin + performance.now(),
      state: element.dataset.state,
      holder: element.dataset.holder ?? '',
      queue: element.dataset.queue ?? '',
    });
    const check = () => {
      const now = snapshot();
      const last = seen[seen.length - 1];
      if (!last || last.state !== now.state || last.holder !== now.holder || last.queue !== now.queue) seen.push(now);
    };
    check();
    new MutationObserver(check).observe(element, { attributes: true, attributeFilter: ['data-state', 'data-holder', 'data-queue'] });
    window.recorded ??= {};
    window.recorded[selector] = seen;
  }, rowSelector(lock));
}

function recorded(page, lock) {
  return page.evaluate((selector) => window.recorded[selector], rowSelector(lock));
}

/** The time Alice's page showed the grant, and the time Bob's board showed her as the holder. */
async function grantSeen(alice, bob, lock, fromIndex) {
  const aliceSeen = await until(async () => (await recorded(alice, lock)).slice(fromIndex.alice).find((s) => s.state === 'mine'),
    { message: `Alice's page to show the grant of ${lock}` });
  const bobSeen = await until(async () => (await recorded(bob, lock)).slice(fromIndex.bob).find((s) => s.holder === 'Alice'),
    { message: `Bob's board to show Alice editing ${lock}` });
  return bobSeen.at - aliceSeen.at;
}

async function storeDoc(page, id) {
  return page.evaluate(async (docId) => (await (await fetch('/demo/docs')).json()).docs.find((d) => d.id === docId), id);
}

describe('the "who is editing" board in Chromium against two nodes (--allow-steal)', { timeout: 180_000 }, () => {
  const nodes = [];
  let node1;
  let node2;
  let alice; // tab A, node 1
  let bob; // tab B, node 2
  let carol; // the third tab, node 2: only watches
  const figures = { visibleMs: [], doc42VisibleMs: null };

  before(async () => {
    [node1, node2] = await startBrowserAndNodes(browserState, nodes, ['--allow-steal']);
    alice = await openPage(node1, 'Alice');
    bob = await openPage(node2, 'Bob');
    carol = await openPage(node2, 'Carol');
  });

  after(async () => {
    writeFileSync(join(OUT, 'board-figures.json'), `${JSON.stringify(figures, null, 2)}\n`);
    await stopBrowserAndNodes(browserState, nodes, 'board-');
  });

  test('every page lists the store\'s documents, all free, with Take over offered by a server that allows it', async () => {
    for (const page of [alice, bob, carol]) {
      const ids = await page.locator('[data-testid="doc"]').evaluateAll((rows) => rows.map((r) => r.dataset.lock));
      assert.deepEqual(ids, ['doc-7', 'doc-12', 'doc-23', 'doc-42', 'doc-57', 'doc-64']);
      await expectRow(page, 'doc-42', { state: 'free', holder: null, queue: null });
      assert.equal(await inRow(page, 'doc-42', 'doc-holders').innerText(), 'Free');
      assert.equal(await page.getByTestId('steal-hint').isVisible(), true);
    }
    assert.equal(await inRow(bob, 'doc-42', 'steal-button').isVisible(), false, 'nothing to take over from a free document');
    assert.equal(await alice.getByTestId('ws-url').textContent(), nodes[0].wsUrl, 'the page names the URL it talks to');
  });

  test(`B (node 2) sees "Alice is editing" within ${VISIBLE_WITHIN_MS} ms of A's grant (${ROUNDS} grants)`, async () => {
    const lock = 'doc-7';
    await record(alice, lock);
    await record(bob, lock);
    for (let i = 0; i < ROUNDS; i++) {
      const fromIndex = { alice: (await recorded(alice, lock)).length, bob: (await recorded(bob, lock)).length };
      await click(alice, lock, 'edit-button');
      figures.visibleMs.push(Math.round(await grantSeen(alice, bob, lock, fromIndex) * 10) / 10);
      await expectRow(alice, lock, { state: 'mine' });
      await click(alice, lock, 'release-button');
      await expectRow(alice, lock, { state: 'free', holder: null });
      await expectRow(bob, lock, { state: 'free', holder: null });
    }
    const sorted = [...figures.visibleMs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(`grant on node 1 -> shown on node 2's board, ms: ${figures.visibleMs.join(', ')} (median ${median})`);
    // A figure below 0 is fine: the server sends A's reply and B's CHANGED at about the same time,
    // and B's page may draw first.
    assert.ok(median <= VISIBLE_WITHIN_MS, `median ${median} ms > ${VISIBLE_WITHIN_MS} ms: ${figures.visibleMs}`);
  });

  test('A edits doc-42; B asks, A is asked; B takes over, A loses it and A\'s stale save is refused; C sees every change in order', async () => {
    const lock = 'doc-42';
    await record(carol, lock);
    await record(alice, lock);
    await record(bob, lock);

    // A edits and saves
    await click(alice, lock, 'edit-button');
    await expectRow(alice, lock, { state: 'mine', holder: 'Alice' });
    figures.doc42VisibleMs = Math.round(await grantSeen(alice, bob, lock, { alice: 0, bob: 0 }) * 10) / 10;
    console.log(`doc-42: grant on node 1 -> shown on node 2's board: ${figures.doc42VisibleMs} ms`);
    const aliceToken = Number(await row(alice, lock).getAttribute('data-token'));
    await inRow(alice, lock, 'editor-text').fill('Alice\'s draft');
    await click(alice, lock, 'save-button');
    await alice.locator(`${rowSelector(lock)} [data-testid="save-result"][data-result="saved"]`).waitFor();
    assert.equal(await inRow(alice, lock, 'save-result').innerText(), `Saved with token ${aliceToken}.`);

    // B sees who edits it, with Ask and Take over
    await expectRow(bob, lock, { state: 'other', holder: 'Alice', queue: null });
    assert.match(await inRow(bob, lock, 'doc-holders').innerText(), /^AL\s*Alice is editing$/, 'her avatar (initials) and name');
    assert.equal(await inRow(bob, lock, 'ask-button').isVisible(), true);
    assert.equal(await inRow(bob, lock, 'steal-button').isVisible(), true);

    // B asks: queued, and A's page shows the request
    await click(bob, lock, 'ask-button');
    await expectRow(bob, lock, { state: 'queued', holder: 'Alice', queue: 'Bob' });
    await inRow(alice, lock, 'asked').waitFor({ state: 'visible' });
    assert.equal(await inRow(alice, lock, 'asked-text').innerText(), 'Bob asks for doc-42');
    await expectRow(carol, lock, { state: 'other', holder: 'Alice', queue: 'Bob' });
    await click(alice, lock, 'asked-keep'); // A keeps it
    await inRow(alice, lock, 'asked').waitFor({ state: 'hidden' });

    // B takes over: A's page shows the loss, its editor goes read-only
    await click(bob, lock, 'steal-button');
    await expectRow(bob, lock, { state: 'mine', holder: 'Bob' });
    const bobToken = Number(await row(bob, lock).getAttribute('data-token'));
    assert.ok(bobToken > aliceToken, `the new token ${bobToken} is larger than ${aliceToken}`);
    await expectRow(alice, lock, { state: 'lost', holder: 'Bob' });
    assert.equal(await inRow(alice, lock, 'lost-text').innerText(), 'Bob took over doc-42. Your editor is read-only.');
    assert.equal(await inRow(alice, lock, 'editor-text').evaluate((e) => e.readOnly), true);
    assert.match(await alice.locator(`[data-testid="log-entry"][data-kind="lost"][data-lock="${lock}"]`).first().innerText(),
      /Bob took it over/);
    // B edits from A's saved text (its page announced its token to the store and loaded the text)
    await bob.locator(`${rowSelector(lock)} [data-testid="save-result"][data-result="opened"]`).waitFor();
    assert.equal(await inRow(bob, lock, 'editor-text').inputValue(), 'Alice\'s draft');

    // A's late save with the old token is refused by the store, and the page says so
    assert.equal(await inRow(alice, lock, 'save-button').innerText(), `Save anyway (token ${aliceToken})`);
    await click(alice, lock, 'save-button');
    await alice.locator(`${rowSelector(lock)} [data-testid="save-result"][data-result="refused"]`).waitFor();
    assert.equal(await inRow(alice, lock, 'save-result').innerText(),
      `save refused: a newer holder (Bob) saved with token ${bobToken}; yours is ${aliceToken}`);
    assert.deepEqual(await storeDoc(alice, lock),
      { id: lock, title: 'Quarterly report', text: 'Alice\'s draft', token: bobToken, by: 'Bob' });

    // B saves and is done
    await inRow(bob, lock, 'editor-text').fill('Bob\'s version');
    await click(bob, lock, 'save-button');
    await bob.locator(`${rowSelector(lock)} [data-testid="save-result"][data-result="saved"]`).waitFor();
    await click(bob, lock, 'release-button');
    await expectRow(bob, lock, { state: 'free', holder: null, queue: null });
    await expectRow(carol, lock, { state: 'free', holder: null, queue: null });
    await click(alice, lock, 'release-button'); // closes the read-only editor
    await expectRow(alice, lock, { state: 'free', holder: null });
    assert.deepEqual(await storeDoc(carol, lock),
      { id: lock, title: 'Quarterly report', text: 'Bob\'s version', token: bobToken, by: 'Bob' });

    // C, which only watched, showed every change, in order. Bob leaves the line before he takes
    // over (steal is not queued): "Alice, nobody waiting" between the two may be coalesced.
    const seen = (await recorded(carol, lock)).map((s) => `${s.holder}|${s.queue}`);
    console.log(`the watching tab showed doc-42 as: ${seen.map((s) => `[${s}]`).join(' -> ')}`);
    const full = ['|', 'Alice|', 'Alice|Bob', 'Alice|', 'Bob|', '|'];
    const coalesced = ['|', 'Alice|', 'Alice|Bob', 'Bob|', '|'];
    assert.ok(JSON.stringify(seen) === JSON.stringify(full) || JSON.stringify(seen) === JSON.stringify(coalesced),
      `the watching tab's sequence: ${JSON.stringify(seen)}`);
    const at = (await recorded(carol, lock)).map((s) => s.at);
    assert.deepEqual(at, [...at].sort((a, b) => a - b));
  });

  test('Release on an ask hands the document to the one who asked', async () => {
    const lock = 'doc-23';
    await click(alice, lock, 'edit-button');
    await expectRow(alice, lock, { state: 'mine' });
    await expectRow(bob, lock, { state: 'other', holder: 'Alice' });
    await click(bob, lock, 'ask-button');
    await inRow(alice, lock, 'asked').waitFor({ state: 'visible' });
    await click(alice, lock, 'asked-release');
    await expectRow(bob, lock, { state: 'mine', holder: 'Bob', queue: null });
    await expectRow(alice, lock, { state: 'other', holder: 'Bob' });
    await expectRow(carol, lock, { state: 'other', holder: 'Bob', queue: null });
    await click(bob, lock, 'release-button');
    await expectRow(carol, lock, { state: 'free', holder: null });
  });

  test('screenshots for people, and the board at phone size (390x844) without horizontal scrolling', async () => {
    // a board with a bit of everything: Alice edits doc-12 and is asked for it, Bob waits for it,
    // Carol edits doc-57
    await click(alice, 'doc-12', 'edit-button');
    await expectRow(alice, 'doc-12', { state: 'mine' });
    await inRow(alice, 'doc-12', 'editor-text').fill('Q3 numbers: revenue up 12 %, costs flat.');
    await click(alice, 'doc-12', 'save-button');
    await alice.locator(`${rowSelector('doc-12')} [data-testid="save-result"][data-result="saved"]`).waitFor();
    await click(carol, 'doc-57', 'edit-button');
    await expectRow(carol, 'doc-57', { state: 'mine' });
    await expectRow(bob, 'doc-12', { state: 'other', holder: 'Alice' });
    await click(bob, 'doc-12', 'ask-button');
    await expectRow(bob, 'doc-12', { state: 'queued', queue: 'Bob' });
    await inRow(alice, 'doc-12', 'asked').waitFor({ state: 'visible' });
    await expectRow(alice, 'doc-57', { state: 'other', holder: 'Carol' });

    const top = (page) => page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
    await top(alice);
    await alice.screenshot({ path: join(OUT, 'demo-page.png'), fullPage: true, animations: 'disabled' });
    await top(bob);
    await bob.screenshot({ path: join(OUT, 'board-bob.png'), fullPage: true, animations: 'disabled' });

    for (const page of [alice, bob]) {
      await page.setViewportSize(PHONE);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no horizontal scrolling at ${PHONE.width} px (overflow ${overflow} px)`);
      const clipped = await page.evaluate(() => [...document.querySelectorAll('button:not([hidden]), textarea, input')]
        .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => e.dataset.testid ?? e.tagName));
      assert.deepEqual(clipped, [], 'every control fits the phone\'s width');
    }
    await top(alice);
    await alice.screenshot({ path: join(OUT, 'board-phone.png'), fullPage: true, animations: 'disabled' });

    await click(bob, 'doc-12', 'cancel-button');
    await expectRow(bob, 'doc-12', { state: 'other', queue: null });
    await click(alice, 'doc-12', 'release-button');
    await click(carol, 'doc-57', 'release-button');
    await expectRow(bob, 'doc-12', { state: 'free', holder: null });
    await expectRow(bob, 'doc-57', { state: 'free', holder: null });
  });

  test('a long queue is shown by its head and how many more wait (the server cuts a state past 16 KiB)', async () => {
    const lock = 'doc-64';
    const sessions = 40; // one holder and 39 queued with ~500-byte infos: ~23 KB of state
    // Raw protocol from Bob's page (node 2, its own origin): 40 sessions, the first holds doc-64, the
    // others queue; Carol's board is told by the same node.
    await bob.evaluate(async ({ url, lock, sessions }) => {
      const open = (name) => new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.onerror = () => reject(new Error(`${name}: the WebSocket failed`));
        ws.onopen = () => ws.send(JSON.stringify({ action: 'connect', param: name, version: 2, info: { note: 'n'.repeat(480) } }));
        ws.onmessage = (m) => {
          const reply = JSON.parse(m.data);
          if (reply.action === 'connect') {
            ws.send(JSON.stringify({ action: 'lock', param: lock, wait: true }));
          } else if (reply.status === 'LOCKED' || reply.status === 'QUEUED') {
            resolve(ws);
          } else if (reply.action === 'lock') {
            reject(new Error(`${name}: ${m.data}`));
          }
        };
      });
      window.crowd = [];
      for (let i = 0; i < sessions; i++) {
        window.crowd.push(await open(`Q${String(i).padStart(2, '0')}`)); // in order: Q00 holds, the rest queue in turn
      }
    }, { url: node2.wsUrl, lock, sessions });

    await expectRow(carol, lock, { state: 'other', holder: 'Q00' });
    // The board may first show a state from before the last ones queued: wait for all of them.
    await until(async () => {
      const shown = (await row(carol, lock).getAttribute('data-queue') || '').split(',').length;
      return (await inRow(carol, lock, 'doc-queue').innerText()).endsWith(` and ${sessions - 1 - shown} more`);
    }, { message: 'Carol\'s board to show how many more wait, all of them queued' });
    const listed = (await row(carol, lock).getAttribute('data-queue')).split(',');
    assert.ok(listed.length >= 1 && listed.length < sessions - 1, `the queue is cut (${listed.length} listed)`);
    assert.deepEqual(listed, Array.from({ length: listed.length }, (_, i) => `Q${String(i + 1).padStart(2, '0')}`), 'its head, in order');
    assert.match(await inRow(carol, lock, 'doc-queue').innerText(), new RegExp(`Q01.* and ${sessions - 1 - listed.length} more$`));

    await bob.evaluate(() => window.crowd.forEach((ws) => ws.close()));
    await expectRow(carol, lock, { state: 'free', holder: null, queue: null });
  });

  test('no page threw an uncaught error', () => {
    assert.deepEqual(browserState.pageErrors, []);
  });
});
