package io.distlock.websocket;

import io.distlock.core.LockMode;

/**
 * Decides what a connection may do with a lock: take it, take it over, see it, watch it. Asked
 * for every name of a {@code lock}, {@code mlock}, {@code query} or {@code watch} request
 * before the lock service is called; a single {@code false} refuses the whole request with
 * {@code FAIL UNAUTHORIZED} and changes nothing. Not asked for {@code unlock}/{@code munlock},
 * {@code cancel} or {@code unwatch}: a session can only release what it holds, leave queues it
 * is in and stop watching.
 *
 * <p>The endpoint calls {@link #mayLock(Object, String, Operation, LockMode)}, which by
 * default refuses {@link Operation#STEAL} and asks {@link #mayLock(Object, String)} for every
 * other operation: a lambda judges by principal and name alone, treats a shared lock like an
 * exclusive one and seeing or watching a lock like taking it, and never lets anyone take a lock
 * over. To judge by operation or mode too, and to allow steals, override the four-argument
 * method:
 *
 * <pre>{@code
 * Authorizer editors = new Authorizer() {
 *     public boolean mayLock(Object principal, String lock) {
 *         return isEditor(principal, lock);
 *     }
 *     public boolean mayLock(Object principal, String lock, Operation operation, LockMode mode) {
 *         return switch (operation) {
 *             case QUERY, WATCH -> isViewer(principal, lock);
 *             case STEAL -> isAdmin(principal);
 *             case LOCK, MLOCK -> mode == LockMode.SHARED ? isViewer(principal, lock) : isEditor(principal, lock);
 *         };
 *     }
 * };
 * }</pre>
 *
 * <p><b>A prefix watch is judged as one name.</b> For {@code watch} with a {@code prefix}, the
 * endpoint asks once, passing the prefix as {@code lockName}, and {@link Operation#WATCH} is the
 * same for a watch of names and a watch of a prefix: neither method can tell a prefix from a
 * name. So an authorizer that allows exactly {@code doc-1} lets a client watch the prefix
 * {@code doc-1}, and see {@code doc-10}, {@code doc-123} and every other lock whose name starts
 * with it. Judge every {@link Operation#WATCH} as a prefix: allow it only if the principal may
 * see every lock whose name starts with {@code lockName}. A rule by prefix (such as
 * {@code lock.startsWith(user + "-")}) already does; a rule by exact name should refuse
 * {@link Operation#WATCH}, or judge it by a rule for prefixes, in the four-argument method.
 *
 * <p>Called on container or lock-service threads, concurrently for different connections;
 * it must not block for long. Names are passed as the client sent them (they may still be
 * refused as {@code BAD_NAME} afterwards). Anything it throws (an exception or an error, such
 * as a regular expression's {@code StackOverflowError} on a long name) counts as {@code false};
 * it is logged with its stack trace the first time, then with a count only at the 2nd, 4th,
 * 8th... time, so a client cannot flood the log (the same for an {@link Authenticator}).
 */
@FunctionalInterface
public interface Authorizer {

    /**
     * What a request asks for a lock, as {@link #mayLock(Object, String, Operation, LockMode)}
     * is told. Later protocol versions may add operations: an authorizer that meets one it does
     * not know should refuse it.
     */
    enum Operation {
        /** A {@code lock} request, answered at once or queued (with {@code ask} or not). */
        LOCK,
        /** One name of an {@code mlock} request (all of them or none are taken). */
        MLOCK,
        /**
         * A {@code lock} with {@code steal}: take the lock now from whoever holds it (each holder
         * loses it). Refused by the default {@link #mayLock(Object, String, Operation, LockMode)}:
         * allowed only by an authorizer that says so.
         */
        STEAL,
        /** One name of a {@code query}: see who holds the lock and who queues for it. The mode is {@code null}. */
        QUERY,
        /**
         * One name of a {@code watch}, or its prefix, passed as the lock name: see every change
         * of who holds and queues for the lock (or for each lock whose name starts with the
         * prefix). The mode is {@code null}. A prefix and a name look the same here: judge the
         * name as a prefix (see the class comment).
         */
        WATCH
    }

    /**
     * Whether this connection may lock {@code lockName}, whatever the operation and mode. By
     * default also asked for {@link Operation#QUERY} and {@link Operation#WATCH}, and for a prefix
     * {@code watch} with the prefix as {@code lockName}: see the class comment.
     *
     * @param principal what the {@link Authenticator} returned for this connection, or
     *                  {@code null} with the default authenticator
     */
    boolean mayLock(Object principal, String lockName);

    /**
     * Whether this connection may do {@code operation} to {@code lockName} (for a prefix
     * {@code watch}, the prefix) in {@code mode}: the question the endpoint asks. A version 1
     * session always asks {@link Operation#LOCK} or {@link Operation#MLOCK} in
     * {@link LockMode#EXCLUSIVE}. By default, {@code false} for {@link Operation#STEAL} and
     * {@link #mayLock(Object, String)} for the others.
     *
     * @param principal what the {@link Authenticator} returned for this connection, or
     *                  {@code null} with the default authenticator
     * @param mode      the mode asked for; {@code null} for {@link Operation#QUERY} and
     *                  {@link Operation#WATCH}, which take nothing
     */
    default boolean mayLock(Object principal, String lockName, Operation operation, LockMode mode) {
        return operation != Operation.STEAL && mayLock(principal, lockName);
    }
}
