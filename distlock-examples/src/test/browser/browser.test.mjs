// The React hook and the Vue composable useLock(name) (src/main/js) in a real headless Chromium
// (Debian's, driven by playwright-core; no browser download), against a distlock server node
// started from distlock-server's built jar with its embedded Redis. Each page is a bundle made
// by build.mjs (the framework from the pinned devDependency and @distlock/client inside it),
// served by a small HTTP server of this test on loopback, as an application's own server would
// serve it: the node allows that origin (--allowed-origin). One browser context per page, so
// each page is another browser with a session of its own.
//
//   npm ci && npm test        (after `mvn package` built distlock-server/target/distlock-server.jar)
//
// Environment: CHROMIUM (default /usr/bin/chromium), JAVA (default $JAVA_HOME/bin/java, else
// java), DISTLOCK_SERVER_JAR, BROWSER_TEST_OUTPUT_DIR (default ../../../target/browser-tests:
// the bundles, the node's log).
//
// No fixed sleeps: every wait is for a condition, with a deadline.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

import { chromium } from 'playwright-core';

import { FRAMEWORKS, OUT } from './build.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, '../../../..');
const JAR = resolve(process.env.DISTLOCK_SERVER_JAR || join(REPO, 'distlock-server/target/distlock-server.jar'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const JAVA = process.env.JAVA || (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];
const UI_TIMEOUT_MS = 10_000;

const STARTED = /distlock node (\w+) listening on (http:\/\/[^/\s]+\/) \(WebSocket (ws:\/\/\S+?)[,)]/;

/** One server node from the jar, with its embedded Redis; stopped through its own ChildProcess handle only. */
class ServerNode {
  constructor(args) {
    this.output = '';
    // The default lease (10 s): no test here waits for one to run out, and Redis commands get a
    // sixth of it (1.7 s) to answer on a busy machine (with a 3 s lease, 500 ms was once too little).
    this.child = spawn(JAVA, ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-jar', JAR,
      '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code, signal) => resolveExit({ code, signal }));
      this.child.once('error', (error) => resolveExit({ code: null, signal: null, error }));
    });
    this.closed = once(this.child, 'close');
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (text) => { this.output += text; });
    }
  }

  get running() {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async started() {
    await until(() => STARTED.test(this.output) || !this.running,
      { timeoutMs: 60_000, message: () => `the node's startup line; output:\n${this.output}` });
    const m = STARTED.exec(this.output);
    if (m === null) throw new Error(`the node exited before it started (${JSON.stringify(await this.exited)}):\n${this.output}`);
    [, this.nodeId, this.pageUrl, this.wsUrl] = m;
    return this;
  }

  /** SIGTERM (the node stops its embedded redis-server itself), SIGKILL after 15 s. */
  async stop() {
    if (this.running) {
      this.child.kill('SIGTERM');
      const stopped = await Promise.race([this.exited, delay(15_000, null, { ref: false })]);
      if (stopped === null && this.running) this.child.kill('SIGKILL');
    }
    await this.exited;
    await Promise.race([this.closed, delay(5000, null, { ref: false })]);
  }
}

