/**
 * TypeScript declarations for the distlock JavaScript client (`src/distlock.js`).
 * Hand-written; `test/types/usage.ts` checks them with `tsc`.
 *
 * They rely on the DOM's (or Node's) `EventTarget`, `CustomEvent`, `AbortSignal` and
 * `AddEventListenerOptions` types: use `"lib": ["es2022", "dom"]` or `@types/node`.
 */

/**
 * Error codes of a `FAIL` reply, from the protocol (`NOT_QUEUED`: version 2), and the
 * client's own: `TIMEOUT` (no reply within `requestTimeoutMs`; the request may still take
 * effect), `DISCONNECTED` (the connection closed while the request was pending),
 * `NOT_CONNECTED` (no open connection or session), `BAD_REPLY` (an unreadable reply),
 * `NOT_SUPPORTED` (an option or action a version 1 server lacks: nothing was sent),
 * `CANCELLED` (a `request()` left the lock's queue without the lock; see `reason`),
 * `LOST` (a `request()`'s lock was lost before or while its callback ran, or before it could
 * be released; see `lost`), `ALREADY_HELD` (a `request()` for a lock this session holds
 * through `lock()`, or a `lock()`, `lockAll()`, `unlock()`, `unlockAll()` or `cancel()` of a
 * lock a `request()` of this client holds or waits for).
 * `FAIL` stands for a `FAIL` reply without a code. Servers may add codes.
 */
export type DistLockErrorCode =
  | 'BAD_REQUEST'
  | 'UNKNOWN_ACTION'
  | 'NOT_CONNECTED'
  | 'ALREADY_CONNECTED'
  | 'BAD_NAME'
  | 'NOT_OWNER'
  | 'TOO_MANY_LOCKS'
  | 'RATE_LIMITED'
  | 'UNAUTHORIZED'
  | 'BACKEND_UNAVAILABLE'
  | 'INTERNAL'
  | 'NOT_QUEUED'
  | 'TIMEOUT'
  | 'DISCONNECTED'
  | 'BAD_REPLY'
  | 'FAIL'
  | 'NOT_SUPPORTED'
  | 'CANCELLED'
  | 'SESSION_EXPIRED'
  | 'LOST'
  | 'ALREADY_HELD'
  | (string & {});

/**
 * Why a queued request left the queue without the lock: the server's `CANCELLED` (`timeout`,
 * `backend`), or `session`: the session that queued ended (or a resumed one no longer queues).
 * Servers may add reasons.
 */
export type CancelReason = 'timeout' | 'backend' | 'session' | (string & {});

/**
 * Why a `lost` event fired: the server pushed `LOST`; the connection dropped and the session
 * ended with it; the session expired (grace over, or resume refused); `close()`.
 */
export type LostReason = 'LOST' | 'DISCONNECTED' | 'EXPIRED' | 'CLOSED';

/** Why a version 2 server pushed `LOST`. Servers may add reasons. */
export type LostCause = 'lease' | 'taken' | 'stolen' | (string & {});

/** A frame from the server, as it came (see the protocol for its fields). */
export interface DistLockReply {
  status: string;
  message: string;
  time: number;
  id?: string | number;
  action?: string;
  code?: string;
  [field: string]: unknown;
}

/** The error every call rejects with (besides `TypeError`s for bad arguments). */
export declare class DistLockError extends Error {
  constructor(code: DistLockErrorCode, message: string,
    details?: { reply?: DistLockReply; cause?: unknown; reason?: CancelReason; lost?: DistLockEventMap['lost'] });
  readonly name: 'DistLockError';
  /** The protocol's code for a `FAIL` reply, or the client's own (see {@link DistLockErrorCode}). */
  readonly code: DistLockErrorCode;
  /** The `FAIL` reply (or, for `CANCELLED`, the `CANCELLED` push), when there is one. */
  readonly reply?: DistLockReply;
  /** For `CANCELLED`: why the request left the queue (`timeout` also when the client's own timer ran out). */
  readonly reason?: CancelReason;
  /**
   * For `LOST` (a `request()` whose lock was lost before its callback could run, while it ran,
   * or before it could be released): the `lost` event's detail (made up by the client,
   * `reason: 'LOST'` without `cause`, if the server's `LOST` does not come within
   * `requestTimeoutMs` after an unlock answered `NOT_OWNER`).
   */
  readonly lost?: DistLockEventMap['lost'];
}

