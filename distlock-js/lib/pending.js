import { Action, ClientCode, encodeRequest } from './protocol.js';
import { DistLockError } from './errors.js';

/**
 * Request matching: the requests sent on the current connection and not answered yet, by
 * id, in send order.
 *
 * The protocol answers every request exactly once, in request order, echoing its `id`;
 * pushes carry no id. A reply is matched by id only (never by arrival order), so a frame
 * with an unknown id, or none, matches nothing and is left to the caller.
 *
 * An entry stays here after its call timed out (marked `expired`) so that a late reply still
 * updates what the client knows the session holds. Entries end when their reply arrives
 * ({@link PendingRequests#take}) or the connection closes ({@link PendingRequests#rejectAll}).
 */
export class PendingRequests {
  /**
   * Ids count up from a random start (an integer, as the protocol allows, below 2^53 for
   * good), not from 1: a page reloaded with a stored session resumes it, and the `GRANTED` of
   * a place the old page queued names the old page's request id, which must not be one of
   * this page's.
   */
  #nextId = 1 + Math.floor(Math.random() * 2 ** 52);
  /** id to entry, in send order (a Map keeps insertion order). */
  #entries = new Map();
  #timeoutMs;

  /** @param {number} timeoutMs how long a call waits for its reply before it rejects with `TIMEOUT` */
  constructor(timeoutMs) {
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Sends one request through `transmit` and returns the promise of its reply.
   *
   * @param {string} action
   * @param {object} fields `param` or `params`
   * @param {{names?: string[], sessionName?: string, reconnected?: boolean}} meta what the reply will need
   * @param {(frame: string) => void} transmit writes the frame to the socket; may throw
   */
  send(action, fields, meta, transmit) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const entry = { id, action, names: meta.names ?? [], meta, resolve, reject, expired: false, timer: null };
      entry.timer = setTimeout(() => {
        entry.expired = true;
        reject(new DistLockError(ClientCode.TIMEOUT, `no reply to ${action} within ${this.#timeoutMs} ms; it may still take effect`));
      }, this.#timeoutMs);
      this.#entries.set(id, entry);
      try {
        transmit(encodeRequest(action, fields, id));
      } catch (error) {
        clearTimeout(entry.timer);
        this.#entries.delete(id);
        reject(new DistLockError(ClientCode.DISCONNECTED, `cannot send ${action}: ${error?.message ?? error}`, { cause: error }));
      }
    });
  }

  /** The id the next request will have: replies to it and later ones come after anything sent before it. */
  get nextId() {
    return this.#nextId;
  }

  /** Removes and returns the entry a reply with this `id` answers, or undefined if none does. */
  take(id) {
    const entry = id === undefined ? undefined : this.#entries.get(id);
    if (entry === undefined) return undefined;
    this.#entries.delete(entry.id);
    clearTimeout(entry.timer);
    return entry;
  }

  /** The connection closed: rejects every pending call with the error `errorFor(entry)` makes. */
  rejectAll(errorFor) {
    const entries = [...this.#entries.values()];
    this.#entries.clear(); // first: what a rejection runs (an `after` of locking()) sees none out
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.reject(errorFor(entry));
    }
  }

  /**
   * Whether a `lock` or `mlock` for `name` is out, its caller still waiting for the reply; with
   * `after`, that one is also called with its call's result when its reply comes (or with
   * nothing when the connection closes first).
   */
  locking(name, after) {
    for (const entry of this.#entries.values()) {
      if (!entry.expired && (entry.action === Action.LOCK || entry.action === Action.MLOCK) && entry.names.includes(name)) {
        if (after) {
          const { resolve, reject } = entry;
          entry.resolve = (result) => { resolve(result); after(result); };
          entry.reject = (error) => { reject(error); after(); };
        }
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a request sent after `entry` (so, replies being in order, still pending now)
   * names one of its locks: then someone asked again and counts on the grant.
   */
  hasLaterRequestFor(entry) {
    for (const other of this.#entries.values()) {
      if (other.id > entry.id && other.names.some((name) => entry.names.includes(name))) return true;
    }
    return false;
  }
}