/** Polls `condition` every 50 ms until it is truthy or the deadline passes. */
async function until(condition, { timeoutMs = UI_TIMEOUT_MS, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof message === 'function' ? message() : message}`);
    }
    await delay(50);
  }
}

/** The pages' own web server: GET /NAME.html and /NAME.js from OUT/pages, nothing else. */
function startPageServer() {
  const server = createServer((request, response) => {
    const file = new URL(request.url, 'http://localhost').pathname.slice(1);
    const path = join(OUT, 'pages', file);
    if (request.method !== 'GET' || !/^[a-z]+\.(html|js)$/.test(file) || !existsSync(path)) {
      response.writeHead(404).end();
      return;
    }
    const type = file.endsWith('.html') ? 'text/html; charset=utf-8' : 'text/javascript; charset=utf-8';
    response.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(readFileSync(path));
  });
  return new Promise((resolveStart, rejectStart) => {
    server.once('error', rejectStart);
    server.listen(0, '127.0.0.1', () => resolveStart(server));
  });
}

let node;
let pages;
let pagesOrigin;
let browser;
const contexts = [];
const pageErrors = [];

before(async () => {
  assert.ok(existsSync(JAR), `no server jar at ${JAR}: run "mvn package" in distlock-server first`);
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (set CHROMIUM to its path)`);
  for (const framework of FRAMEWORKS) {
    assert.ok(existsSync(join(OUT, 'pages', `${framework}.js`)), `no bundle for ${framework} in ${OUT}: run "node build.mjs"`);
  }
  pages = await startPageServer();
  pagesOrigin = `http://127.0.0.1:${pages.address().port}`;
  node = new ServerNode(['--allowed-origin', pagesOrigin]);
  process.on('exit', () => { if (node.running) node.child.kill('SIGKILL'); }); // last resort
  const launching = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  launching.catch(() => {}); // awaited below
  await node.started();
  browser = await launching; // a browser that does not start fails the run: nothing is skipped silently
});

after(async () => {
  await Promise.race([browser?.close(), delay(10_000, null, { ref: false })]).catch(() => {});
  pages?.closeAllConnections();
  pages?.close();
  if (node !== undefined) {
    await node.stop();
    writeFileSync(join(OUT, 'node.log'), node.output);
  }
});

/**
 * A page of the framework's test bundle in a browser context of its own, its session named
 * `session` and connected to the node, its component (not mounted yet) for `lock`.
 */
async function openPage(framework, session, lock) {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  const frames = { sent: [], received: [] }; // the page's WebSocket frames, parsed
  wsFrames.set(page, frames);
  page.on('websocket', (ws) => {
    const parse = (list) => ({ payload }) => {
      try { list.push(JSON.parse(payload)); } catch { /* not JSON: not ours to read */ }
    };
    ws.on('framesent', parse(frames.sent));
    ws.on('framereceived', parse(frames.received));
  });
  page.on('pageerror', (error) => pageErrors.push(`${framework} ${session}: ${error.stack ?? error}`));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`${framework} ${session} console: ${message.text()}`);
  });
  const query = new URLSearchParams({ server: node.wsUrl, name: session, lock });
  await page.goto(`${pagesOrigin}/${framework}.html?${query}`);
  await page.waitForFunction(() => window.app !== undefined);
  await page.evaluate(() => window.app.connected);
  return page;
}

const wsFrames = new WeakMap();

/**
 * Waits until the server has the page's session in the lock's queue: every `lock` and `cancel`
 * the page sent for it is answered, the last `lock` with `QUEUED`. The component shows
 * 'queued' as soon as it asks; under StrictMode its first request is cancelled and a second
 * one sent, so "in line" is read from the wire.
 */
async function untilInLine(page, lock) {
  const { sent, received } = wsFrames.get(page);
  const reply = (frame) => received.find((answer) => answer.id !== undefined && String(answer.id) === String(frame.id));
  await until(() => {
    const asked = sent.filter((frame) => frame.param === lock && (frame.action === 'lock' || frame.action === 'cancel'));
    const last = asked.filter((frame) => frame.action === 'lock').at(-1);
    return last !== undefined && asked.every(reply) && reply(last).status === 'QUEUED';
  }, { message: () => `the server to answer QUEUED for ${lock}; frames sent ${JSON.stringify(sent)}, received ${JSON.stringify(received)}` });
}

const mount = (page) => page.evaluate(() => window.app.mount());
const unmount = (page) => page.evaluate(() => window.app.unmount());