/**
 * What the client needs of a WebSocket: the browser's `WebSocket` class fits, and so does
 * the `ws` package's in Node.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Reconnect backoff; in a browser the window's `online` event starts the next attempt at once. */
export interface ReconnectOptions {
  /** Backoff before the first attempt (it is jittered to between half and all of it). Default 500. */
  initialDelayMs?: number;
  /** The backoff doubles per failed attempt up to this (while suspended, at most half the grace period left). Default 30000. */
  maxDelayMs?: number;
}

/** Minimal `Storage` (the browser's `sessionStorage` fits). */
export interface SessionStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface DistLockClientOptions {
  /** The WebSocket class; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** How long a call waits for its reply, and a socket for opening. Default 10000. */
  requestTimeoutMs?: number;
  /**
   * Reconnect after an unexpected drop: the session is resumed within its grace period,
   * else a new one is opened (locks are not carried over). Default true.
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * Version 2: ms the session outlives a dropped connection, its locks and queue places kept
   * while the client reconnects and resumes (the server may grant less; default maximum 60 s).
   * That holds while the session's server node lives: if the node stops or dies, its locks go
   * free one server lease (`--lease-ms`, 10 s by default) after its last renewal, however long
   * the grace (see the `suspended` event). Default 0: a drop ends the session. Without `sessionStorage`, a page that unloads (not
   * into the back/forward cache) ends the session, since nothing could resume it.
   */
  grace?: number;
  /** Version 2: shown to others with the session's name (a JSON object, at most 512 bytes serialized). */
  info?: Record<string, unknown>;
  /**
   * Version 2: send `ping` after this many ms without a frame from the server; no reply within
   * `requestTimeoutMs` drops the connection (then `suspended` or `expired`). Default 15000; `false` turns it off.
   */
  pingIntervalMs?: number | false;
  /**
   * Keep the session id and resume secret in `sessionStorage` (`true`) or the given storage,
   * so that a reloaded page resumes the session within its grace period (not a window that
   * copied the storage while the page that has the session lives). Default false: any
   * script of the page's origin can read them and take the session over.
   */
  sessionStorage?: boolean | SessionStorageLike;
}

/**
 * Where the client connects: one URL; several (the nodes of a deployment: it moves to the next
 * when one fails to open); or a function asked before every socket (e.g. for a fresh auth token).
 */
export type DistLockUrl =
  | string
  | URL
  | ReadonlyArray<string | URL>
  | ((attempt: { reconnect: boolean }) => string | URL | PromiseLike<string | URL>);

/** What an application can show of the session; see {@link DistLockClient.state}. */
export type SessionState = 'idle' | 'connected' | 'suspended' | 'resumed' | 'expired';

/** The protocol version of a session: 2, or 1 when the server did not answer `connect` with a `version`. */
export type ProtocolVersion = 1 | 2;

export interface SessionInfo {
  /** The server's id of the session. */
  session: string;
  /** The name given to `connect()`: a label others see as the holder. */
  name: string;
  /** The protocol version the server speaks in this session. */
  version: ProtocolVersion;
}

/** Shared grants coexist with each other; an exclusive grant excludes all (version 2; version 1 knows only exclusive). */
export type LockMode = 'exclusive' | 'shared';

/**
 * Fencing tokens are plain numbers: the reference server's are around 1.7e15 (microseconds),
 * far below `Number.MAX_SAFE_INTEGER` (2^53 - 1), so they are exact.
 */
export type FencingToken = number;

