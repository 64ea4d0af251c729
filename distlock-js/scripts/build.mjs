// Builds the files the webjar and the npm package ship from the modules in lib/:
//
//   src/distlock.js          one readable ES module (rollup: the modules' code and comments, in order)
//   src/distlock.min.js      the same, minified (terser), ending in a sourceMappingURL
//   src/distlock.min.js.map  its source map, back to lib/ (sources included)
//
// `npm run build` writes them; test/bundle.test.js calls build() and fails if the
// committed files differ, so they cannot go stale. Dev-only: nothing here ships.
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { rollup } from '@rollup/wasm-node';
import { minify } from 'terser';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The module documentation that heads the bundle (a bundler drops the entry's own comments). */
const BANNER = `/**
 * distlock JavaScript client: named locks, exclusive or shared, shared by every browser (and
 * server) connected to a distlock server, over one WebSocket.
 *
 * GENERATED from lib/*.js by scripts/build.mjs (\`npm run build\`): edit those, not this file.
 *
 * The wire protocol (versions 1 and 2) is the contract; this file only speaks it. The facts
 * of that protocol that shape everything below:
 *
 * - A lock is owned by a *session*. Without a grace period a session lives exactly as long
 *   as its WebSocket: when the socket drops, the server releases every lock of the session
 *   (and its places in queues). With one (version 2, \`grace\`), the session outlives the drop
 *   for that long and the client \`resume\`s it on a new connection (\`suspended\`, then
 *   \`resumed\`, or \`expired\`). Either way this client never queues commands while
 *   disconnected and never replays them: it rejects what was pending, reports every lock it
 *   can no longer vouch for as \`lost\`, and lets the application decide what to lock again.
 * - \`lock\` never blocks: the answer is \`LOCKED\` or \`WAIT\`, and after \`WAIT\` the server pushes
 *   one \`RETRY\` when the lock becomes free. \`request()\` turns that into "wait, run, release".
 * - \`connect\` asks for version 2. A version 2 server says so in its reply, and then also
 *   queues: \`lock\` with \`wait: true\` answers \`QUEUED\` and pushes \`GRANTED\` (or \`CANCELLED\`)
 *   later, first come first served across sessions and nodes; \`request()\` waits that way
 *   there. A server that does not say so gets exactly version 1.
 * - Replies carry the \`id\` of their request; pushes (\`RETRY\`, \`LOST\`, \`GRANTED\`,
 *   \`CANCELLED\`, \`ASKED\`, \`CHANGED\`) carry none (\`GRANTED\` names the queued request in
 *   \`request\`). A version 2 server also tells who holds what (\`query\`, \`watch\` and its
 *   \`CHANGED\` pushes), takes locks over (\`steal\`), and asks holders for them (\`ask\`, \`ASKED\`).
 *
 * Fencing tokens are JSON numbers. The reference server issues tokens around 1.7e15
 * (microseconds), well below 2^53, so they are exact as plain JavaScript numbers.
 *
 * No runtime dependencies: it needs \`WebSocket\`, \`EventTarget\`, \`CustomEvent\`, \`Promise\`,
 * \`DOMException\` and \`TextEncoder\`, which every current browser and Node 20+ have (Node gets
 * its \`WebSocket\` injected, e.g. from the \`ws\` package, until its global one is available).
 *
 * @module distlock
 */`;

/**
 * The most bytes src/distlock.min.js may take gzipped (level 9): the build and
 * test/bundle.test.js fail past it, so growth is a decision, not an accident. Each raise is
 * a commit of its own that says what the bytes bought (`git log -p -- scripts/build.mjs`).
 * Issue 13 asked for 4 KB; the README (Size) says where the bytes go and what 4 KB would cost.
 */
export const SIZE_BUDGET_GZIP = 13_383;

/** The gzipped size (level 9, as `gzip -9`) of the minified file's contents. */
export function gzipSize(code) {
  return gzipSync(code, { level: 9 }).length;
}

export const OUTPUTS = Object.freeze({
  readable: 'src/distlock.js',
  minified: 'src/distlock.min.js',
  map: 'src/distlock.min.js.map',
});

/** @returns {Promise<{readable: string, minified: string, map: string}>} the files' contents */
export async function build() {
  const bundle = await rollup({ input: `${root}lib/index.js`, onwarn: (warning) => { throw new Error(warning.message); } });
  let output;
  try {
    ({ output: [output] } = await bundle.generate({ format: 'es', banner: BANNER, sourcemap: true, sourcemapExcludeSources: false }));
  } finally {
    await bundle.close();
  }
  // rollup ends the code with a sourceMappingURL to a map that is not shipped: only the minified file has one.
  const readable = output.code.replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n');
  // Map the minified file back to lib/, through rollup's map, with paths relative to src/.
  const rollupMap = output.map;
  rollupMap.sources = rollupMap.sources.map((source) => `../lib/${basename(source)}`);
  rollupMap.file = 'distlock.js';
  const min = await minify({ 'distlock.js': readable }, {
    module: true,
    ecma: 2022,
    format: { comments: false, preamble: '/*! distlock client (minified src/distlock.js; see distlock.min.js.map) */' },
    sourceMap: { content: rollupMap, filename: 'distlock.min.js', url: 'distlock.min.js.map', includeSources: true },
  });
  return { readable, minified: `${min.code}\n`, map: `${min.map}\n` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await build();
  const size = gzipSize(files.minified);
  if (size > SIZE_BUDGET_GZIP) {
    console.error(`src/distlock.min.js is ${size} bytes gzipped, over the budget of ${SIZE_BUDGET_GZIP} (scripts/build.mjs)`);
    process.exit(1);
  }
  console.log(`src/distlock.min.js: ${size} bytes gzipped (budget ${SIZE_BUDGET_GZIP})`);
  for (const [key, path] of Object.entries(OUTPUTS)) {
    const target = `${root}${path}`;
    const before = await readFile(target, 'utf8').catch(() => null);
    if (before !== files[key]) {
      await writeFile(target, files[key]);
      console.log(`wrote ${path}`);
    }
  }
}
