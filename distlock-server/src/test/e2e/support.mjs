// Shared by the end-to-end test files: where the jar, the browser and the output are, the
// server nodes (started from the jar as child processes, stopped only through their own
// handles), the process helpers that clean up after them, and `until`, the one way these tests
// wait: poll a condition, with a deadline.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

import { chromium } from 'playwright-core';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const MODULE_DIR = resolve(HERE, '../../..');
export const JAR = resolve(process.env.DISTLOCK_SERVER_JAR || join(MODULE_DIR, 'target/distlock-server.jar'));
export const OUT = resolve(process.env.E2E_OUTPUT_DIR || join(MODULE_DIR, 'target/e2e'));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const JAVA = process.env.JAVA || (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java');
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

export const LEASE_MS = 3000;
export const UI_TIMEOUT_MS = 10_000; // for any single UI condition

// ---------------------------------------------------------------- server nodes

const STARTED = /distlock node (\w+) listening on (http:\/\/[^/\s]+\/) \(WebSocket (ws:\/\/\S+?)[,)]/;
const EMBEDDED_REDIS = /Redis (redis:\/\/\S+) \(embedded\)/;

/** A distlock server started from the jar; stopped only through its own ChildProcess handle. */
export class ServerNode {
  /** Every node started, for the last-resort cleanup when this process exits. */
  static all = new Set();

  constructor(label, args) {
    this.label = label;
    this.output = '';
    this.child = spawn(JAVA, ['-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-jar', JAR,
      '--host', '127.0.0.1', '--port', '0', '--lease-ms', String(LEASE_MS), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    this.spawnError = once(this.child, 'error').then(([error]) => error);
    this.exited = new Promise((resolveExit) => {
      this.child.once('exit', (code, signal) => resolveExit({ code, signal }));
      this.spawnError.then((error) => resolveExit({ code: null, signal: null, error }));
    });
    // 'close' comes after the output was read to its end (unless a child still holds the pipe)
    this.closed = once(this.child, 'close');
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (text) => { this.output += text; });
    }
    this.children = [];
    ServerNode.all.add(this);
  }

  get running() {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for the startup line (60 s at most) and reads the node id, URLs and embedded Redis. */
  async started() {
    await until(() => STARTED.test(this.output) || !this.running, {
      timeoutMs: 60_000,
      message: () => `${this.label} did not print its startup line; output:\n${this.output}`,
      failFast: this.spawnError,
    });
    const m = STARTED.exec(this.output);
    if (m === null) {
      throw new Error(`${this.label} exited before it started (${JSON.stringify(await this.exited)}); output:\n${this.output}`);
    }
    [, this.nodeId, this.pageUrl, this.wsUrl] = m;
    this.port = Number(new URL(this.pageUrl).port);
    this.redisUrl = EMBEDDED_REDIS.exec(this.output)?.[1] ?? null;
    this.children = childrenOf(this.child.pid); // the embedded redis-server, if any
    return this;
  }

  /** SIGTERM, then SIGKILL after the deadline; resolves with {code, signal, killed} once its output is read. */
  async stop(graceMs = 15_000) {
    let killed = false;
    if (this.running) {
      this.child.kill('SIGTERM');
      const stopped = await Promise.race([this.exited, delay(graceMs, null, { ref: false })]);
      if (stopped === null && this.running) {
        this.child.kill('SIGKILL');
        killed = true;
      }
    }
    const exit = await this.exited;
    await Promise.race([this.closed, delay(5000, null, { ref: false })]);
    return { ...exit, killed };
  }
}

// Last resort, should the run be cut short before the after hook: kill what we started.
process.on('exit', () => {
  for (const node of ServerNode.all) {
    if (node.running) node.child.kill('SIGKILL');
    node.children.forEach(killIfAlive);
  }
});

/**
 * The live child processes of `pid` as {pid, start} (Linux /proc; elsewhere none). The start
 * time tells a process from a later one that got the same pid.
 */
export function childrenOf(pid) {
  if (!existsSync('/proc/self/stat')) return [];
  const children = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat !== null && stat.ppid === pid && stat.state !== 'Z') children.push({ pid: Number(entry), start: stat.start });
  }
  return children;
}

/** {state, ppid, start} from /proc/PID/stat, or null when there is no such process. */
function procStat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, "state"
    return { state: fields[0], ppid: Number(fields[1]), start: fields[19] };
  } catch {
    return null;
  }
}

/** Still running (not a zombie: a zombie is dead, only its exit status waits to be collected). */
export function isAlive({ pid, start }) {
  const stat = procStat(pid);
  return stat !== null && stat.start === start && stat.state !== 'Z';
}

/** SIGKILL for a process found by childrenOf(), if it still runs. */
export function killIfAlive(proc) {
  if (isAlive(proc)) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // it just exited
    }
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function accepts(port) {
  return new Promise((resolvePromise) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const done = (result) => {
      socket.destroy();
      resolvePromise(result);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(2000, () => done(false));
  });
}

/** Polls `condition` (sync or async) every 50 ms until it is truthy or the deadline passes. */
export async function until(condition, { timeoutMs = UI_TIMEOUT_MS, message = 'condition', failFast } = {}) {
  const deadline = Date.now() + timeoutMs;
  let failure = null;
  failFast?.then((error) => { failure = error; });
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (failure !== null) throw failure;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof message === 'function' ? message() : message}`);
    }
    await delay(50);
  }
}

/**
 * What every e2e file runs against: node 1 with its embedded Redis, node 2 on that Redis, and
 * Chromium, launched meanwhile. Each node goes into `nodes` as soon as it exists, so that
 * `stopBrowserAndNodes` stops it even if a start failed. A browser that does not start fails
 * the run: the tests are never skipped silently. `args` go to both nodes. Returns `[node1, node2]`.
 */
export async function startBrowserAndNodes(browserState, nodes, args = []) {
  mkdirSync(OUT, { recursive: true });
  assert.ok(existsSync(JAR), `no server jar at ${JAR}: run "mvn package" in distlock-server first`);
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (set CHROMIUM to its path)`);
  const node1 = new ServerNode('node 1', args);
  nodes.push(node1);
  const launching = chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  browserState.launching = launching;
  launching.catch(() => {}); // awaited below
  await node1.started();
  assert.match(node1.redisUrl ?? '', /^redis:\/\/127\.0\.0\.1:\d+$/, `node 1 started no embedded Redis:\n${node1.output}`);
  const node2 = new ServerNode('node 2', [...args, '--redis', node1.redisUrl]);
  nodes.push(node2);
  await node2.started();
  browserState.browser = await launching;
  return [node1, node2];
}

/**
 * Whatever happened: closes the browser, stops the nodes (the last started first), saves each
 * one's output to `OUT/<logPrefix><label>.log`, and makes sure node 1's embedded redis-server is
 * gone. Only processes this run started are touched.
 */
export async function stopBrowserAndNodes(browserState, nodes, logPrefix = '') {
  const browser = await browserState.launching?.catch(() => null);
  await Promise.race([browser?.close(), delay(10_000, null, { ref: false })]).catch(() => {});
  for (const node of [...nodes].reverse()) {
    await node.stop();
    writeFileSync(join(OUT, `${logPrefix}${node.label.replace(' ', '')}.log`), node.output);
    node.children.forEach(killIfAlive); // only needed if node 1 itself had to be killed
  }
}