/** The answer to `lock()` without `wait`. */
export type LockResult =
  | { status: 'LOCKED'; token: FencingToken }
  /** `holder` is absent when the server hides holders. */
  | { status: 'WAIT'; holder?: string };

/**
 * The answer to `lock(name, {wait: true})` (version 2): the lock now, or a place in its queue.
 * `position` is 1 for "next"; `request` is what the `granted` event for this request carries.
 */
export type QueuedLockResult =
  | { status: 'LOCKED'; token: FencingToken }
  | { status: 'QUEUED'; position: number; holder?: string; request: number };

/** `lock()` options without queueing. `mode: 'shared'` needs a version 2 server. */
export interface LockNowOptions {
  mode?: LockMode;
  wait?: false;
  /**
   * Version 2: take the lock now, whoever holds it (if the server allows it: `UNAUTHORIZED`
   * otherwise). Each holder is pushed `LOST` with cause `stolen` and `by` this session's name.
   */
  steal?: boolean;
}

/** `lock()` options that join the lock's queue if it cannot be granted now (version 2). */
export interface LockQueueOptions {
  mode?: LockMode;
  wait: true;
  /** Leave the queue after this many ms (1 to 3,600,000): a `cancelled` event with reason `timeout`. */
  timeout?: number;
  /**
   * Also tell the holders that this session would like the lock (their `asked` event). At most
   * once per lock per 10 s per session: `RATE_LIMITED` otherwise.
   */
  ask?: boolean;
}

export type LockOptions = LockNowOptions | LockQueueOptions;

export type LockAllResult =
  | { status: 'LOCKED'; tokens: Record<string, FencingToken> }
  /** `holders`: lock name to holding session name, for the locks held by others, unless hidden. */
  | { status: 'WAIT'; holders?: Record<string, string> };

/** What a `request()` callback gets while it holds the lock. */
export interface HeldLock {
  readonly name: string;
  readonly mode: LockMode;
  readonly token: FencingToken;
  /**
   * Aborted when this grant is lost (`LOST`, stolen, the session expired or was closed, or a
   * resumed session no longer has it), with a `DistLockError` `LOST` as its reason: pass it to
   * `fetch()` so writes stop. Not aborted while the session is `suspended`, though the server
   * may free the lock meanwhile if the session's node stops (see the `suspended` event): the
   * fencing token is what protects the resource then.
   */
  readonly signal: AbortSignal;
}

/**
 * `request()` options. As in Web Locks, `steal` goes with none of `ifAvailable`, `signal`,
 * `timeout`, `ask` or `mode: 'shared'` (a `NotSupportedError` at run time, a type error here);
 * nor does `ask` with `ifAvailable` (a `NotSupportedError` at run time).
 */
export type LockRequestOptions = LockWaitOptions | LockStealOptions;

/** `request()` options that wait for the lock (the default), or with `ifAvailable` do not. */
export interface LockWaitOptions extends LockRequestCommonOptions {
  /** If the lock is taken (here or elsewhere), call the callback with `null` instead of waiting. */
  ifAvailable?: boolean;
  /**
   * Version 2: queue with `ask`, so the holders get an `asked` event. If the server refuses the
   * ask as `RATE_LIMITED` (this session asked for the lock less than 10 s ago), the client
   * queues again at once without asking: the call still waits for the lock (with a `timeout`,
   * for what is left of it: none left, it rejects `CANCELLED`, reason `timeout`).
   */
  ask?: boolean;
  steal?: false;
}

/**
 * `request()` taking the lock now, whoever holds it (version 2, if the server allows it: the
 * call rejects with `UNAUTHORIZED` otherwise). Each holder is pushed `LOST` (cause `stolen`):
 * a holder's `lock.signal` aborts and its `request()` rejects with `LOST`. Within this client,
 * a steal still waits for this client's own earlier `request()`s for the name (they share one
 * session, which cannot take a lock from itself).
 */
export interface LockStealOptions {
  steal: true;
  mode?: 'exclusive';
  ifAvailable?: false;
  ask?: false;
}

