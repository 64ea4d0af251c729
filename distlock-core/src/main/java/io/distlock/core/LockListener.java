package io.distlock.core;

/**
 * Receives the pushes of one {@link LockSession}.
 *
 * <p>Calls for one session are made one at a time, never before the reply of the request
 * that caused them (a {@code retry} always follows the {@code Waiting} it answers), on
 * the service's callback executor. What a request finds out on its way (a lock it was to
 * release is already lost: {@code lost} before an unlock's {@code NOT_OWNER} or its failure; a
 * place it was to leave was granted: {@code granted} before a cancel's answer; an exclusive
 * request answered with its queued place's shared grant: {@code granted} before its
 * {@code HELD_SHARED} refusal) is told just before its reply, so that it can never come after
 * the reply to a later request. A listener
 * that throws is logged and ignored: it cannot break locking.
 *
 * <p><b>Never block in a listener or in a stage's callback.</b> By default they run on the
 * thread that completed the work, usually one of Redisson's I/O threads, as Redisson's and
 * Lettuce's own callbacks do: waiting there (a {@code join()}, a blocking
 * {@link LockSession#close()}) stalls every session of the node. Give
 * {@link LockConfig.Builder#callbackExecutor} an executor of your own to block. Even then, a
 * callback of a session must not wait for another operation of the same session (a
 * {@code join()} of its stage): that operation is answered on the same serial stream as the
 * callback, after it returns, so the wait never ends. {@link LockSession#close()} is safe there:
 * called from a session's own callback it does not wait.
 */
public interface LockListener {

    /** A listener that ignores every push. */
    LockListener NONE = new LockListener() { };

    /**
     * The lock this session was told to wait for became free. Sent once per
     * {@code Waiting}; ask again to take it (someone else may have been faster).
     */
    default void retry(String lock) { }

    /**
     * A lock this session held can no longer be guaranteed: its lease could not be
     * renewed in time, or Redis no longer holds it for this session. The session no
     * longer counts it as held. Called by {@link #lost(String, long, LossCause)} unless that is
     * overridden.
     */
    default void lost(String lock) { }

    /**
     * {@link #lost(String)}, with the fencing token of the grant that ended and why: the one the
     * service calls. The token tells this loss apart from a later grant of the same lock, whose
     * answer a caller may have seen first (a steal taken back at once, a lock asked for again).
     */
    default void lost(String lock, long token, LossCause cause) {
        lost(lock);
    }

    /**
     * A queued request ({@link LockResult.Queued}) was granted: the session holds {@code lock}
     * from now on, with this fencing token, in this mode.
     */
    default void granted(String lock, long token, LockMode mode) { }

    /**
     * Another session, named {@code by}, took the lock over ({@link LockOptions#stealing()}) from
     * this session's grant with {@code token}: the session no longer holds it, and the fencing
     * token of the new grant is larger. By default, {@link #lost(String, long, LossCause)} with
     * {@link LossCause#STOLEN}.
     */
    default void stolen(String lock, long token, String by) {
        lost(lock, token, LossCause.STOLEN);
    }

    /**
     * Another session, named {@code by}, with its {@link SessionOptions#info()} (or {@code null}),
     * queues for a lock this session holds and asks for it ({@link LockOptions#asking()}). What to
     * do is the application's choice: unlock it, or not.
     */
    default void asked(String lock, String by, String info) { }

    /** A queued request left the queue without a grant. */
    default void cancelled(String lock, CancelReason reason) { }

    /**
     * The session was resumed by another connection ({@link LockService#resume}, on this node or
     * another): this listener is told nothing more, and the handle it was given is stale. The
     * session's locks are not released: they are the other connection's now.
     */
    default void resumedElsewhere() { }

    /**
     * This listener takes the session over from {@code previous}, the listener it had on this
     * node (attached or detached); called before the pushes kept while detached are replayed to
     * this one. Lets an adapter carry state of its own across a resume on the same node. Not
     * called when the session comes from another node.
     */
    default void tookOverFrom(LockListener previous) { }
}
