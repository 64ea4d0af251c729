import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { build, gzipSize, OUTPUTS, SIZE_BUDGET_GZIP } from '../scripts/build.mjs';
import * as readable from '../src/distlock.js';
import * as minified from '../src/distlock.min.js';
import { FakeServer, connectSession } from './support/fake-websocket.js';

const root = new URL('..', import.meta.url);

describe('the bundle (src/distlock.js, generated from lib/)', () => {
  test('the committed files are what lib/ builds to: run `npm run build` after changing lib/', async () => {
    const built = await build();
    for (const [key, path] of Object.entries(OUTPUTS)) {
      const committed = await readFile(new URL(path, root), 'utf8');
      assert.ok(committed === built[key], `${path} is stale: run \`npm run build\` in distlock-js and commit the result`);
    }
  });

  test('the minified file stays within its size budget (gzipped)', async () => {
    const code = await readFile(new URL(OUTPUTS.minified, root), 'utf8');
    const size = gzipSize(code);
    assert.ok(size <= SIZE_BUDGET_GZIP, `src/distlock.min.js is ${size} bytes gzipped, over the budget of ${SIZE_BUDGET_GZIP}: make it smaller, or raise SIZE_BUDGET_GZIP in scripts/build.mjs on purpose`);
    assert.ok(gzipSize('x'.repeat(100_000) + Math.random()) < SIZE_BUDGET_GZIP, 'the measure is of gzipped bytes');
  });

  test('it is one module that imports nothing, and exports the public API only', async () => {
    for (const path of [OUTPUTS.readable, OUTPUTS.minified]) {
      const code = await readFile(new URL(path, root), 'utf8');
      assert.doesNotMatch(code, /^\s*import\b|\bimport\s*\(|\bfrom\s*["']/m, `${path} imports something`);
    }
    assert.deepEqual(Object.keys(readable).sort(), ['DistLockClient', 'DistLockError']);
    assert.deepEqual(Object.keys(minified).sort(), ['DistLockClient', 'DistLockError']);
  });

  test('the minified file works: connect, lock, a FAIL reply', async () => {
    const server = new FakeServer();
    const client = new minified.DistLockClient('ws://localhost/distlock/lock', { WebSocket: server.WebSocket });
    const ws = await connectSession(client, server);
    const locking = client.lock('doc');
    ws.reply(ws.next('lock'), { status: 'LOCKED', token: 5 });
    assert.deepEqual(await locking, { status: 'LOCKED', token: 5 });
    const unlocking = client.unlock('other');
    ws.reply(ws.next('unlock'), { status: 'FAIL', code: 'NOT_OWNER', message: 'not yours' });
    await assert.rejects(unlocking, (error) => error instanceof minified.DistLockError && error.code === 'NOT_OWNER');
    assert.deepEqual(client.heldLocks, new Map([['doc', 5]]));
  });

  test('the minified file points at its source map, which leads back to lib/', async () => {
    const code = await readFile(new URL(OUTPUTS.minified, root), 'utf8');
    assert.match(code, /\/\/# sourceMappingURL=distlock\.min\.js\.map\s*$/);
    const map = JSON.parse(await readFile(new URL(OUTPUTS.map, root), 'utf8'));
    assert.ok(map.sources.includes('../lib/connection.js'), JSON.stringify(map.sources));
    assert.equal(map.sourcesContent.length, map.sources.length);
  });
});