export interface LockRequestCommonOptions {
  /**
   * Aborting it while waiting rejects the call with the signal's reason (an `AbortError` by
   * default); while queued the client sends `cancel`, and unlocks a grant that crossed it.
   */
  signal?: AbortSignal;
  /**
   * `'exclusive'` (the default) or `'shared'`; shared needs a version 2 server (on a version 1
   * server the call rejects with a `NotSupportedError` `DOMException`).
   */
  mode?: LockMode;
  /**
   * Stop waiting after this many ms (1 to 3,600,000), the local turn included: the call
   * rejects with a `DistLockError` `CANCELLED`, `reason: 'timeout'`. Ignored with `ifAvailable`.
   */
  timeout?: number;
  /**
   * Called each time the request starts waiting for the lock: on a version 2 server when it is
   * `QUEUED` (its `position`, 1 = next, and the `holder`), on a version 1 server at each `WAIT`
   * (the `holder`). `holder` is the session name of the earliest current holder (or of the
   * queue's head), absent when the server hides holders. Not called for a lock granted at once.
   */
  onQueued?: (info: QueuedInfo) => void;
}

/** What `onQueued` is told. */
export interface QueuedInfo {
  readonly position?: number;
  readonly holder?: string;
}

/**
 * A `request()` callback: `null` only with `ifAvailable: true` when the lock is taken, or with
 * `steal: true` while the server refuses steals because it is recovering from a possible loss
 * of Redis data.
 */
export type LockRequestCallback<T> = (lock: HeldLock | null) => T | PromiseLike<T>;

/** A `request()` callback for options that always wait for the lock: it gets the lock. */
export type HeldLockCallback<T> = (lock: HeldLock) => T | PromiseLike<T>;

/** A holder of a lock, or a session in its queue, as `query()` and `watch()` tell them (version 2). */
export interface LockEntry {
  /** The session's name; absent when the server hides holders. */
  readonly name?: string;
  /** The session's `info` (see the `info` option), if it has one; absent when holders are hidden. */
  readonly info?: Record<string, unknown>;
  readonly mode: LockMode;
  /** Server time (ms since the epoch) when it was granted, or when it queued. */
  readonly since: number;
}

/**
 * Who holds a lock and who queues for it, in queue order. A free lock: both empty. A long list
 * is cut by the server (its first entries, at least one) and its full length given beside it.
 */
export interface LockState {
  readonly holders: LockEntry[];
  readonly queue: LockEntry[];
  /** How many hold the lock, when `holders` lists only the first of them. */
  readonly holdersTotal?: number;
  /** How many queue for the lock, when `queue` lists only the first of them. */
  readonly queueTotal?: number;
}

/** What `watch()` watches: a lock name, several, or every lock whose name starts with `prefix` (case-sensitive). */
export type WatchTarget = string | readonly string[] | { readonly prefix: string };

/** Told each watched lock's state: first the state when the watch began (not for a prefix), then every change. */
export type WatchCallback = (lock: string, state: LockState) => void;

