// useLock(name): a React hook that holds the distlock lock `name` while the component is
// mounted. Copy this file; it needs React 18 or later and a DistLockClient from @distlock/client
// (or /distlock/distlock.js), provided once:
//
//   <DistLockContext.Provider value={client}>...</DistLockContext.Provider>
//
// The lock is asked for with client.request() when the component mounts: it waits in the
// server's queue ('queued', with `holder`: who has it, when the server says), then holds ('held', with the grant's fencing token) until the
// component unmounts (or `name` changes), and is released then. A lock lost while held (the
// session ended, the server gave it up) shows as 'lost' and is not asked for again: remount
// (e.g. change the component's key) to queue anew. Unmounting while queued leaves the queue.
import { createContext, useContext, useEffect, useState } from 'react';

export const DistLockContext = createContext(null);

/**
 * @param {string} name the lock
 * @param {{mode?: 'exclusive' | 'shared'}} [options]
 * @returns {{status: 'queued' | 'held' | 'lost' | 'error', token: number | null, holder: string | null, error: Error | null}}
 */
export function useLock(name, { mode = 'exclusive' } = {}) {
  const client = useContext(DistLockContext);
  // Kept with the lock and mode it is about: when `name` changes, the render before the effect
  // runs must not show the previous lock as held (nor its token).
  const [state, setState] = useState({ name, mode, status: 'queued', token: null, holder: null, error: null });
  useEffect(() => {
    if (client === null) throw new Error('useLock: no DistLockContext.Provider with a DistLockClient above');
    const unmounted = new AbortController();
    const show = (status, token = null, error = null, holder = null) => {
      if (!unmounted.signal.aborted) setState({ name, mode, status, token, holder, error });
    };
    show('queued');
    const onQueued = ({ holder }) => show('queued', null, null, holder ?? null);
    client.request(name, { mode, signal: unmounted.signal, onQueued }, (lock) => {
      if (unmounted.signal.aborted) return undefined; // unmounted just as it was granted: release at once
      show('held', lock.token);
      // The lock is held until this promise settles: on unmount, or when the lock is lost.
      return new Promise((release) => {
        unmounted.signal.addEventListener('abort', release, { once: true });
        lock.signal.addEventListener('abort', release, { once: true });
      });
    }).catch((error) => show(error.code === 'LOST' ? 'lost' : 'error', null, error));
    return () => unmounted.abort(); // queued: leaves the queue; held: releases the lock
  }, [client, name, mode]);
  const { status, token, holder, error } = state.name === name && state.mode === mode
    ? state : { status: 'queued', token: null, holder: null, error: null };
  return { status, token, holder, error };
}
