// Type test for @distlock/client: `tsc -p test/types/tsconfig.json` must pass. The lines under
// an expect-error directive must fail to compile, so the declarations are checked both ways.
import {
  DistLockClient,
  DistLockError,
  type DistLockErrorCode,
  type DistLockEventMap,
  type CancelReason,
  type HeldLock,
  type LockAllResult,
  type LockEntry,
  type LockMode,
  type LockOptions,
  type LockRequestOptions,
  type LockState,
  type WatchTarget,
  type LockResult,
  type LostCause,
  type LostReason,
  type SessionState,
  type DistLockUrl,
  type ProtocolVersion,
  type QueuedLockResult,
  type SessionInfo,
  type WebSocketConstructor,
} from '@distlock/client';

/** True when A and B are the same type (not merely assignable; `any` does not pass). */
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends (<X>() => X extends B ? 1 : 2) ? true : false;
/** `expectType<T>()(value)` compiles only if value's type is exactly T. */
declare function expectType<T>(): <V>(value: V, ...mismatch: Equal<T, V> extends true ? [] : ['type mismatch']) => void;
/** `expectAssignable<T>(value)` compiles if value's type is assignable to T. */
declare function expectAssignable<T>(value: T): void;

// Construction: the browser's WebSocket fits, and so does any class shaped like it.
const client = new DistLockClient('wss://example.com/distlock/lock', {
  WebSocket,
  requestTimeoutMs: 5000,
  reconnect: { initialDelayMs: 250, maxDelayMs: 10_000 },
});
new DistLockClient(new URL('ws://localhost:8080/distlock/lock'));
new DistLockClient('ws://x/', { reconnect: false });
// Several nodes, or a function for a fresh URL (an auth token) before every socket.
new DistLockClient(['wss://a.example.com/distlock/lock', new URL('wss://b.example.com/distlock/lock')]);
new DistLockClient(async ({ reconnect }) => `wss://example.com/distlock/lock?token=${reconnect ? 'fresh' : 'first'}`);
const url: DistLockUrl = () => 'ws://x/';
new DistLockClient(url, { grace: 30_000, info: { displayName: 'Alice' }, pingIntervalMs: 10_000, sessionStorage: true });
new DistLockClient('ws://x/', { pingIntervalMs: false, sessionStorage: { getItem: () => null, setItem() {}, removeItem() {} } });
// @ts-expect-error grace is a number of ms
new DistLockClient('ws://x/', { grace: true });
// @ts-expect-error a URL function returns a URL
new DistLockClient(() => 42);

class NodeLikeWebSocket {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {}
  close(code?: number, reason?: string): void {}
}
const Ctor: WebSocketConstructor = NodeLikeWebSocket;
new DistLockClient('ws://x/', { WebSocket: Ctor });

// @ts-expect-error reconnect is a boolean or an options object
new DistLockClient('ws://x/', { reconnect: 'always' });
// @ts-expect-error the URL is required
new DistLockClient();

