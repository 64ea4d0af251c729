import { MAX_QUERY_NAMES, isNameList } from './protocol.js';

/**
 * The most bytes of JSON a renewal puts in one frame's `params`: the server closes a frame
 * over its limit (8 KiB by default) with 1009, so well under it, with room for the rest.
 */
const MAX_PARAMS_BYTES = 7000;

/**
 * The watches of one client (version 2): who wants to hear about which locks, and what the
 * server must be told about it.
 *
 * The server keeps one set of watched names and prefixes per connection, so several watches
 * of this client for the same name share one server-side watch: `unwatch` goes out for a
 * name (or a prefix) only when no other watch of this client needs it, counting watches whose
 * `watch` is still in flight (an `unwatch` sent then would undo theirs).
 *
 * A watch is `{names}` or `{prefix}`, with its `callback`; `live` once its `OK` came (only
 * live watches are called back, so the first call is always the `OK`'s state).
 */
export class Watches {
  #all = new Set();
  /**
   * Locks last seen held or queued for. Those under a prefix (and not watched by name) are
   * queried after a reconnect, since a prefix `watch` answers with no state: a holder that
   * left meanwhile is not shown for ever. (A free lock needs no refresh; one taken while
   * disconnected shows at its next change.)
   */
  #busy = new Set();
  /**
   * Of those, the ones queried after a reconnect and not answered yet: a `CHANGED` that comes
   * before the answer is newer than it (the answer is dropped for that lock).
   */
  #refreshing = new Set();
  #reportError;

  /** @param {(error: unknown) => void} reportError what a callback throws goes here */
  constructor(reportError) {
    this.#reportError = reportError;
  }

  /** Adds a watch (not live yet) for a name, names, or `{prefix}`; throws TypeError for anything else. */
  add(target, callback) {
    const names = typeof target === 'string' ? [target] : target;
    const watch = typeof target?.prefix === 'string' ? { prefix: target.prefix, callback }
      : { names: isNameList(names) && names.length > 0 && [...names], callback };
    if (!watch.names && !watch.prefix || typeof callback !== 'function') {
      throw new TypeError('watch(target, callback): target is a lock name, names or {prefix}; callback a function');
    }
    this.#all.add(watch);
    return watch;
  }

  /**
   * Removes a watch. Returns the fields of the `unwatch` the server needs (the names, or the
   * prefix, that no other watch needs), or null when there is nothing to send.
   */
  remove(watch) {
    return this.#all.delete(watch) ? this.#unneeded(watch) : null;
  }

  /** The fields of an `unwatch` of what `watch` (not in the list) asked for and no watch in it needs, or null. */
  #unneeded(watch) {
    const others = [...this.#all];
    if (watch.prefix !== undefined) {
      return others.some((other) => other.prefix === watch.prefix) ? null : { prefix: watch.prefix };
    }
    const names = watch.names.filter((name) => !others.some((other) => other.names?.includes(name)));
    return names.length > 0 ? { params: names } : null;
  }

  /**
   * A `watch` `OK` with its `state` (lock name to `{holders, queue}`): told to `watch`, which
   * is live from now on. Without `watch` (a renewal's `watch`), to every watch. Returns the
   * fields of the `unwatch` to send, or null: a watch whose call gave up (`TIMEOUT`) was removed,
   * but the server, which answered late, watches it now.
   */
  opened(watch, state) {
    if (watch !== undefined && !this.#all.has(watch)) return this.#unneeded(watch);
    if (watch !== undefined) watch.live = true;
    for (const [lock, lockState] of Object.entries(state ?? {})) this.changed(lock, lockState, watch);
    return null;
  }

  /**
   * One lock's new state (a `CHANGED` push): every live watch of it is called, in the order
   * they were made; with `only`, just that one (its own `OK`).
   */
  changed(lock, state, only) {
    if (only === undefined) this.#refreshing.delete(lock); // told to all: no refresh needed
    if (state?.holders?.length || state?.queue?.length) this.#busy.add(lock);
    else this.#busy.delete(lock);
    for (const watch of this.#all) {
      if (!watch.live || (only !== undefined && only !== watch) || !matches(watch, lock)) continue;
      try {
        watch.callback(lock, state);
      } catch (error) {
        this.#reportError(error); // one callback's failure must not keep the others from hearing
      }
    }
  }

  /** A `query` answer for the locks {@link Watches#renewal} called stale. */
  refreshed(state) {
    for (const [lock, lockState] of Object.entries(state ?? {})) { // an OK without `state`, as in opened()
      if (this.#refreshing.has(lock)) this.changed(lock, lockState);
    }
  }

  /** Whether there is any watch (to renew on a new connection). */
  get size() {
    return this.#all.size;
  }

  /**
   * What to send on a new connection (the server forgot the old one's watches): every
   * watched name, every prefix, and the busy locks under a prefix to query. The names come
   * in lists, one frame each, that stay under the server's frame limit (and, to query, at
   * most {@link MAX_QUERY_NAMES} long): one watch() at a time fitted, all of them may not.
   */
  renewal() {
    const all = [...this.#all];
    const names = new Set(all.flatMap((watch) => watch.names ?? []));
    const prefixes = new Set(all.map((watch) => watch.prefix).filter(Boolean));
    const stale = [...this.#busy].filter((lock) => !names.has(lock) && [...prefixes].some((prefix) => lock.startsWith(prefix)));
    this.#refreshing = new Set(stale);
    return { names: inFrames(names), prefixes: [...prefixes], stale: inFrames(stale, MAX_QUERY_NAMES) };
  }
}

/**
 * `names` cut into lists of at most `max` names and {@link MAX_PARAMS_BYTES} of JSON (in
 * UTF-8, as the server counts). A name is never cut.
 *
 * @param {Iterable<string>} names
 * @param {number} [max] no limit if absent
 * @returns {string[][]}
 */
function inFrames(names, max) {
  const lists = [];
  let bytes = Infinity;
  for (const name of names) {
    const size = new TextEncoder().encode(JSON.stringify(name)).length + 1; // and a comma
    if (bytes + size > MAX_PARAMS_BYTES || lists.at(-1).length >= max) {
      lists.push([]);
      bytes = 0;
    }
    lists.at(-1).push(name);
    bytes += size;
  }
  return lists;
}

/** The fields of a `watch` or `unwatch` request for one watch. */
export function watchFields(watch) {
  return watch.prefix === undefined ? { params: watch.names } : { prefix: watch.prefix };
}

function matches(watch, lock) {
  return watch.prefix === undefined ? watch.names.includes(lock) : lock.startsWith(watch.prefix);
}
