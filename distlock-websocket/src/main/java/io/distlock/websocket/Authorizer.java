package io.distlock.websocket;

import io.distlock.core.LockMode;

/**
 * Decides whether a connection may take a lock. Asked for every name of a {@code lock} or
 * {@code mlock} request before the lock service is called; a single {@code false} refuses
 * the whole request with {@code FAIL UNAUTHORIZED} and changes nothing. Not asked for
 * {@code unlock}/{@code munlock} or {@code cancel}: a session can only release what it holds
 * and leave queues it is in.
 *
 * <p>The endpoint calls {@link #mayLock(Object, String, Operation, LockMode)}, which by
 * default asks {@link #mayLock(Object, String)}: a lambda judges by principal and name alone,
 * and treats a shared lock like an exclusive one. To judge by operation or mode too, override
 * the four-argument method:
 *
 * <pre>{@code
 * Authorizer readersShare = new Authorizer() {
 *     public boolean mayLock(Object principal, String lock) {
 *         return isEditor(principal, lock);
 *     }
 *     public boolean mayLock(Object principal, String lock, Operation operation, LockMode mode) {
 *         return mode == LockMode.SHARED ? isViewer(principal, lock) : isEditor(principal, lock);
 *     }
 * };
 * }</pre>
 *
 * <p>Called on container or lock-service threads, concurrently for different connections;
 * it must not block for long. Names are passed as the client sent them (they may still be
 * refused as {@code BAD_NAME} afterwards). An exception counts as {@code false}.
 */
@FunctionalInterface
public interface Authorizer {

    /**
     * What a request asks for a lock, as {@link #mayLock(Object, String, Operation, LockMode)}
     * is told. Later protocol versions add operations (taking a lock over, watching it): an
     * authorizer that meets one it does not know should refuse it.
     */
    enum Operation {
        /** A {@code lock} request, answered at once or queued. */
        LOCK,
        /** One name of an {@code mlock} request (all of them or none are taken). */
        MLOCK
    }

    /**
     * Whether this connection may lock {@code lockName}, whatever the operation and mode.
     *
     * @param principal what the {@link Authenticator} returned for this connection, or
     *                  {@code null} with the default authenticator
     */
    boolean mayLock(Object principal, String lockName);

    /**
     * Whether this connection may lock {@code lockName} by {@code operation} in {@code mode}:
     * the question the endpoint asks. A version 1 session always asks {@link LockMode#EXCLUSIVE}.
     * By default, {@link #mayLock(Object, String)}.
     *
     * @param principal what the {@link Authenticator} returned for this connection, or
     *                  {@code null} with the default authenticator
     */
    default boolean mayLock(Object principal, String lockName, Operation operation, LockMode mode) {
        return mayLock(principal, lockName);
    }
}