async function lowLevel(): Promise<void> {
  const session = await client.connect('alice');
  expectType<SessionInfo>()(session);
  expectType<string>()(session.session);
  expectType<ProtocolVersion>()(session.version);
  expectType<1 | 2>()(session.version);

  const result = await client.lock('doc-42');
  expectType<LockResult>()(result);
  if (result.status === 'LOCKED') {
    expectType<number>()(result.token);
    // @ts-expect-error no holder on LOCKED
    result.holder;
  } else {
    expectType<'WAIT'>()(result.status);
    expectType<string | undefined>()(result.holder);
  }

  // Version 2: queueing, modes, cancel.
  const queued = await client.lock('doc-42', { wait: true, mode: 'shared', timeout: 5000 });
  expectType<QueuedLockResult>()(queued);
  if (queued.status === 'QUEUED') {
    expectType<number>()(queued.position);
    expectType<number>()(queued.request);
    expectType<string | undefined>()(queued.holder);
  } else {
    expectType<'LOCKED'>()(queued.status);
    expectType<number>()(queued.token);
  }
  expectType<LockResult>()(await client.lock('doc-42', { mode: 'shared' }));
  expectType<LockResult>()(await client.lock('doc-42', { wait: false }));
  const wait: boolean = Math.random() > 0.5;
  const either = await client.lock('doc-42', { wait });
  expectType<LockResult | QueuedLockResult>()(either);
  const options: LockOptions = { wait: true, timeout: 10 };
  void options;
  expectType<void>()(await client.cancel('doc-42'));
  // @ts-expect-error timeout only with wait: true
  await client.lock('doc-42', { timeout: 1000 });
  // @ts-expect-error no such mode
  await client.lock('doc-42', { mode: 'read' });
  expectType<LockAllResult>()(await client.lockAll(['a', 'b'], { mode: 'shared' }));
  // @ts-expect-error lockAll never queues
  await client.lockAll(['a', 'b'], { wait: true });
  // @ts-expect-error nor steals
  await client.lockAll(['a', 'b'], { steal: true });

  // Version 2: take over, or queue and ask.
  expectType<LockResult>()(await client.lock('doc-42', { steal: true }));
  expectType<LockResult>()(await client.lock('doc-42', { steal: true, mode: 'shared' }));
  expectType<QueuedLockResult>()(await client.lock('doc-42', { wait: true, ask: true }));
  // @ts-expect-error steal never waits
  await client.lock('doc-42', { steal: true, wait: true });
  // @ts-expect-error ask only while waiting
  await client.lock('doc-42', { ask: true });

  // Version 2: who holds what, and watching it.
  const states = await client.query(['doc-1', 'doc-2']);
  expectType<Record<string, LockState>>()(states);
  expectType<Record<string, LockState>>()(await client.query('doc-1'));
  const holder = states['doc-1']?.holders[0];
  if (holder !== undefined) {
    expectType<LockEntry>()(holder);
    expectType<string | undefined>()(holder.name);
    expectType<Record<string, unknown> | undefined>()(holder.info);
    expectType<LockMode>()(holder.mode);
    expectType<number>()(holder.since);
  }
  expectType<LockEntry[]>()(states['doc-1']!.queue);
  expectType<number | undefined>()(states['doc-1']!.queueTotal);
  expectType<number | undefined>()(states['doc-1']!.holdersTotal);
  // @ts-expect-error names are strings
  await client.query([1, 2]);
  const unwatch = await client.watch('doc-42', (lock, state) => {
    expectType<string>()(lock);
    expectType<LockState>()(state);
  });
  expectType<() => Promise<void>>()(unwatch);
  await unwatch();
  await client.watch(['doc-1', 'doc-2'] as const, () => {});
  await client.watch({ prefix: 'doc-' }, (lock, { holders, queue }) => console.log(lock, holders.length, queue.length));
  const target: WatchTarget = { prefix: 'doc-' };
  await client.watch(target, () => {});
  // @ts-expect-error a prefix is a string
  await client.watch({ prefix: 1 }, () => {});
  // @ts-expect-error a callback is required
  await client.watch('doc-42');

  const all: LockAllResult = await client.lockAll(['a', 'b'] as const);
  if (all.status === 'LOCKED') {
    expectType<Record<string, number>>()(all.tokens);
  } else {
    expectType<Record<string, string> | undefined>()(all.holders);
  }

  expectType<void>()(await client.unlock('doc-42'));
  expectType<void>()(await client.unlockAll(['a', 'b']));
  expectType<void>()(await client.close());
  expectType<void>()(await client.disconnect());

  // @ts-expect-error lock names are strings
  await client.lock(42);

  expectType<Map<string, number>>()(client.heldLocks);
  expectType<SessionInfo | null>()(client.session);
  expectType<SessionState>()(client.state);
  expectType<'idle' | 'connected' | 'suspended' | 'resumed' | 'expired'>()(client.state);
}

