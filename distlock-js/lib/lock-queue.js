/**
 * The local FIFO of request() calls per lock name, Web Locks style.
 *
 * All request() calls of a client share its single session, and the server answers `LOCKED`
 * to a session that already holds the lock, so without this queue two request() callbacks
 * could run at once. The Web Locks API queues the same way within one origin.
 */
export class LockQueues {
  /** Lock name to the slots of the calls for it, first come first served; absent when empty. */
  #queues = new Map();

  /**
   * The first slot for `name`: the request() of this client that holds or asks for it (the
   * others wait for their turn), with `asked` once it asked the server; undefined if none.
   */
  head(name) {
    return this.#queues.get(name)?.[0];
  }

  /**
   * Takes a place in line for `name`. `slot.turn` resolves when it is first; `slot.release()`
   * (idempotent) leaves the line and lets the next one go.
   *
   * @returns {{turn: Promise<void>, release: () => void, released: boolean, asked?: boolean}}
   */
  enqueue(name) {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(name, queue);
    }
    let start;
    const slot = {
      turn: new Promise((resolve) => { start = resolve; }),
      released: false,
      release: () => {
        if (slot.released) return;
        slot.released = true;
        const index = queue.indexOf(slot);
        queue.splice(index, 1);
        if (queue.length === 0) {
          this.#queues.delete(name);
        } else if (index === 0) {
          queue[0].start();
        }
      },
      start: () => start(),
    };
    queue.push(slot);
    if (queue.length === 1) {
      slot.start();
    }
    return slot;
  }
}
