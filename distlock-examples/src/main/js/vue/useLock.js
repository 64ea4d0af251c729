// useLock(name): a Vue 3 composable that holds the distlock lock `name` while the component
// is mounted. Copy this file; it needs Vue 3.3 or later and a DistLockClient from
// @distlock/client (or /distlock/distlock.js), provided once:
//
//   app.provide(DistLockKey, client)
//
// The lock is asked for with client.request() in setup(): it waits in the server's queue
// ('queued', with `holder`: who has it, when the server says), then holds ('held', with the grant's fencing token) until the component unmounts
// (or `name`, a ref or getter, changes), and is released then. A lock lost while held (the
// session ended, the server gave it up) shows as 'lost' and is not asked for again: remount
// (e.g. change the component's key) to queue anew. Unmounting while queued leaves the queue.
import { inject, ref, toValue, watchEffect } from 'vue';

export const DistLockKey = Symbol('DistLockClient');

/**
 * @param {string | import('vue').Ref<string> | (() => string)} name the lock
 * @param {{mode?: 'exclusive' | 'shared'}} [options]
 * @returns {{status: Ref<'queued' | 'held' | 'lost' | 'error'>, token: Ref<number | null>, holder: Ref<string | null>, error: Ref<Error | null>}}
 */
export function useLock(name, { mode = 'exclusive' } = {}) {
  const client = inject(DistLockKey, null);
  if (client === null) throw new Error('useLock: no DistLockClient provided (app.provide(DistLockKey, client))');
  const status = ref('queued');
  const token = ref(null);
  const holder = ref(null);
  const error = ref(null);
  // Runs again when `name` changes, and is stopped (its cleanup run) when the component unmounts.
  watchEffect((onCleanup) => {
    const unmounted = new AbortController();
    onCleanup(() => unmounted.abort()); // queued: leaves the queue; held: releases the lock
    const show = (nextStatus, nextToken = null, nextError = null, nextHolder = null) => {
      if (unmounted.signal.aborted) return;
      status.value = nextStatus;
      token.value = nextToken;
      holder.value = nextHolder;
      error.value = nextError;
    };
    show('queued');
    const onQueued = (info) => show('queued', null, null, info.holder ?? null);
    client.request(toValue(name), { mode, signal: unmounted.signal, onQueued }, (lock) => {
      show('held', lock.token);
      // The lock is held until this promise settles: on unmount, or when the lock is lost.
      return new Promise((release) => {
        unmounted.signal.addEventListener('abort', release, { once: true });
        lock.signal.addEventListener('abort', release, { once: true });
      });
    }).catch((failure) => show(failure.code === 'LOST' ? 'lost' : 'error', null, failure));
  });
  return { status, token, holder, error };
}