async function highLevel(): Promise<void> {
  const n: number = await client.request('doc-42', async (lock) => {
    expectType<HeldLock>()(lock);
    expectType<LockMode>()(lock.mode);
    expectType<AbortSignal>()(lock.signal);
    await fetch('/save', { method: 'POST', signal: lock.signal });
    return lock.token;
  });
  const reader: string = await client.request('doc-42', { mode: 'shared', timeout: 5000 }, (lock) => lock?.mode ?? 'none');

  const controller = new AbortController();
  const text: string = await client.request('doc-42', { signal: controller.signal }, () => 'sync result');
  const maybe: string | null = await client.request('doc-42', { ifAvailable: true }, (lock) => lock?.name ?? null);
  await client.request('doc-42', { onQueued: ({ position, holder }) => console.log(position ?? 0, holder ?? 'hidden') }, () => 1);

  // @ts-expect-error no such mode
  await client.request('doc-42', { mode: 'read' }, () => 1);
  // Version 2: take over, or ask and wait.
  const stolen: number = await client.request('doc-42', { steal: true }, (lock) => lock?.token ?? 0);
  await client.request('doc-42', { steal: true, mode: 'exclusive' }, () => 1);
  await client.request('doc-42', { ask: true, timeout: 5000, signal: controller.signal }, () => 1);
  const ifAvailable: boolean = Math.random() > 0.5;
  await client.request('doc-42', { ifAvailable }, () => 1);
  const requestOptions: LockRequestOptions = { ask: true };
  await client.request('doc-42', requestOptions, () => 1);
  // @ts-expect-error steal never waits: not with ifAvailable (NotSupportedError, as in Web Locks)
  await client.request('doc-42', { steal: true, ifAvailable: true }, () => 1);
  // @ts-expect-error nor with a signal
  await client.request('doc-42', { steal: true, signal: controller.signal }, () => 1);
  // @ts-expect-error nor in shared mode
  await client.request('doc-42', { steal: true, mode: 'shared' }, () => 1);
  // @ts-expect-error nor with a timeout
  await client.request('doc-42', { steal: true, timeout: 10 }, () => 1);
  // @ts-expect-error nor with ask
  await client.request('doc-42', { steal: true, ask: true }, () => 1);
  const steal: boolean = Math.random() > 0.5;
  await client.request('doc-42', { steal }, () => 1);
  void stolen;
  // @ts-expect-error a callback is required
  await client.request('doc-42', { ifAvailable: true });

  // Options that always wait: the callback gets the lock, never null (strict: no `?.` needed).
  const token: number = await client.request('doc-42', async ({ token }) => token);
  await client.request('doc-42', (lock) => expectType<HeldLock>()(lock));
  await client.request('doc-42', {}, (lock) => expectType<HeldLock>()(lock));
  await client.request('doc-42', { mode: 'shared' }, (lock) => expectType<HeldLock>()(lock));
  await client.request('doc-42', { signal: controller.signal, timeout: 5000 }, (lock) => expectType<HeldLock>()(lock));
  await client.request('doc-42', { ask: true, onQueued: () => {} }, (lock) => expectType<HeldLock>()(lock));
  await client.request('doc-42', { ifAvailable: false }, (lock) => expectType<HeldLock>()(lock));
  const shared: LockMode = await client.request('doc-42', { mode: 'shared' }, (lock) => lock.mode);
  // ifAvailable: true and steal: true may call back with null.
  await client.request('doc-42', { ifAvailable: true }, (lock) => expectType<HeldLock | null>()(lock));
  await client.request('doc-42', { ifAvailable }, (lock) => expectType<HeldLock | null>()(lock));
  await client.request('doc-42', { steal: true }, (lock) => expectType<HeldLock | null>()(lock));
  await client.request('doc-42', { steal }, (lock) => expectType<HeldLock | null>()(lock));
  await client.request('doc-42', requestOptions, (lock) => expectType<HeldLock | null>()(lock));
  // @ts-expect-error with ifAvailable: true the lock may be null
  await client.request('doc-42', { ifAvailable: true }, (lock) => lock.token);
  // @ts-expect-error with steal: true the lock may be null
  await client.request('doc-42', { steal: true }, (lock) => lock.token);
  void token;
  void shared;
  void n;
  void reader;
  void text;
  void maybe;
}