/** Waits until the page's component shows `status`; returns its {status, token, error}. */
async function expectStatus(page, status) {
  const doc = page.locator(`[data-testid="doc"][data-status="${status}"]`);
  try {
    await doc.waitFor({ timeout: UI_TIMEOUT_MS });
  } catch (error) {
    // say what the page showed and what its client heard, so that a failure can be understood
    const seen = await page.evaluate(() => ({
      doc: document.getElementById('app').innerText,
      state: window.app.client.state,
      held: [...window.app.client.heldLocks.keys()],
      events: window.app.events,
    })).catch((cause) => `unreadable: ${cause}`);
    throw new Error(`expected status ${status}: ${error.message}\npage: ${JSON.stringify(seen, null, 2)}`, { cause: error });
  }
  return {
    status,
    token: Number(await doc.getAttribute('data-token')),
    error: await doc.getAttribute('data-error'),
    text: await doc.innerText(),
  };
}

async function expectUnmounted(page) {
  await page.getByTestId('unmounted').waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(await page.getByTestId('doc').count(), 0);
}

/** What the page's own client holds (its session's view). */
const holds = (page, lock) => page.evaluate((name) => window.app.client.heldLocks.has(name), lock);

/** Asks once, from a page's session, without waiting: LOCKED or WAIT {holder}. */
const lockOnce = (page, lock) => page.evaluate((name) => window.app.client.lock(name), lock);

