/**
 * Small pieces for waiting that can be interrupted: RETRY watchers, and the cancellation
 * state of one request() (its AbortSignal).
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
    let watchers = this.#watchers.get(name);
    if (watchers === undefined) {
      watchers = new Set();
      this.#watchers.set(name, watchers);
    }
    watchers.add(wake);
    const dispose = () => {
      watchers.delete(wake);
      if (watchers.size === 0 && this.#watchers.get(name) === watchers) {
        this.#watchers.delete(name);
      }
    };
    return { promise, dispose };
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

export function abortReason(signal) {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/** The cancellation state of one request(): abort sets it and interrupts the current wait. */
export function newAttempt() {
  const attempt = {
    cancelled: false,
    reason: undefined,
    interrupt: null,
    cancel: (reason) => {
      attempt.cancelled = true;
      attempt.reason = reason;
      attempt.interrupt?.();
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
