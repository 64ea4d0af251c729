import { ClientCode, FailCode, LostReason, Mode, Status, requireString } from './protocol.js';
import { DistLockError, cancelledError, isConnectionLoss, noSession } from './errors.js';
import { checkMode, checkTimeout } from './lock-options.js';
import { LockQueues } from './lock-queue.js';
import { QueueWatchers, RetryWatchers, abortReason, interruptible, newAttempt, untilAborted } from './waiting.js';

/** An attempt's answer meaning "ask again": the session it asked in is gone, or a RETRY came. */
const AGAIN = Symbol('again');
/** How an unlock after a callback ended: released by it, not held (any more), or refused `NOT_OWNER`. */
const UNLOCKED = 1;
const GONE = 2;
const REFUSED = 3;

/**
 * `request()`: wait for a lock, run a callback while holding it, release it; in the spirit
 * of the Web Locks API. Built on the client's calls and what it knows of the session, which
 * it reaches through `host`:
 *
 * - `lock(name, [options])`, `unlock(name)`, `cancel(name)`: the client's calls;
 * - `version()`: the open session's protocol version (1 or 2), or undefined;
 * - `unwantedGrant(requestId, name, keep)`: have a `GRANTED` for that queued request
 *   unlocked when it comes (unless `keep()`); returns `{settled, forget}`;
 * - `requestTimeoutMs`: how long the client waits for a reply;
 * - `heldToken(name)`: the token this session holds `name` under, or undefined (also while
 *   the client unlocks a grant nobody wants);
 * - `unlockOut(name)`: while the client unlocks such a grant of `name`, the promise of that
 *   unlock's end (it never rejects), else undefined;
 * - `locking(name)`: a `lock` or `mlock` for `name` is out (the application's, when no
 *   request() has asked for it);
 * - `queued(name)`: the session queues for `name`, as the server last told it;
 * - `forget(name)`: take `name` out of what the session holds (an unlock of a grant nobody
 *   wants was cut by a drop: the resume, which lists it, unlocks it again);
 * - `lostSoon(name)`: `name` is no longer held, and its `lost` event is still to come (a
 *   resumed session no longer has it, and the pushes it missed are not all in);
 * - `hasSession()`: a session is open on an open socket;
 * - `sessionExpected()`: a session is on its way (a connect() or a reconnect), or may be
 *   (the socket is closing: its close event will tell);
 * - `suspended()`: the session is suspended, or may be about to be (the socket is closing);
 * - `closes()`: how many connections were lost so far;
 * - `reportError(error)`: an `error` event.
 *
 * The client tells it about `RETRY`, `GRANTED` and `CANCELLED` pushes ({@link LockRequests#retry},
 * {@link LockRequests#granted}, {@link LockRequests#cancelled}), and whenever the session may
 * have come or gone ({@link LockRequests#wakeAll}, {@link LockRequests#sessionChanged}).
 *
 * How one request() waits depends on the session it asks in: on a version 2 server in the
 * lock's queue (`lock` with `wait: true`, then `QUEUED` and the `GRANTED` push), on a version
 * 1 server with `WAIT` and `RETRY`. It decides per session, so a reconnect to a server of
 * another version is fine.
 */
export class LockRequests {
  #host;
  #queues = new LockQueues();
  #retryWatchers = new RetryWatchers();
  #queueWatchers = new QueueWatchers();
  /** request() calls waiting for a session (during connect() or a reconnect). */
  #sessionWaiters = new Set();
  /**
   * The grants whose callbacks run, or whose unlock after the callback waits for a resume:
   * lock name to `{token, controller}` (`lock.signal` is the controller's).
   */
  #running = new Map();
  /** The waits of unlocks after a callback (for a resume, a retry, a `lost`): the session's end interrupts them. */
  #releases = new Set();
  /**
   * Lock name to the detail of the last `lost` event for it while a request() had asked for
   * it and ran no callback: a `LOST` (or the session's end) right behind the `LOCKED` reply,
   * before request() got the token. Read and dropped by that request() (see #lostBeforeCallback).
   */
  #lostBefore = new Map();

