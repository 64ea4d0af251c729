/**
 * Small pieces for waiting that can be interrupted: RETRY watchers, queue watchers (version
 * 2), and the cancellation state of one request() (its AbortSignal, its timeout).
 */

/** Wake-up functions of request() calls waiting for a `RETRY` push, by lock name. */
export class RetryWatchers {
  #watchers = new Map();

  /**
   * Starts watching for a RETRY for `name`. `promise` resolves when one arrives or the
   * waiting is moot (connection gone, session closed: see {@link RetryWatchers#wakeAll});
   * `dispose()` stops watching.
   */
  watch(name) {
    let wake;
    const promise = new Promise((resolve) => { wake = resolve; });
    return { promise, dispose: join(this.#watchers, name, wake) };
  }

  wake(name) {
    for (const wake of this.#watchers.get(name) ?? []) wake();
  }

  wakeAll() {
    for (const watchers of this.#watchers.values()) {
      for (const wake of watchers) wake();
    }
  }
}

/**
 * What happens to a request() waiting in a lock's queue (version 2), by lock name: the
 * `GRANTED` and `CANCELLED` pushes, and the end of the session. Events are kept until read,
 * so one that arrives right behind the `QUEUED` reply (before the waiter's continuation
 * runs) or while the waiter is busy is not missed.
 *
 * Events: `{kind: 'granted', detail}`, `{kind: 'cancelled', reason, push}`, `{kind: 'closed'}`.
 */
export class QueueWatchers {
  #watchers = new Map();

  /**
   * Starts watching `name`: `ready()` resolves when an event is there, `take()` removes and
   * returns the oldest (or undefined), `drain()` all of them; `dispose()` stops watching.
   */
  watch(name) {
    const events = [];
    let wake = null;
    const watcher = {
      push: (event) => {
        events.push(event);
        wake?.();
        wake = null;
      },
    };
    return {
      ready: () => (events.length > 0 ? Promise.resolve() : new Promise((resolve) => { wake = resolve; })),
      take: () => events.shift(),
      drain: () => events.splice(0),
      dispose: join(this.#watchers, name, watcher),
    };
  }

  /** Tells the watchers of `name`. */
  deliver(name, event) {
    for (const watcher of this.#watchers.get(name) ?? []) watcher.push(event);
  }

  deliverAll(event) {
    for (const watchers of this.#watchers.values()) {
      for (const watcher of watchers) watcher.push(event);
    }
  }
}

/**
 * Adds `member` to the set that `map` keeps for `name`; returns the function that takes it out
 * again (and the set, once empty and still the map's).
 */
function join(map, name, member) {
  let members = map.get(name);
  if (members === undefined) {
    members = new Set();
    map.set(name, members);
  }
  members.add(member);
  return () => {
    members.delete(member);
    if (members.size === 0 && map.get(name) === members) {
      map.delete(name);
    }
  };
}

export function abortReason(signal) {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * The cancellation state of one request(): abort sets it and interrupts the current wait.
 *
 * Its timeout (`expire`) does the same, except while the request waits in a version 2
 * server's queue (`onServer`): the server got the time that was left and will push
 * `CANCELLED` itself. Should the request leave the server's queue without an answer (a
 * dropped connection), `leaveServer()` applies an expiry that came meanwhile.
 */
export function newAttempt() {
  const attempt = {
    cancelled: false,
    reason: undefined,
    interrupt: null,
    onServer: false,
    expired: undefined,
    cancel: (reason) => {
      if (attempt.cancelled) return;
      attempt.cancelled = true;
      attempt.reason = reason;
      attempt.interrupt?.();
    },
    expire: (reason) => {
      attempt.expired = reason;
      if (!attempt.onServer) attempt.cancel(reason);
    },
    leaveServer: () => {
      attempt.onServer = false;
      if (attempt.expired !== undefined) attempt.cancel(attempt.expired);
    },
  };
  return attempt;
}

/** Waits for `promise`, or until the attempt is cancelled (then resolves; the caller checks). */
export function interruptible(attempt, promise) {
  return new Promise((resolve, reject) => {
    if (attempt.cancelled) {
      resolve(); // cancelled while a reply was in flight, before this wait began
      return;
    }
    attempt.interrupt = resolve;
    promise.then(resolve, reject);
  }).finally(() => {
    attempt.interrupt = null;
  });
}

/** Like `promise`, but rejects with the signal's reason as soon as it aborts (calling `onAbort`). */
export function untilAborted(promise, signal, onAbort) {
  if (signal === undefined || signal === null) return promise;
  return new Promise((resolve, reject) => {
    const abort = () => {
      const reason = abortReason(signal);
      onAbort(reason);
      reject(reason);
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
