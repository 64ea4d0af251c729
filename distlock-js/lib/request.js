import { ClientCode, FailCode, Status } from './protocol.js';
import { DistLockError, isConnectionLoss, noSession } from './errors.js';
import { LockQueues } from './lock-queue.js';
import { RetryWatchers, abortReason, interruptible, newAttempt, untilAborted } from './waiting.js';

/**
 * `request()`: wait for a lock, run a callback while holding it, release it; in the spirit
 * of the Web Locks API. Built on the client's `lock()`/`unlock()` and what it knows of the
 * session, which it reaches through `host`:
 *
 * - `lock(name)`, `unlock(name)`: the client's calls;
 * - `heldToken(name)`: the token this session holds `name` under, or undefined;
 * - `hasSession()`: a session is open on an open socket;
 * - `sessionExpected()`: a session is on its way (a connect() or a reconnect);
 * - `closes()`: how many connections were lost so far;
 * - `reportError(error)`: an `error` event.
 *
 * The client tells it about `RETRY` pushes ({@link LockRequests#retry}), and whenever the
 * session may have come or gone ({@link LockRequests#wakeAll}, {@link LockRequests#sessionChanged}).
 */
export class LockRequests {
  #host;
  #queues = new LockQueues();
  #retryWatchers = new RetryWatchers();
  /** request() calls waiting for a session (during connect() or a reconnect). */
  #sessionWaiters = new Set();

  constructor(host) {
    this.#host = host;
  }

  /** A `RETRY` push for `lock`. */
  retry(lock) {
    this.#retryWatchers.wake(lock);
  }

  /** The session closed or the connection is gone: every waiter looks again. */
  wakeAll() {
    this.#retryWatchers.wakeAll();
  }

  /** Lets waiters for a session go on (there is one now) or fail (none is coming). */
  sessionChanged() {
    if (this.#host.hasSession()) {
      for (const waiter of this.#sessionWaiters) waiter.resolve();
      this.#sessionWaiters.clear();
    } else if (!this.#host.sessionExpected()) {
      for (const waiter of this.#sessionWaiters) {
        waiter.reject(noSession(waiter.code));
      }
      this.#sessionWaiters.clear();
    }
  }

  /** See `DistLockClient#request`, which validates nothing itself and calls this. */
  async request(name, optionsOrCallback, maybeCallback) {
    const [options, callback] = typeof optionsOrCallback === 'function'
      ? [{}, optionsOrCallback]
      : [optionsOrCallback ?? {}, maybeCallback];
    if (typeof name !== 'string') {
      throw new TypeError(`lock name must be a string, was ${typeof name}`);
    }
    if (typeof callback !== 'function') {
      throw new TypeError('request(name, [options], callback): callback must be a function');
    }
    const { signal, ifAvailable = false, mode = 'exclusive', steal = false } = options;
    if (mode !== 'exclusive') {
      throw new DOMException(`mode "${mode}" is not supported: distlock locks are exclusive`, 'NotSupportedError');
    }
    if (steal) {
      throw new DOMException('steal is not supported: a distlock lock cannot be taken from its holder', 'NotSupportedError');
    }
    if (signal?.aborted) {
      throw abortReason(signal);
    }
    if (ifAvailable && this.#queues.has(name)) {
      // Held or awaited by another request() of this client: not available, as in Web Locks.
      return callback(null);
    }

    const slot = this.#queues.enqueue(name);
    const attempt = newAttempt();
    const token = await untilAborted(this.#acquire(name, slot, attempt, ifAvailable), signal, attempt.cancel);
    if (token === null) {
      return callback(null);
    }

    let outcome;
    try {
      outcome = { value: await callback(Object.freeze({ name, token })) };
    } catch (error) {
      outcome = { error };
    }
    let releaseError = null;
    try {
      await this.#releaseAfterCallback(name, token);
    } catch (error) {
      releaseError = error;
    } finally {
      slot.release();
    }
    if ('error' in outcome) {
      throw outcome.error; // the callback's failure is what the caller needs to see
    }
    if (releaseError !== null) {
      throw releaseError;
    }
    return outcome.value;
  }

  /**
   * Takes the lock: resolves with the token, or null for `ifAvailable` when the lock is
   * taken. Releases the slot itself unless it resolves with a token (then the caller
   * releases it after the callback).
   */
  async #acquire(name, slot, attempt, ifAvailable) {
    // A waiter whose connection dropped (and that no reconnect will serve) was pending when
    // the connection was lost: DISCONNECTED. Otherwise there just is no session: NOT_CONNECTED.
    const closesAtStart = this.#host.closes();
    try {
      await interruptible(attempt, slot.turn);
      for (;;) {
        if (attempt.cancelled) throw attempt.reason;
        await this.#untilSession(attempt,
          this.#host.closes() === closesAtStart ? ClientCode.NOT_CONNECTED : ClientCode.DISCONNECTED);
        if (attempt.cancelled) throw attempt.reason;

        // Watch for RETRY before asking: with some WebSocket implementations the push can
        // be delivered right behind the WAIT reply, before our continuation runs.
        const retry = this.#retryWatchers.watch(name);
        let reply;
        try {
          reply = await this.#host.lock(name);
        } catch (error) {
          retry.dispose();
          if (isConnectionLoss(error) && this.#host.sessionExpected()) {
            continue; // the session is gone and with it our turn in line: ask the next session
          }
          throw error;
        }
        if (reply.status === Status.LOCKED) {
          retry.dispose();
          if (attempt.cancelled) {
            // Aborted while the request was in flight: nobody will use this lock.
            await this.#releaseAfterCallback(name, reply.token).catch((error) => this.#host.reportError(error));
            throw attempt.reason;
          }
          return reply.token;
        }
        if (ifAvailable) {
          retry.dispose();
          slot.release();
          return null;
        }
        // WAIT: sleep until the RETRY push, a dropped connection, close(), or abort.
        await interruptible(attempt, retry.promise);
        retry.dispose();
      }
    } catch (error) {
      slot.release();
      throw error;
    }
  }

  /**
   * Unlocks after a callback, unless the lock is no longer this session's under this token
   * (lost, disconnected, closed, or unlocked by the application): unlocking then would at
   * best fail and at worst release a newer grant.
   */
  async #releaseAfterCallback(name, token) {
    if (this.#host.heldToken(name) !== token) {
      return;
    }
    try {
      await this.#host.unlock(name);
    } catch (error) {
      // These all mean the lock is not held any more, which is what we wanted.
      const gone = [FailCode.NOT_OWNER, ClientCode.DISCONNECTED, ClientCode.NOT_CONNECTED];
      if (!(error instanceof DistLockError) || !gone.includes(error.code)) {
        throw error;
      }
    }
  }

  /**
   * Resolves when there is a session to ask (now, or after a connect() or reconnect in
   * progress); rejects with `code` when none is coming.
   */
  async #untilSession(attempt, code) {
    if (this.#host.hasSession()) return;
    if (!this.#host.sessionExpected()) {
      throw noSession(code);
    }
    let waiter;
    const ready = new Promise((resolve, reject) => {
      waiter = { resolve, reject, code };
      this.#sessionWaiters.add(waiter);
    });
    try {
      await interruptible(attempt, ready);
    } finally {
      this.#sessionWaiters.delete(waiter);
    }
  }
}
