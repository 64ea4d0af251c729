/**
 * Optional survival of a page reload: the session's id and resume secret, kept in
 * `sessionStorage` (or a Storage-like object) under the session name, so that a reloaded
 * page resumes the session (and keeps its locks) within its grace period.
 *
 * Off by default, because any script of the page's origin can read `sessionStorage`: with
 * the id and the secret it can resume the session from anywhere and take over its locks.
 *
 * @param {boolean | {getItem(key: string): string | null, setItem(key: string, value: string): void, removeItem(key: string): void}} option
 * @returns {{load(name: string): {session: string, resume: string, grace: number} | null, save(name: string, entry: object): void, remove(name: string): void} | null}
 */
export function sessionStore(option) {
  if (option === false || option === undefined) return null;
  const storage = option === true ? globalThis.sessionStorage : option;
  if (storage === null || typeof storage?.getItem !== 'function') {
    throw new TypeError('sessionStorage must be true, false, or a Storage-like object (getItem, setItem, removeItem)');
  }
  const key = (name) => `distlock:${name}`;
  // Storage throws when full or disabled (private modes): a session that cannot be stored
  // just does not survive a reload.
  const quietly = (action) => {
    try { return action(); } catch { return null; }
  };
  return {
    load(name) {
      const entry = quietly(() => JSON.parse(storage.getItem(key(name))));
      return typeof entry?.session === 'string' && typeof entry.resume === 'string' ? entry : null;
    },
    save(name, entry) {
      quietly(() => storage.setItem(key(name), JSON.stringify(entry)));
    },
    remove(name) {
      quietly(() => storage.removeItem(key(name)));
    },
  };
}
