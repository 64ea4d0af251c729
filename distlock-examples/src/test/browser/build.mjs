// Bundles the test pages (pages/*.js, which import the examples from ../../main/js and React
// or Vue from this folder's node_modules) into OUT, with esbuild: one ES module per page, the
// framework inside it (from the pinned devDependency, in its production build), nothing
// loaded from a CDN. The pages import the client as an application bundling it from npm
// would, `import { DistLockClient } from '@distlock/client'`: here that package is this
// repository's distlock-js, linked (package.json: file:), so its "exports" are what resolves it.
//
//   node build.mjs            (npm test runs it first)
//
// Environment: BROWSER_TEST_OUTPUT_DIR (default ../../../target/browser-tests).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

const HERE = dirname(fileURLToPath(import.meta.url));
export const OUT = resolve(process.env.BROWSER_TEST_OUTPUT_DIR || join(HERE, '../../../target/browser-tests'));
export const FRAMEWORKS = ['react', 'vue'];

export async function buildPages() {
  mkdirSync(join(OUT, 'pages'), { recursive: true });
  for (const framework of FRAMEWORKS) {
    await build({
      entryPoints: [join(HERE, 'pages', `${framework}-page.js`)],
      outfile: join(OUT, 'pages', `${framework}.js`),
      bundle: true,
      format: 'esm',
      target: 'es2022',
      // the examples live outside this folder: resolve their `react` and `vue` imports here
      nodePaths: [join(HERE, 'node_modules')],
      define: {
        'process.env.NODE_ENV': '"production"',
        __VUE_OPTIONS_API__: 'false',
        __VUE_PROD_DEVTOOLS__: 'false',
        __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
      },
      logLevel: 'warning',
    });
    writeFileSync(join(OUT, 'pages', `${framework}.html`), `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>useLock (${framework})</title>
<link rel="icon" href="data:,">
<div id="app"></div>
<script type="module" src="${framework}.js"></script>
</html>
`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildPages();
  console.log(`built ${FRAMEWORKS.map((f) => `pages/${f}.html`).join(', ')} in ${OUT}`);
}
