// The package's entry: the public API is these two classes, nothing else. The module's
// documentation is the banner of the bundle (scripts/build.mjs), since a bundler drops
// comments on re-exports.
export { DistLockClient } from './client.js';
export { DistLockError } from './errors.js';
