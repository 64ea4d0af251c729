// The starter's docs application in a real headless Chromium (Debian's, driven by
// playwright-core; no browser download). StarterBrowserTest starts two Spring Boot
// applications on one Redis and runs this with their URLs:
//
//   APP1, APP2   http://127.0.0.1:<port> of each application
//   CHROMIUM     default /usr/bin/chromium
//   E2E_OUTPUT_DIR  where the screenshot goes
//
// No fixed sleeps: every wait is for a condition, with a deadline.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const APP1 = process.env.APP1;
const APP2 = process.env.APP2;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OUT = process.env.E2E_OUTPUT_DIR || 'target/e2e';
const TIMEOUT_MS = 10_000;

let browser;

before(async () => {
  assert.ok(APP1 && APP2, 'APP1 and APP2 name the applications');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
});

after(async () => {
  await browser?.close();
});

/** A page of `app` in a browser context of its own, connected under `name`. */
async function open(app, name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(`${app}/?name=${encodeURIComponent(name)}`);
  await page.waitForFunction(() => document.getElementById('state')?.textContent.startsWith('connected'),
    null, { timeout: TIMEOUT_MS });
  assert.deepEqual(errors, []);
  return { page, context };
}

test('pages on two applications take turns on a lock, and a queued request() runs when the other page releases', async () => {
  const alice = await open(APP1, 'alice');
  const bob = await open(APP2, 'bob');
  try {
    const locked = await alice.page.evaluate(() => window.distlock.client.lock('doc-42'));
    assert.equal(locked.status, 'LOCKED');
    assert.ok(locked.token > 0);

    const waiting = await bob.page.evaluate(() => window.distlock.client.lock('doc-42'));
    assert.equal(waiting.status, 'WAIT');
    assert.equal(waiting.holder, 'alice');

    // bob's request() waits in the queue (across the two applications) until alice unlocks
    await bob.page.evaluate(() => {
      window.done = window.distlock.client.request('doc-42', async ({ token }) => token);
    });
    await alice.page.evaluate(() => window.distlock.client.unlock('doc-42'));
    const token = await bob.page.evaluate(() => window.done);
    assert.ok(token > locked.token, `a larger fencing token than ${locked.token}: ${token}`);

    mkdirSync(OUT, { recursive: true });
    await bob.page.screenshot({ path: join(OUT, 'starter-page.png') });
  } finally {
    await alice.context.close();
    await bob.context.close();
  }
});

test('closing a tab releases its locks for a page on the other application', async () => {
  const alice = await open(APP1, 'alice-2');
  const bob = await open(APP2, 'bob-2');
  try {
    assert.equal((await alice.page.evaluate(() => window.distlock.client.lock('doc-43'))).status, 'LOCKED');
    assert.equal((await bob.page.evaluate(() => window.distlock.client.lock('doc-43'))).status, 'WAIT');
    await alice.context.close();
    await bob.page.waitForFunction(() => window.distlock.events.includes('retry doc-43'), null, { timeout: TIMEOUT_MS });
    assert.equal((await bob.page.evaluate(() => window.distlock.client.lock('doc-43'))).status, 'LOCKED');
  } finally {
    await bob.context.close();
  }
});
