/**
 * Queued requests nobody waits for any more (version 2): a request() aborted while queued, a
 * queued lock() whose reply came after its call timed out. A `GRANTED` for one of them must
 * be unlocked when it comes, unless the lock is wanted again by then (`keep()`).
 *
 * Marks are by the `id` of the `lock` request that queued, which `GRANTED` names in
 * `request`. A mark ends with its grant ({@link UnwantedGrants#take}), a `CANCELLED` for its
 * place, the end of the session, or its place known gone otherwise (a `cancel` answered `OK`,
 * even after its call timed out; a resume OK that no longer lists it) ({@link UnwantedGrants#settle}),
 * or `forget()`.
 */
export class UnwantedGrants {
  /** request id to `{name, keep, settle}`. */
  #marks = new Map();

  /**
   * Marks the queued request `requestId` for `name` as unwanted.
   *
   * @param {number | undefined} requestId the `id` of the `lock` request that queued;
   *   undefined when it is not known (a place a resumed session listed that nobody asked for
   *   in it): then the mark is met by the lock name alone
   * @param {string} name the lock name
   * @param {(again: () => void) => boolean} keep asked when the grant comes: true if the lock is
   *   wanted again; `again()` asks again (and unlocks the grant if it is not wanted by then)
   * @returns {{settled: Promise<void>, forget: () => void}} `settled` resolves when the mark
   *   ends, however it ends; `forget()` ends it
   */
  mark(requestId, name, keep) {
    let settle;
    const settled = new Promise((resolve) => { settle = resolve; });
    requestId ??= Symbol(name);
    this.#marks.set(requestId, { name, keep, settle });
    const forget = () => {
      if (this.#marks.get(requestId)?.settle === settle) this.#marks.delete(requestId);
      settle();
    };
    return { settled, forget };
  }

  /**
   * Removes and returns the mark a `GRANTED` push meets: by its `request` (a mark of the same
   * lock: an id of another lock's mark is a request of another page, see PendingRequests),
   * or by lock name when the server left `request` out. Undefined if the grant is wanted.
   * A mark made without a request id never meets the grant of `live`, the request this page
   * knows queues for the lock now: that place is not the unknown one the mark was made for.
   *
   * @returns {{name: string, keep: () => boolean, settle: () => void} | undefined}
   */
  take(requestId, name, live) {
    const id = requestId !== undefined && this.#marks.get(requestId)?.name === name
      ? requestId
      : requestId === undefined || requestId !== live ? this.#idFor(name, requestId === undefined) : undefined;
    const mark = this.#marks.get(id);
    if (mark !== undefined) this.#marks.delete(id);
    return mark;
  }

  /**
   * Ends the marks for `name` (every mark without a name); with `requestId` (the place that
   * ended), only its mark and those made without a request id. True if there was one.
   */
  settle(name, requestId) {
    let found = false;
    for (const [id, mark] of this.#marks) {
      if (name === undefined || (mark.name === name && (requestId === undefined || id === requestId || typeof id === 'symbol'))) {
        this.#marks.delete(id);
        mark.settle();
        found = true;
      }
    }
    return found;
  }

  /** A mark for `name`: any (`any`), or only one made without a request id. */
  #idFor(name, any) {
    for (const [id, mark] of this.#marks) {
      if (mark.name === name && (any || typeof id === 'symbol')) return id;
    }
    return undefined;
  }
}