for (const framework of FRAMEWORKS) {
  describe(`useLock (${framework}) in Chromium against a server node`, { timeout: 90_000 }, () => {
    after(async () => {
      await Promise.all(contexts.splice(0).map((context) => context.close().catch(() => {})));
    });

    test('the second page\'s component shows queued until the first one unmounts, then holds the lock', async () => {
      const lock = `${framework}-doc-1`;
      const alice = await openPage(framework, 'Alice', lock);
      const bob = await openPage(framework, 'Bob', lock);

      await mount(alice);
      const first = await expectStatus(alice, 'held');
      assert.ok(first.token > 0, `a fencing token: ${first.token}`);
      assert.match(first.text, new RegExp(`${lock}: Editing \\(token ${first.token}\\)`));
      assert.ok(await holds(alice, lock));

      await mount(bob);
      const queued = await expectStatus(bob, 'queued');
      assert.match(queued.text, /Waiting for the lock/);
      await untilInLine(bob, lock);
      // The component shows who holds it (the QUEUED answer's holder, through onQueued).
      await bob.locator('[data-testid="doc"][data-status="queued"]', { hasText: 'held by Alice' }).waitFor({ timeout: UI_TIMEOUT_MS });
      // Bob's request is in the server's queue (a third session is told the lock is Alice's),
      // and stays there while Alice's component is mounted.
      const carol = await openPage(framework, 'Carol', lock);
      assert.deepEqual(await lockOnce(carol, lock), { status: 'WAIT', holder: 'Alice' });
      await expectStatus(alice, 'held');
      await expectStatus(bob, 'queued');
      assert.equal(await holds(bob, lock), false);

      await unmount(alice);
      await expectUnmounted(alice);
      const second = await expectStatus(bob, 'held');
      assert.ok(second.token > first.token, `the second token ${second.token} is larger than the first ${first.token}`);
      // Alice's client hears the reply to its unlock on its own socket, maybe after Bob heard GRANTED
      await until(async () => !(await holds(alice, lock)), { message: 'Alice\'s client to have released the lock' });
      assert.ok(await holds(bob, lock));
      assert.deepEqual(await lockOnce(carol, lock), { status: 'WAIT', holder: 'Bob' });
      await unmount(bob);
      await expectUnmounted(bob);
    });

    test('a lock lost while held shows lost (the session closed), and the next in line gets it', async () => {
      const lock = `${framework}-doc-2`;
      const alice = await openPage(framework, 'Alice', lock);
      const bob = await openPage(framework, 'Bob', lock);
      await mount(alice);
      const held = await expectStatus(alice, 'held');
      await mount(bob);
      await expectStatus(bob, 'queued');
      await untilInLine(bob, lock);

      await alice.evaluate(() => window.app.client.close()); // the session ends: its locks are released
      const lost = await expectStatus(alice, 'lost');
      assert.equal(lost.error, 'LOST');
      assert.match(lost.text, /Lock lost/);
      const next = await expectStatus(bob, 'held');
      assert.ok(next.token > held.token);
      // lost stays lost: the component does not ask again by itself
      await expectStatus(alice, 'lost');
      assert.equal(await holds(alice, lock), false);
      await unmount(alice);
      await expectUnmounted(alice);
      await unmount(bob);
      await expectUnmounted(bob);
    });

    test('unmounting releases a held lock and leaves the queue when still waiting', async () => {
      const lock = `${framework}-doc-3`;
      const alice = await openPage(framework, 'Alice', lock);
      const bob = await openPage(framework, 'Bob', lock);
      const carol = await openPage(framework, 'Carol', lock);
      await mount(alice);
      await expectStatus(alice, 'held');
      await mount(bob);
      await expectStatus(bob, 'queued');
      await untilInLine(bob, lock);
      await mount(carol);
      await expectStatus(carol, 'queued');
      await untilInLine(carol, lock);

      await unmount(bob); // queued: leaves the queue, so Carol is next
      await expectUnmounted(bob);
      await unmount(alice);
      await expectStatus(carol, 'held');
      // Had his cancel crossed a grant on the wire, his client unlocks that grant: either way he holds nothing
      await until(async () => !(await holds(bob, lock)), { message: 'Bob to hold nothing after leaving the queue' });
      assert.deepEqual(await lockOnce(bob, lock), { status: 'WAIT', holder: 'Carol' });

      await unmount(carol);
      await expectUnmounted(carol);
      // The DOM changes at once, the unlock is on its way: once Carol's client has the server's
      // answer, the lock is free for everyone, and another session gets it at once.
      await until(async () => !(await holds(carol, lock)), { message: 'Carol\'s client to have released the lock' });
      const again = await lockOnce(bob, lock);
      assert.equal(again.status, 'LOCKED');
      await bob.evaluate((name) => window.app.client.unlock(name), lock);
    });

    // Found by review (2026-12-04): React's hook showed the previous lock as held, with its token,
    // for the render after a change of name (before its effect ran).
    test('a change of name releases the old lock and shows queued, never the old grant, until the new lock is held', async () => {
      const lock = `${framework}-doc-4`;
      const next = `${framework}-doc-5`;
      const alice = await openPage(framework, 'Alice', lock);
      await mount(alice);
      const first = await expectStatus(alice, 'held');

      await alice.evaluate((name) => window.app.rename(name), next);
      await alice.locator('[data-testid="doc"][data-status="held"]', { hasText: `${next}: Editing` }).waitFor({ timeout: UI_TIMEOUT_MS });
      const second = await expectStatus(alice, 'held');
      assert.ok(second.token > first.token, `the new grant's token ${second.token} is larger than the old one's ${first.token}`);
      const renders = await alice.evaluate(() => window.app.renders);
      const wrong = renders.filter(([name, status, token]) => name === next && status === 'held' && token !== second.token);
      assert.deepEqual(wrong, [], `renders of ${next} as held with another grant's token: ${JSON.stringify(renders)}`);
      await until(async () => !(await holds(alice, lock)), { message: `Alice's client to have released ${lock}` });
      await unmount(alice);
      await expectUnmounted(alice);
    });
  });
}

test('no page logged an error', () => {
  assert.deepEqual(pageErrors, []);
});

test('playwright-core is the version distlock-server\'s browser tests pin', () => {
  const ours = JSON.parse(readFileSync(join(HERE, 'package.json'), 'utf8')).devDependencies['playwright-core'];
  const server = JSON.parse(readFileSync(join(REPO, 'distlock-server/src/test/e2e/package.json'), 'utf8'))
    .devDependencies['playwright-core'];
  assert.equal(ours, server, 'keep one Playwright for the project: change both package.json files together');
});