  constructor(host) {
    this.#host = host;
  }

  /** A `RETRY` push for `lock`. */
  retry(lock) {
    this.#retryWatchers.wake(lock);
  }

  /** A `GRANTED` push for `lock` that no unwanted mark claimed: for the request() queued for it. */
  granted(lock, detail) {
    this.#queueWatchers.deliver(lock, { kind: 'granted', detail });
  }

  /** A `CANCELLED` push for `lock` that no unwanted mark claimed: the queued request() fails. */
  cancelled(lock, reason, push) {
    this.#queueWatchers.deliver(lock, { kind: 'cancelled', reason, push });
  }

  /**
   * Whether a request() of this client holds `name`, or waits for it and has asked the server:
   * then the session's grant of `name` is its grant. One that has not asked yet asks once the
   * client has sent the unlock of a grant nobody wants (see `ALREADY_HELD` in #acquire).
   */
  wants(name) {
    return this.#queues.head(name)?.asked;
  }

  /**
   * Whether a `lock(name)` of the application would meet a request()'s grant or place: one
   * holds the lock or waits for it (asked or not yet; request()'s own `lock` call is marked
   * as such by the client).
   */
  claims(name) {
    return this.#queues.head(name) !== undefined;
  }

  /** The session closed or the connection is gone: every waiter looks again. */
  wakeAll() {
    this.#retryWatchers.wakeAll();
    this.#queueWatchers.deliverAll({ kind: 'closed' });
    for (const attempt of this.#releases) attempt.interrupt?.();
  }

  /**
   * The connection is lost but the session is kept (its grace period): requests queued on the
   * server keep their places and go on waiting; those waiting for a `RETRY` ask again once
   * the session is back.
   */
  suspended() {
    this.#retryWatchers.wakeAll();
  }

  /** The resumed session no longer queues for these names: their waiters ask again. */
  placesLost(names) {
    for (const name of names) this.#queueWatchers.deliver(name, { kind: 'closed' });
  }

  /**
   * A `lost` event (or, for a lock a resume OK no longer lists, its provisional detail): a
   * callback running with that grant has its `signal` aborted. Without one, a request() that
   * asked for the lock keeps the detail: the grant may be the one its reply is bringing.
   */
  lost(detail) {
    const running = this.#running.get(detail.lock);
    if (running === undefined) {
      if (this.#queues.head(detail.lock)?.asked) this.#lostBefore.set(detail.lock, detail);
      return;
    }
    if (detail.token !== undefined && detail.token !== running.token) return;
    const { pending } = running;
    if (pending === undefined) {
      running.controller.abort(lostError(detail));
      return;
    }
    // Aborted at the resume already: its reason (the same error) now says why.
    running.pending = undefined;
    pending.error.lost = detail;
    pending.error.message = lostMessage(detail);
    pending.told();
  }

  /**
   * A resume OK no longer lists `lock`, held under `token`: a callback running with it has its
   * signal aborted now, with `LOST`. The `lost` event comes when the pushes the session missed
   * are in (with the server's cause if its missed `LOST` is among them); the error, the
   * signal's reason, then gets that detail, and request() waits for it before it rejects.
   */
  goneOnResume(lock, token) {
    const running = this.#running.get(lock);
    if (running === undefined || running.token !== token || running.controller.signal.aborted) return;
    const error = lostError({ lock, token, reason: LostReason.LOST });
    let told;
    running.pending = { error, told: () => told(), promise: new Promise((resolve) => { told = resolve; }) };
    running.controller.abort(error);
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
    requireString(name, 'lock name');
    const { signal, ifAvailable = false, mode = Mode.EXCLUSIVE, steal = false, ask = false, timeout, onQueued } = options;
    // As Web Locks: a string or number is no options object, and not to be ignored; a signal
    // checked now, before the request queues (found out when the wait begins, it would leave
    // its place behind). Duck-typed: an AbortSignal of 2021 has no throwIfAborted() yet.
    if (typeof callback !== 'function' || typeof options !== 'object'
      || (onQueued !== undefined && typeof onQueued !== 'function')
      || (signal != null && typeof signal.addEventListener !== 'function')) {
      throw new TypeError('request(name, [options], callback): callback must be a function, options an object, its signal an AbortSignal');
    }
    checkMode(mode);
    // As Web Locks: steal takes the lock now, so it cannot be combined with what is about
    // waiting (nor with shared mode); ask means "while I wait", so not with ifAvailable.
    if (steal ? ifAvailable || ask || signal || timeout !== undefined || mode === Mode.SHARED : ask && ifAvailable) {
      throw new DOMException('steal cannot be combined with ifAvailable, ask, signal, timeout or mode "shared"; ask not with ifAvailable',
        'NotSupportedError');
    }
    if (timeout !== undefined) checkTimeout(timeout);
    if (signal?.aborted) {
      throw abortReason(signal);
    }
    if (ifAvailable && this.#queues.head(name)) {
      // Held or awaited by another request() of this client: not available, as in Web Locks,
      // which never calls back before request() has returned.
      await null;
      return callback(null);
    }

    const slot = this.#queues.enqueue(name);
    const attempt = newAttempt();
    const waitsFor = ifAvailable ? undefined : timeout;
    const deadline = waitsFor === undefined ? undefined : Date.now() + waitsFor;
    const timer = waitsFor === undefined ? null : setTimeout(() => attempt.expire(cancelledError(name, 'timeout')), waitsFor);
    const acquiring = this.#acquire(name, slot, attempt, { mode, ifAvailable, deadline, onQueued, steal, ask });
    let token;
    try {
      token = await untilAborted(acquiring, signal, attempt.cancel);
    } catch (error) {
      this.#lostBefore.delete(name);
      // Aborted with a token already past the last check: it comes anyway, and nobody will use it.
      acquiring.then((late) => late !== null && this.#releaseAfterCallback(name, late, slot), () => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (token === null) {
      this.#lostBefore.delete(name);
      return callback(null);
    }

    const controller = new AbortController();
    const running = { token, controller };
    this.#running.set(name, running);
    // Registered until the lock is released (or found gone): a `lost` that comes meanwhile
    // (say, right behind the unlock's NOT_OWNER) still aborts the signal.
    let outcome;
    let releaseError;
    try {
      this.#lostBeforeCallback(name, token, controller);
      if (!controller.signal.aborted) {
        try {
          outcome = { value: await callback(Object.freeze({ name, mode, token, signal: controller.signal })) };
        } catch (error) {
          outcome = { error };
        }
      }
      releaseError = await this.#releaseAfterCallback(name, token, slot, running);
      if (running.pending !== undefined) await this.#pause(this.#host.requestTimeoutMs, running.pending.promise);
    } finally {
      if (this.#running.get(name) === running) this.#running.delete(name);
    }
    if (controller.signal.aborted) {
      // Lost while the callback ran (whatever it did, it did without the lock), or before a
      // suspended session could release it.
      throw controller.signal.reason;
    }
    if ('error' in outcome) {
      throw outcome.error; // the callback's failure is what the caller needs to see (an unlock failure is an `error` event)
    }
    if (releaseError !== null) {
      throw releaseError;
    }
    return outcome.value;
  }

  /**
   * The grant request() is about to hand to its callback may be gone already. Frames of one read come in one go (`ws` dispatches them synchronously), so a
   * `LOST` (a steal, a lost lease) or the session's end (close(), a drop without grace) can be
   * applied right behind the `LOCKED` reply, before this request() had registered its
   * callback. Checked synchronously, right before the callback would run: if the session no
   * longer holds `name` under `token`, the callback does not run and request() rejects with
   * `LOST`, as it does for a loss while the callback runs. That is what Web Locks users
   * expect: a callback only ever runs while its lock is held, and a holder whose lock is taken
   * away sees its request() reject; its `lost` event, for this very token, has fired. Asking
   * again instead would queue silently behind whoever stole the lock, against the steal's
   * intent, and hide from the caller a loss the `lost` event reports.
   */
  #lostBeforeCallback(name, token, controller) {
    const last = this.#lostBefore.get(name);
    this.#lostBefore.delete(name);
    if (this.#host.heldToken(name) === token) return;
    controller.abort(lostError(last?.token === token ? last : { lock: name, token, reason: LostReason.LOST }));
  }

  /**
   * Releases the lock after a callback, and the slot with it. Resolves with null once
   * released, or with the error of a first attempt that failed: then the lock is still held,
   * so the slot stays taken (no other request() of this client may be handed the lock) and
   * the unlock is tried again until it is released or no longer this session's. While the
   * session is suspended it waits for the resume (or the expiry) instead; if the lock turns
   * out lost meanwhile, its `lost` event aborts `running`'s signal (request() rejects with it).
   *
   * A lock found not this session's any more (not held, or the unlock answered `NOT_OWNER`)
   * was lost while the callback ran, whatever the callback did: `running`'s signal is aborted
   * with `LOST`. The `lost` event, which says why, may still be on its way (the server may send
   * its `LOST` after the `NOT_OWNER` reply): it is waited for, at most `requestTimeoutMs`.
   */
  async #releaseAfterCallback(name, token, slot, running) {
    let failure;
    try {
      const released = await this.#release(name, token);
      slot.release();
      if (released !== UNLOCKED && running !== undefined) await this.#untilLost(name, token, running.controller);
      return null;
    } catch (error) {
      failure = error;
    }
    const retrying = this.#keepReleasing(name, token, failure).finally(slot.release);
    if (isConnectionLoss(failure)) {
      // The session is suspended: released after the resume, or lost (the resume no longer
      // lists it, or the session expires, or the unlock then is refused). Not listed after the
      // unlock the drop cut, and not lost: the server released it, as asked.
      if (running === undefined) return retrying;
      const released = await retrying;
      if (released === REFUSED || (released === GONE && this.#host.lostSoon(name))) {
        await this.#untilLost(name, token, running.controller);
      }
      return null;
    }
    return failure;
  }

  /**
   * Waits until `controller` is aborted by a `lost` event, at most `requestTimeoutMs` or until
   * the session ends; then aborts it with a `LOST` of its own if nothing did.
   */
  async #untilLost(name, token, controller) {
    const { signal } = controller;
    if (signal.aborted) return;
    await this.#pause(this.#host.requestTimeoutMs, new Promise((resolve) => { signal.addEventListener('abort', resolve); }));
    if (!signal.aborted) controller.abort(lostError({ lock: name, token, reason: LostReason.LOST }));
  }

  /**
   * Resolves after `ms`, when `promise` does, or when the session ends (wakeAll), whichever
   * is first; the timer is cleared then, so it never keeps Node alive after disconnect().
   */
  async #pause(ms, promise) {
    const attempt = newAttempt();
    let timer;
    this.#releases.add(attempt);
    try {
      const timeout = new Promise((resolve) => { timer = setTimeout(resolve, ms); });
      await interruptible(attempt, promise === undefined ? timeout : Promise.race([promise, timeout]));
    } finally {
      clearTimeout(timer);
      this.#releases.delete(attempt);
    }
  }

  /** Resolves with how it ended: UNLOCKED, GONE (no longer this session's) or REFUSED. */
  async #keepReleasing(name, token, failure) {
    for (;;) {
      if (!isConnectionLoss(failure)) {
        this.#host.reportError(failure);
        // Interrupted by the session's end (wakeAll), which takes the lock with it.
        await this.#pause(this.#host.requestTimeoutMs);
      }
      if (this.#host.heldToken(name) !== token) return GONE;
      // Interrupted by the session's end (wakeAll): then the lock went with it.
      const attempt = newAttempt();
      this.#releases.add(attempt);
      try {
        await this.#untilSession(attempt, ClientCode.NOT_CONNECTED);
      } catch {
        return GONE; // no session is coming: the lock went with the last one
      } finally {
        this.#releases.delete(attempt);
      }
      if (this.#host.heldToken(name) !== token) return GONE;
      try {
        return await this.#release(name, token);
      } catch (error) {
        failure = error;
      }
    }
  }

  /**
   * Takes the lock: resolves with the token, or null for `ifAvailable` when the lock is
   * taken. Releases the slot itself unless it resolves with a token (then the caller
   * releases it after the callback).
   */
  async #acquire(name, slot, attempt, how) {
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
        const unlocking = slot.asked ? undefined : this.#host.unlockOut(name);
        if (unlocking !== undefined) {
          await interruptible(attempt, unlocking); // see DistLockClient#releaseUnwanted
          continue;
        }
        if (!slot.asked && (this.#host.heldToken(name) !== undefined || this.#host.locking(name))) {
          // Held by this session through lock() (or asked for, the reply still out): the
          // application's, and request() would release it after the callback. (After a first
          // ask, a held lock is this request's own grant, told by a resume. A grant nobody
          // asked for, say of an aborted request() whose cancel got no reply, is no longer
          // held: the client is unlocking it.)
          if (how.ifAvailable) {
            slot.release();
            return null;
          }
          throw new DistLockError(ClientCode.ALREADY_HELD,
            `"${name}" is held (or asked for) by this session through lock(): unlock() it before request()`);
        }
        slot.asked = true; // from now on the session's grant of this lock is this request's (wants())

        const answer = this.#host.version() >= 2
          ? await this.#askQueue(name, slot, attempt, how)
          : await this.#askAndRetry(name, attempt, how);
        if (answer === AGAIN) continue;
        if (answer === null) slot.release();
        return answer;
      }
    } catch (error) {
      slot.release();
      throw error;
    }
  }

  /**
   * One try on a version 1 session: `lock`, then `LOCKED` (the token), `WAIT` with
   * `ifAvailable` (null), or `WAIT` and sleep until the `RETRY` push, a dropped connection,
   * close(), or abort (AGAIN).
   */
  async #askAndRetry(name, attempt, how) {
    const { mode, ifAvailable, steal, ask } = how;
    if (mode === Mode.SHARED || steal || ask) {
      throw new DOMException('mode "shared", steal and ask need a distlock server that speaks protocol version 2; this one speaks version 1',
        'NotSupportedError');
    }
    // Watch for RETRY before asking: with some WebSocket implementations the push can
    // be delivered right behind the WAIT reply, before our continuation runs.
    const retry = this.#retryWatchers.watch(name);
    try {
      const reply = await this.#ask(name, undefined);
      if (reply === AGAIN) return AGAIN;
      if (reply.status === Status.LOCKED) return await this.#tokenUnlessCancelled(name, attempt, reply.token);
      if (ifAvailable) return null;
      this.#tellQueued(how, reply);
      await interruptible(attempt, retry.promise);
      return AGAIN;
    } finally {
      retry.dispose();
    }
  }

