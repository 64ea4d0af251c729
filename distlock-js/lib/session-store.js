/** How long a page waits for the previous holder of a stored session to let go of it. */
const CLAIM_WAIT_MS = 1000;

/**
 * Optional survival of a page reload: the session's id and resume secret, kept in
 * `sessionStorage` (or a Storage-like object) under the session name, so that a reloaded
 * page resumes the session (and keeps its locks) within its grace period.
 *
 * Off by default, because any script of the page's origin can read `sessionStorage`: with
 * the id and the secret it can resume the session from anywhere and take over its locks.
 *
 * The page whose session an entry names holds a Web Lock named after the session until the
 * session ends or the page unloads. `window.open()` and "Duplicate tab" copy `sessionStorage`:
 * a copy finds that lock held, so `load` answers null (a new session) instead of resuming the
 * session from under the page that has it. A reloaded page finds it free (the old page let go
 * as it unloaded); `load` waits for it up to CLAIM_WAIT_MS. Without `navigator.locks`, no claim.
 *
 * @param {boolean | {getItem(key: string): string | null, setItem(key: string, value: string): void, removeItem(key: string): void}} option
 * @returns {{load(name: string): Promise<{session: string, resume: string, grace: number} | null>, save(name: string, entry: object): void, remove(name: string): void} | null}
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
  const locks = globalThis.navigator?.locks;
  const claims = new Map(); // session name -> {session, release}: this page's hold on a stored session
  // Holds the session's Web Lock until unclaim(name); resolves with true once granted.
  const claim = (name, session) => {
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    claims.set(name, { session, release });
    return new Promise((granted) => locks.request(key(session), () => { granted(true); return held; }));
  };
  const unclaim = (name) => {
    claims.get(name)?.release(); // a request still waiting lets go as soon as it is granted
    claims.delete(name);
  };
  return {
    async load(name) {
      const entry = quietly(() => JSON.parse(storage.getItem(key(name))));
      if (typeof entry?.session !== 'string' || typeof entry.resume !== 'string') return null;
      // This page's own claim (a second connect() while the first is loading) is no copy's.
      if (locks === undefined || claims.get(name)?.session === entry.session) return entry;
      const gaveUp = new Promise((resolve) => { setTimeout(resolve, CLAIM_WAIT_MS, false); });
      if (await Promise.race([claim(name, entry.session), gaveUp])) return entry;
      unclaim(name);
      return null; // another page has the session
    },
    save(name, entry) {
      quietly(() => storage.setItem(key(name), JSON.stringify(entry)));
      if (locks !== undefined && claims.get(name)?.session !== entry.session) {
        unclaim(name);
        claim(name, entry.session);
      }
    },
    remove(name) {
      quietly(() => storage.removeItem(key(name)));
      unclaim(name);
    },
  };
}
