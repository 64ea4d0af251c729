/**
 * TypeScript declarations for the distlock JavaScript client (`src/distlock.js`).
 * Hand-written; `test/types/usage.ts` checks them with `tsc`.
 *
 * They rely on the DOM's (or Node's) `EventTarget`, `CustomEvent`, `AbortSignal` and
 * `AddEventListenerOptions` types: use `"lib": ["es2022", "dom"]` or `@types/node`.
 */

/**
 * Error codes of a `FAIL` reply, from the protocol, and the client's own:
 * `TIMEOUT` (no reply within `requestTimeoutMs`; the request may still take effect),
 * `DISCONNECTED` (the connection closed while the request was pending),
 * `NOT_CONNECTED` (no open connection or session), `BAD_REPLY` (an unreadable reply).
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
  | 'TIMEOUT'
  | 'DISCONNECTED'
  | 'BAD_REPLY'
  | 'FAIL'
  | (string & {});

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
  constructor(code: DistLockErrorCode, message: string, details?: { reply?: DistLockReply; cause?: unknown });
  readonly name: 'DistLockError';
  /** The protocol's code for a `FAIL` reply, or the client's own (see {@link DistLockErrorCode}). */
  readonly code: DistLockErrorCode;
  /** The `FAIL` reply, when the error is one. */
  readonly reply?: DistLockReply;
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

export interface ReconnectOptions {
  /** Backoff before the first attempt (it is jittered to between half and all of it). Default 500. */
  initialDelayMs?: number;
  /** The backoff doubles per failed attempt up to this. Default 30000. */
  maxDelayMs?: number;
}

export interface DistLockClientOptions {
  /** The WebSocket class; defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** How long a call waits for its reply, and a socket for opening. Default 10000. */
  requestTimeoutMs?: number;
  /** Reconnect after an unexpected drop (a new session; locks are not carried over). Default true. */
  reconnect?: boolean | ReconnectOptions;
}

export interface SessionInfo {
  /** The server's id of the session. */
  session: string;
  /** The name given to `connect()`: a label others see as the holder. */
  name: string;
}

/**
 * Fencing tokens are plain numbers: the reference server's are around 1.7e15 (microseconds),
 * far below `Number.MAX_SAFE_INTEGER` (2^53 - 1), so they are exact.
 */
export type FencingToken = number;

export type LockResult =
  | { status: 'LOCKED'; token: FencingToken }
  /** `holder` is absent when the server hides holders. */
  | { status: 'WAIT'; holder?: string };

export type LockAllResult =
  | { status: 'LOCKED'; tokens: Record<string, FencingToken> }
  /** `holders`: lock name to holding session name, for the locks held by others, unless hidden. */
  | { status: 'WAIT'; holders?: Record<string, string> };

/** What a `request()` callback gets while it holds the lock. */
export interface HeldLock {
  readonly name: string;
  readonly token: FencingToken;
}

export interface LockRequestOptions {
  /** Aborting it while waiting rejects the call with the signal's reason (an `AbortError` by default). */
  signal?: AbortSignal;
  /** If the lock is taken (here or elsewhere), call the callback with `null` instead of waiting. */
  ifAvailable?: boolean;
  /** Only `'exclusive'`: shared locks are not in protocol version 1. */
  mode?: 'exclusive';
}

export type LockRequestCallback<T> = (lock: HeldLock | null) => T | PromiseLike<T>;

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
   * A lock this client held is gone without having been unlocked: the server pushed `LOST`
   * (`reason: 'LOST'`) or the connection closed (`reason: 'DISCONNECTED'`).
   * `token` is the lock's token when the client knew it.
   */
  lost: { lock: string; token: FencingToken | undefined; reason: 'LOST' | 'DISCONNECTED' };
  /** Something failed that no call waits for: an unreadable frame, a session not reopened after a reconnect. */
  error: { error: DistLockError };
}

export type DistLockEventType = keyof DistLockEventMap;

export declare class DistLockClient extends EventTarget {
  /**
   * @param url the server's endpoint, e.g. `wss://example.com/distlock/lock`
   * @throws TypeError without a WebSocket class; RangeError for a bad timeout or backoff
   */
  constructor(url: string | URL, options?: DistLockClientOptions);

  /** The open session, or null. */
  readonly session: SessionInfo | null;
  /** A snapshot of the locks this session holds: lock name to fencing token. */
  readonly heldLocks: Map<string, FencingToken>;

  /** Opens the socket if needed, then a session with this name. */
  connect(sessionName: string): Promise<SessionInfo>;
  /** Asks for a lock without waiting: `LOCKED` with a token, or `WAIT` (then a `retry` event follows). */
  lock(name: string): Promise<LockResult>;
  /** Releases a lock; `NOT_OWNER` if this session does not hold it. */
  unlock(name: string): Promise<void>;
  /** Asks for several locks, all or nothing. */
  lockAll(names: readonly string[]): Promise<LockAllResult>;
  /** Releases several locks, all or nothing. */
  unlockAll(names: readonly string[]): Promise<void>;
  /** Closes the session (releasing all its locks); the socket stays open. */
  close(): Promise<void>;
  /** Closes the socket for good (no reconnect); held locks are reported `lost`. */
  disconnect(): Promise<void>;

  /**
   * Waits for the lock, runs `callback` while holding it, releases it when the callback's
   * promise settles, and settles like the callback. Like `navigator.locks.request()`.
   */
  request<T>(name: string, callback: LockRequestCallback<T>): Promise<Awaited<T>>;
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