// Events: typed details through on() and addEventListener().
const off = client.on('lost', (detail, event) => {
  expectType<string>()(detail.lock);
  expectType<LostReason>()(detail.reason);
  expectType<'LOST' | 'DISCONNECTED' | 'EXPIRED' | 'CLOSED'>()(detail.reason);
  expectType<number | undefined>()(detail.token);
  expectType<LostCause | undefined>()(detail.cause);
  expectType<string | undefined>()(detail.by);
  expectType<CustomEvent<DistLockEventMap['lost']>>()(event);
});
expectType<() => void>()(off);
off();

client.on('retry', ({ lock }) => expectType<string>()(lock));
client.on('granted', ({ lock, token, mode, request }) => {
  expectType<string>()(lock);
  expectType<number>()(token);
  expectType<LockMode>()(mode);
  expectType<number | undefined>()(request);
});
client.on('asked', ({ lock, by, info }) => {
  expectType<string>()(lock);
  expectType<string | undefined>()(by);
  expectType<Record<string, unknown> | undefined>()(info);
});
client.on('cancelled', ({ lock, reason }) => {
  expectType<string>()(lock);
  expectType<CancelReason>()(reason);
});
client.on('close', ({ willReconnect, delayMs, code }) => {
  expectType<boolean>()(willReconnect);
  expectType<number | undefined>()(delayMs);
  expectType<number>()(code);
});
client.on('session', ({ session, name, version, reconnected }) => {
  expectType<ProtocolVersion>()(version);
  expectType<string>()(session);
  expectType<string>()(name);
  expectType<boolean>()(reconnected);
});
client.on('error', ({ error }) => {
  expectType<unknown>()(error); // also what an onQueued or watch callback threw
  if (error instanceof DistLockError) expectType<DistLockErrorCode>()(error.code);
});
client.on('connected', ({ session, grace, reconnected }) => {
  expectType<string>()(session);
  expectType<number>()(grace);
  expectType<boolean>()(reconnected);
});
client.on('suspended', ({ until, locks }) => {
  expectType<number>()(until);
  expectType<string[]>()(locks);
});
client.on('resumed', ({ locks, queued, lost }) => {
  expectType<string[]>()(locks);
  expectType<string[]>()(queued);
  expectType<string[]>()(lost);
});
client.on('expired', ({ reason, locks }) => {
  expectAssignable<string>(reason);
  expectType<string[]>()(locks);
});
// @ts-expect-error no such event
client.on('unlocked', () => {});

client.addEventListener('retry', (event) => expectType<string>()(event.detail.lock));
client.addEventListener('open', (event) => expectType<boolean>()(event.detail.reconnected), { once: true });
client.addEventListener('anything-else', (event) => expectType<Event>()(event));

// Errors
try {
  await lowLevel();
  await highLevel();
} catch (error) {
  if (error instanceof DistLockError) {
    expectType<DistLockErrorCode>()(error.code);
    expectAssignable<string>(error.code);
    if (error.code === 'NOT_OWNER' || error.code === 'TIMEOUT') {
      expectType<string | undefined>()(error.reply?.message);
    }
    if (error.code === 'CANCELLED') {
      expectType<CancelReason | undefined>()(error.reason);
    }
    if (error.code === 'LOST') {
      expectType<LostCause | undefined>()(error.lost?.cause);
    }
  }
}
const custom = new DistLockError('TIMEOUT', 'no reply');
expectAssignable<Error>(custom);
expectType<'DistLockError'>()(custom.name);
// Constructed as the client does for LOST (lib/errors.js takes `lost` and sets error.lost).
const lostError = new DistLockError('LOST', 'the lock "doc" was lost (LOST)', { lost: { lock: 'doc', token: 5, reason: 'LOST' } });
expectType<DistLockEventMap['lost'] | undefined>()(lostError.lost);

export {};