  /**
   * One try on a version 2 session: `lock` with `wait: true` (and the time left of the
   * timeout, and `ask`), then `LOCKED` (the token) or `QUEUED` and wait for the grant in the
   * queue. With `ifAvailable` or `steal`, `lock` without `wait`: `LOCKED` or `WAIT` (null;
   * a steal only while the server recovers from a possible loss of Redis data).
   */
  async #askQueue(name, slot, attempt, how) {
    const { mode, ifAvailable, deadline, steal, ask } = how;
    const options = mode === Mode.SHARED ? { mode } : {};
    if (ifAvailable || steal) {
      if (steal) options.steal = true;
      const reply = await this.#ask(name, options);
      if (reply === AGAIN) return AGAIN;
      return reply.status === Status.LOCKED ? this.#tokenUnlessCancelled(name, attempt, reply.token) : null;
    }
    options.wait = true;
    if (ask) options.ask = true;
    // Watch before asking: the GRANTED can come right behind the QUEUED. A RETRY is watched
    // too, for a WAIT from a lock() that a subclass overrode without passing the options on.
    const queue = this.#queueWatchers.watch(name);
    const retry = this.#retryWatchers.watch(name);
    attempt.onServer = true;
    try {
      const reply = await this.#ask(name, options, deadline, attempt);
      if (reply === AGAIN) return AGAIN;
      if (reply.status === Status.LOCKED) return await this.#tokenUnlessCancelled(name, attempt, reply.token);
      if (reply.status === Status.WAIT) {
        attempt.leaveServer(); // not queued: the server does not know the timeout
        this.#tellQueued(how, reply);
        await interruptible(attempt, retry.promise);
        return AGAIN;
      }
      this.#tellQueued(how, reply);
      return await this.#waitInQueue(name, slot, attempt, queue, reply.request);
    } finally {
      queue.dispose();
      retry.dispose();
      attempt.leaveServer();
    }
  }

  /** The request's `onQueued` option, told that it waits (`QUEUED` or `WAIT`) and for whom; what it throws is an `error` event. */
  #tellQueued({ onQueued }, { position, holder }) {
    try {
      onQueued?.({ position, holder });
    } catch (error) {
      this.#host.reportError(error);
    }
  }

  /**
   * Waits in the queue for `GRANTED` (the token), `CANCELLED` (rejects), or the end of the
   * session (AGAIN: queue again in the next one). Aborted meanwhile: leaves the queue.
   */
  async #waitInQueue(name, slot, attempt, queue, requestId) {
    for (;;) {
      await interruptible(attempt, queue.ready());
      if (attempt.cancelled) return this.#leaveQueue(name, slot, attempt, queue, requestId);
      const event = queue.take();
      if (event.kind === 'granted') {
        // A grant the session no longer has: an earlier request's, granted and lost while
        // detached (wait on); or ours, lost before we took it (ask again).
        if (event.detail.token === this.#host.heldToken(name)) return event.detail.token;
        if (event.detail.request === requestId) return AGAIN;
        continue;
      }
      if (event.kind === 'cancelled') throw cancelledError(name, event.reason, event.push);
      return AGAIN; // 'closed': the session and its place in the queue are gone
    }
  }

  /**
   * Aborted while queued: sends `cancel`, and makes sure that a grant which crossed the abort
   * is unlocked. The slot stays taken until that is settled (or for one request timeout at
   * most after a `NOT_QUEUED`; while suspended, until the resume), so that no other request()
   * of this client asks for the lock meanwhile and is answered with the grant that is about
   * to be released. Always throws the abort's reason.
   */
  async #leaveQueue(name, slot, attempt, queue, requestId) {
    // All in one go, with nothing awaited: what came before is in `queue`, what comes after
    // meets the unwanted mark.
    queue.dispose();
    const events = queue.drain();
    const grant = events.find((event) => event.kind === 'granted');
    if (grant !== undefined) {
      await this.#releaseUnused(name, grant.detail.token);
      throw attempt.reason;
    }
    if (events.length > 0) throw attempt.reason; // cancelled by the server, or the session is gone
    const unwanted = this.#host.unwantedGrant(requestId, name, () => slot.released && this.wants(name));
    for (;;) {
      try {
        await this.#host.cancel(name);
        unwanted.forget(); // out of the queue: no grant will come
      } catch (error) {
        if (error instanceof DistLockError && error.code === FailCode.NOT_QUEUED) {
          // Granted (its GRANTED may still be on the way) or cancelled by the server meanwhile.
          await settledOrAfter(unwanted.settled, this.#host.requestTimeoutMs);
        } else if (!isConnectionLoss(error)) {
          this.#host.reportError(error); // e.g. no reply in time: the mark stays for a late grant
        } else if (!this.#host.suspended()) {
          unwanted.forget(); // the session and its queue place are gone
        } else {
          // The suspended session keeps its place (or gets the grant: the mark has it unlocked)
          // until it is resumed or expires (which settles the mark). Resumed: cancel there if
          // the resume kept the place. One it no longer lists ended (settled), or was granted
          // (the mark has the grant unlocked, and a request() asks after that unlock): a cancel
          // would only be answered NOT_QUEUED.
          await Promise.race([unwanted.settled, this.#untilSession(newAttempt(), ClientCode.NOT_CONNECTED).catch(() => {})]);
          if (this.#host.hasSession() && this.#host.queued(name)) continue;
        }
      }
      throw attempt.reason;
    }
  }

  /**
   * `lock` through the host; AGAIN if the session was lost meanwhile and another is coming.
   * With a `deadline` (a queued request() with a timeout) each `lock` sent carries the time
   * left of it as `timeout`, counted when it is sent; none left: `CANCELLED` (timeout),
   * sending nothing. An `ask` refused as `RATE_LIMITED` (this session asked for the lock less
   * than 10 s ago, e.g. before a reconnect) queues without asking: the holders were asked
   * already, and the caller wants the lock more than a second ask. (That second `lock` once
   * carried the first one's `timeout`, so the server kept the place a round trip past the
   * caller's deadline.) Aborted (`attempt`) while the refused ask was out, it sends nothing more
   * and throws the abort's reason: nothing of this request is out, and a `lock` now would only
   * take a place to `cancel` next.
   */
  async #ask(name, options, deadline, attempt) {
    try {
      return await (options === undefined || Object.keys(options).length === 0
        ? this.#host.lock(name)
        : this.#host.lock(name, timeLeft(name, options, deadline)));
    } catch (error) {
      if (isConnectionLoss(error) && this.#host.sessionExpected()) {
        return AGAIN; // the session is gone and with it our turn in line: ask the next session
      }
      if (error?.code === FailCode.RATE_LIMITED && options?.ask) {
        if (attempt.cancelled) throw attempt.reason;
        delete options.ask;
        return this.#ask(name, options, deadline, attempt);
      }
      throw error;
    }
  }

  /** The token of a grant, unless the request was aborted while it was asked for: then released. */
  async #tokenUnlessCancelled(name, attempt, token) {
    if (attempt.cancelled) {
      // Aborted while the request was in flight: nobody will use this lock.
      await this.#releaseUnused(name, token);
      throw attempt.reason;
    }
    return token;
  }

  /**
   * Unlocks a grant nobody will use. Cut by a drop while the session is suspended (so still
   * held): forgotten, so that the resume, which lists it, unlocks it again.
   */
  #releaseUnused(name, token) {
    return this.#release(name, token).catch((error) => (isConnectionLoss(error) ? this.#host.forget(name) : this.#host.reportError(error)));
  }

  /**
   * Unlocks, unless the lock is no longer this session's under this token (lost, expired,
   * closed, or unlocked by the application): unlocking then would at best fail and at worst
   * release a newer grant. A connection lost meanwhile is a failure only if the lock is still
   * held (the session is suspended). Resolves with UNLOCKED, GONE (not held, or lost with the
   * connection) or REFUSED (`NOT_OWNER`: lost, its `LOST` may follow).
   */
  async #release(name, token) {
    if (this.#host.heldToken(name) !== token) {
      return GONE;
    }
    try {
      await this.#host.unlock(name);
      return UNLOCKED;
    } catch (error) {
      if (error instanceof DistLockError && error.code === FailCode.NOT_OWNER) return REFUSED;
      if (isConnectionLoss(error) && this.#host.heldToken(name) !== token) return GONE;
      throw error;
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

/** The error request() rejects with when its lock was lost: `lost` is the `lost` event's detail. */
function lostError(detail) {
  return new DistLockError(ClientCode.LOST, lostMessage(detail), { lost: detail });
}

function lostMessage(detail) {
  const why = detail.cause === undefined ? detail.reason : `${detail.reason}: ${detail.cause}${detail.by === undefined ? '' : ` by ${detail.by}`}`;
  return `the lock "${detail.lock}" was lost (${why})`;
}

/**
 * Sets `options.timeout` to what is left of `deadline` (ms since the epoch; undefined: no
 * timeout) and returns `options`; throws `CANCELLED` (timeout) when nothing is left, as
 * request()'s own timer does (the server takes no timeout below 1 ms).
 */
function timeLeft(name, options, deadline) {
  if (deadline !== undefined) {
    const left = Math.ceil(deadline - Date.now());
    if (left < 1) throw cancelledError(name, 'timeout');
    options.timeout = left;
  }
  return options;
}

/** Resolves when `promise` does, or after `ms`, whichever is first. */
function settledOrAfter(promise, ms) {
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