export interface DistLockEventMap {
  /** The WebSocket opened; `reconnected` when it is a reconnect. */
  open: { reconnected: boolean };
  /** A session was opened, by `connect()` or automatically after a reconnect. */
  session: SessionInfo & { reconnected: boolean };
  /** The WebSocket closed. `delayMs` is there when a reconnect will follow. */
  close: { code: number; reason: string; wasClean: boolean; willReconnect: boolean; delayMs?: number };
  /** A lock this session got `WAIT` for became free: ask again (someone else may be faster). */
  retry: { lock: string };
  /**
   * Version 2: a queued request was granted; the session holds the lock from now on.
   * `request` is the `request` of the `QUEUED` result (absent if the server left it out).
   * `request()` consumes its own grants; the event fires for them too.
   */
  granted: { lock: string; token: FencingToken; mode: LockMode; request?: number };
  /** Version 2: a queued request left the queue without the lock. */
  cancelled: { lock: string; reason: CancelReason };
  /**
   * Version 2: someone queued with `ask` for a lock this session holds. `by` (their session
   * name) and `info` are absent when the server hides holders.
   */
  asked: { lock: string; by?: string; info?: Record<string, unknown> };
  /**
   * A lock this client held is gone without having been unlocked: the server pushed `LOST`
   * (`reason: 'LOST'`; also for a lock a resumed session no longer has), the connection closed
   * and the session with it (`'DISCONNECTED'`), the session expired (`'EXPIRED'`: its grace
   * period passed, or the server refused to resume it), or `close()` ended it (`'CLOSED'`).
   * `token` is the lock's token when the client knew it. `cause` is the reason a version 2
   * server gives with `LOST` (`lease`, `taken`, `stolen` with `by`: the session that took it).
   */
  lost: { lock: string; token: FencingToken | undefined; reason: LostReason; cause?: LostCause; by?: string };
  /** A new session is open (by `connect()`, or after a reconnect that could not resume). */
  connected: SessionInfo & { grace: number; reconnected: boolean };
  /**
   * The connection is lost and the session is in its grace period: the client reconnects and
   * resumes it until `until` (ms since the epoch), and reports its locks `lost` only then.
   * `until` is the last frame heard + grace - min(grace / 10, 1 s): the client gives up that
   * much before the server can free them. The server keeps the locks that long only while the
   * session's server node lives: if that node stops or dies, they go free one server lease
   * (`--lease-ms`, 10 s by default) after its last renewal, and a resume on another node after
   * that finds them lost. So `until` is an upper bound; the fencing token is what protects
   * the resource in that window.
   */
  suspended: { session: string; until: number; locks: string[] };
  /** The session was resumed on a new connection: `locks` held, `queued` waiting, `lost` reported lost. */
  resumed: SessionInfo & { grace: number; locks: string[]; queued: string[]; lost: string[] };
  /**
   * The session ended without `close()`: `reason` is `DISCONNECTED` (no grace period),
   * `grace` (it passed) or the server's refusal (`SESSION_EXPIRED`). `locks` were reported lost.
   */
  expired: { session: string; reason: 'DISCONNECTED' | 'grace' | (string & {}); locks: string[] };
  /**
   * Something failed that no call waits for: an unreadable frame, a session not reopened after
   * a reconnect, a watch not renewed, watches paused on a version 1 server (`NOT_SUPPORTED`)
   * (a `DistLockError`), or whatever an `onQueued` or `watch()` callback threw, or was thrown
   * while a server frame was applied (a reply's call rejects with it too).
   */
  error: { error: unknown };
}

export type DistLockEventType = keyof DistLockEventMap;

export declare class DistLockClient extends EventTarget {
  /**
   * @param url the server's endpoint, e.g. `wss://example.com/distlock/lock`
   * @throws TypeError without a WebSocket class; RangeError for a bad timeout or backoff
   */
  constructor(url: DistLockUrl, options?: DistLockClientOptions);

  /** The open session, or null. */
  readonly session: SessionInfo | null;
  /**
   * A snapshot of the locks this session holds: lock name to fencing token (while
   * `suspended`: those the server keeps for the session until its grace period ends, as long
   * as the session's server node lives; if it stops or dies, at most one server lease, 10 s
   * by default, after its last renewal: see the `suspended` event).
   */
  readonly heldLocks: Map<string, FencingToken>;
  /** What an application can show: `connected`, `suspended`, `resumed`, `expired`, or `idle` (no session). */
  readonly state: SessionState;

