// The npm package as it would be published: its metadata, its version against Maven's, and
// the exact files `npm pack` puts in the tarball. Runs in `npm test`, so in the Maven build
// (distlock-js's test phase) and in `prepublishOnly`: a package that fails here is never published.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const root = new URL('..', import.meta.url);
const read = (path) => readFileSync(new URL(path, root), 'utf8');
const pkg = JSON.parse(read('package.json'));

/** What the tarball holds, exactly: the client (readable, minified, its map), its types, and the package's own files. */
const EXPECTED_FILES = [
  'LICENSE',
  'README.md',
  'package.json',
  'src/distlock.js',
  'src/distlock.min.js',
  'src/distlock.min.js.map',
  'types/distlock.d.ts',
];

/**
 * The Maven version of this module: the `<version>` of the `<parent>` in pom.xml (the module
 * inherits it). Maven passes its own `${project.version}` as MAVEN_PROJECT_VERSION too; when
 * it does, the two must agree, so this reading of the pom cannot drift from Maven's.
 */
function mavenVersion() {
  const parent = /<parent>([\s\S]*?)<\/parent>/.exec(read('pom.xml'));
  assert.ok(parent, 'pom.xml has a <parent>');
  const version = /<version>([^<]+)<\/version>/.exec(parent[1])?.[1].trim();
  assert.ok(version, 'the <parent> in pom.xml has a <version>');
  if (process.env.MAVEN_PROJECT_VERSION) {
    assert.equal(version, process.env.MAVEN_PROJECT_VERSION, 'pom.xml read as Maven reads it');
  }
  return version;
}

/** The project's address: the parent pom's <url>. */
function projectUrl() {
  const url = /<\/description>\s*(?:<!--[\s\S]*?-->\s*)?<url>([^<]+)<\/url>/.exec(read('../pom.xml'))?.[1];
  assert.ok(url, 'the parent pom.xml has a project <url> after its <description>');
  return url;
}

describe('the npm package', () => {
  test('its version is the Maven version, unchanged (0.1.0-SNAPSHOT while Maven builds 0.1.0-SNAPSHOT)', () => {
    assert.equal(pkg.version, mavenVersion(),
      'package.json "version" must equal the Maven project version: change both together (see README, Versions)');
    const lock = JSON.parse(read('package-lock.json'));
    assert.equal(lock.version, pkg.version, 'package-lock.json version');
    assert.equal(lock.packages[''].version, pkg.version, 'package-lock.json packages[""].version');
    // a valid semver: npm refuses anything else (a SNAPSHOT is a prerelease, published only with --tag)
    assert.match(pkg.version, /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  });

  test('its repository, homepage and bugs point at the project the parent pom names', () => {
    const url = projectUrl();
    assert.deepEqual(pkg.repository, { type: 'git', url: `git+${url}.git`, directory: 'distlock-js' });
    assert.equal(pkg.homepage, `${url}/tree/main/distlock-js#readme`);
    assert.deepEqual(pkg.bugs, { url: `${url}/issues` });
    assert.equal(pkg.license, 'Apache-2.0');
    assert.deepEqual(pkg.publishConfig, { access: 'public' }, 'a scoped package is private unless published public');
    assert.equal(pkg.sideEffects, false);
    assert.equal(pkg.type, 'module');
  });

  test('every export and its types exist, and the tarball holds them', () => {
    const targets = [pkg.main, pkg.types];
    for (const [key, value] of Object.entries(pkg.exports)) {
      if (typeof value === 'string') {
        targets.push(value);
      } else {
        assert.deepEqual(Object.keys(value), ['types', 'default'], `exports["${key}"]: "types" first, as TypeScript requires`);
        targets.push(value.types, value.default);
      }
    }
    for (const target of targets) {
      assert.ok(target.startsWith('./'), `${target} is relative to the package`);
      assert.ok(existsSync(new URL(target, root)), `${target} exists`);
      assert.ok(EXPECTED_FILES.includes(target.slice(2)), `${target} is in the tarball`);
    }
  });

  test('the README has no relative links (they break on the registry page)', () => {
    const links = [...read('README.md').matchAll(/\]\(([^)\s]+)/g)].map((m) => m[1]);
    assert.ok(links.length > 0);
    const relative = links.filter((link) => !/^(https?:|#|mailto:)/.test(link));
    assert.deepEqual(relative, [], 'use absolute URLs (or #anchors) in README.md');
  });

  test('the LICENSE is the Apache License 2.0, the same as the repository\'s', () => {
    const license = read('LICENSE');
    assert.match(license, /Apache License\s+Version 2\.0, January 2004/);
    assert.match(license, /END OF TERMS AND CONDITIONS/);
    assert.equal(license, read('../LICENSE'));
  });

  test('npm pack --dry-run: the tarball holds exactly the expected files', async () => {
    // --ignore-scripts: nothing runs but the listing (prepublishOnly runs this test itself)
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root, maxBuffer: 16 * 1024 * 1024, timeout: 60_000,
    });
    const [tarball] = JSON.parse(stdout);
    assert.equal(tarball.name, '@distlock/client');
    assert.equal(tarball.version, pkg.version);
    assert.deepEqual(tarball.files.map((file) => file.path).sort(), EXPECTED_FILES);
    const size = Object.fromEntries(tarball.files.map((file) => [file.path, file.size]));
    for (const path of EXPECTED_FILES.filter((file) => file !== 'package.json')) {
      assert.equal(size[path], readFileSync(new URL(path, root)).length, `${path} is packed whole`);
    }
  });
});