  /** Opens the socket if needed, then a session with this name (asking for protocol version 2). */
  connect(sessionName: string): Promise<SessionInfo>;
  /**
   * Asks for a lock and joins its queue if it cannot be granted now (version 2): `LOCKED`,
   * or `QUEUED` and later a `granted` event (or `cancelled`). `NOT_SUPPORTED` on a version 1 server.
   */
  lock(name: string, options: LockQueueOptions): Promise<QueuedLockResult>;
  /**
   * Asks for a lock without waiting: `LOCKED` with a token, or `WAIT` (then a `retry` event follows).
   * Either form rejects with `ALREADY_HELD` while a `request()` of this client holds or waits for the lock.
   */
  lock(name: string, options?: LockNowOptions): Promise<LockResult>;
  lock(name: string, options?: LockOptions): Promise<LockResult | QueuedLockResult>;
  /** Leaves a lock's queue (version 2); `NOT_QUEUED` if this session is not queued for it; `ALREADY_HELD` if a `request()` of this client waits for or holds it. */
  cancel(name: string): Promise<void>;
  /** Releases a lock; `NOT_OWNER` if this session does not hold it; `ALREADY_HELD` if a `request()` of this client holds or waits for it. */
  unlock(name: string): Promise<void>;
  /**
   * Version 2: who holds and who queues for these locks now (1 to 64 names), lock name to its
   * state. Rejects with the server's code (`UNAUTHORIZED`, ...) or `NOT_SUPPORTED` on version 1.
   */
  query(names: string | readonly string[]): Promise<Record<string, LockState>>;
  /**
   * Version 2: calls `callback` with the state of each named lock once the server answers, then
   * on every change (`CHANGED`), in order; for a prefix, on every change of a lock under it.
   * Resolves with a function that ends this watch (idempotent; `unwatch` goes to the server for
   * what no other watch of this client needs). Watches last across reconnects: the client
   * watches again on each new or resumed session and calls back with the fresh state (a
   * session on a version 1 server pauses them: one `NOT_SUPPORTED` `error` event, nothing sent).
   * What the callback throws is an `error` event.
   */
  watch(target: WatchTarget, callback: WatchCallback): Promise<() => Promise<void>>;
  /** Asks for several locks, all or nothing, in one mode (`'shared'` needs version 2). Never queues. */
  lockAll(names: readonly string[], options?: { mode?: LockMode }): Promise<LockAllResult>;
  /** Releases several locks, all or nothing (`ALREADY_HELD`, nothing sent, if a `request()` of this client holds or waits for one). */
  unlockAll(names: readonly string[]): Promise<void>;
  /** Closes the session (releasing all its locks); the socket stays open. */
  close(): Promise<void>;
  /** Closes the socket for good (no reconnect); held locks are reported `lost`. */
  disconnect(): Promise<void>;

  /**
   * Waits for the lock, runs `callback` while holding it, releases it when the callback's
   * promise settles, and settles like the callback. Like `navigator.locks.request()`.
   * On a version 2 server it waits in the lock's FIFO queue; on a version 1 server with
   * `WAIT` and `retry`.
   */
  request<T>(name: string, callback: HeldLockCallback<T>): Promise<Awaited<T>>;
  /** Options that always wait for the lock (no `ifAvailable: true`, no `steal: true`): the callback gets it, never `null`. */
  request<T>(name: string, options: LockWaitOptions & { ifAvailable?: false }, callback: HeldLockCallback<T>): Promise<Awaited<T>>;
  /** With `ifAvailable: true` (the lock is taken) or `steal: true` (steals refused while the server recovers), the callback may get `null`. */
  request<T>(name: string, options: LockRequestOptions, callback: LockRequestCallback<T>): Promise<Awaited<T>>;

  /** Subscribes to an event with its `detail`; returns a function that unsubscribes. */
  on<K extends DistLockEventType>(
    type: K,
    listener: (detail: DistLockEventMap[K], event: CustomEvent<DistLockEventMap[K]>) => void,
  ): () => void;

  addEventListener<K extends DistLockEventType>(
    type: K,
    listener: (this: DistLockClient, event: CustomEvent<DistLockEventMap[K]>) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends DistLockEventType>(
    type: K,
    listener: (this: DistLockClient, event: CustomEvent<DistLockEventMap[K]>) => void,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ): void;
}
