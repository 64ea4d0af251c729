package io.distlock.core;

import java.util.Collection;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * One client session: a label ({@link #name()}), a unique {@link #id()}, and the locks it holds.
 *
 * <p><b>Ownership.</b> Locks belong to the session, not to a thread: any thread may call any
 * method. Two sessions with the same name are two owners that share nothing.
 *
 * <p><b>Never blocks.</b> Every operation returns at once; its stage completes when Redis has
 * answered. Operations of one session take effect and complete in the order they were
 * called. A "no" is a value ({@link LockResult.Waiting}, {@link Refused}); a stage completes
 * exceptionally only with {@link BackendUnavailableException} when Redis cannot be reached.
 *
 * <p><b>Leases.</b> Held locks are leased in Redis and renewed by this node while it lives.
 * If a renewal cannot be proven in time the session is told {@link LockListener#lost(String)}
 * and the lock no longer counts as held.
 *
 * <p><b>Closing</b> releases every lock and forgets every wait; it is idempotent. After it,
 * operations are refused with {@link Refusal#SESSION_CLOSED}.
 */
public interface LockSession extends AutoCloseable {

    /** The session's name, shown to other sessions as the holder of its locks. */
    String name();

    /** The session's unique id: the owner of its locks in Redis. */
    String id();

    /**
     * Takes the lock if it is free, answering {@link LockResult.Locked} with a new fencing
     * token; answers the same token again if this session already holds it. If another
     * session holds it, answers {@link LockResult.Waiting} and registers this session to be
     * told {@link LockListener#retry(String)} once, the next time the lock becomes free.
     */
    CompletionStage<LockResult> lock(String lock);

    /**
     * Asks for a lock as {@code options} say. With {@link LockOptions#DEFAULT} this is
     * {@link #lock(String)}. A shared request is granted while the lock is free or held shared and
     * nobody queues for it. A request that may {@link LockOptions#queue()} and cannot be granted
     * now joins the lock's queue, one queue across every node, and is answered
     * {@link LockResult.Queued}; the grant comes later, in queue order, as
     * {@link LockListener#granted}. A request that may not queue is granted only if nobody queues
     * for the lock (no queue jumping), otherwise answered {@link LockResult.Waiting}.
     * Asking again while queued keeps the place; if the place was granted meanwhile, the answer is
     * that grant, in the mode it was granted: an exclusive request (or a steal) whose place was
     * granted shared is told {@link LockListener#granted} (shared) for the queued request, then
     * refused with {@link Refusal#HELD_SHARED}. A session that holds the lock gets its token
     * again (a shared request for a lock held exclusive gets the exclusive grant); an exclusive
     * request for a lock held shared is refused with {@link Refusal#HELD_SHARED}: grants are
     * never upgraded.
     *
     * <p>{@link LockOptions#asking()}: when the answer is {@link LockResult.Queued}, every holder
     * is told {@link LockListener#asked} (each time this is called). {@link LockOptions#stealing()}:
     * the lock is granted at once with a new token, whoever holds it; every other holder is told
     * {@link LockListener#stolen} (and its late writes are refused by the token); the queue keeps
     * its order. Only during a quarantine after a possible loss of Redis data is a steal answered
     * {@link LockResult.Waiting}. Who may steal is the caller's policy: the core never refuses one.
     */
    CompletionStage<LockResult> lock(String lock, LockOptions options);

    /**
     * Leaves the queue of {@code lock}: no grant will come for that request. Refused with
     * {@link Refusal#NOT_QUEUED} if the session does not queue for it (a grant that was already
     * told is not undone: unlock it).
     */
    CompletionStage<CancelResult> cancel(String lock);

    /**
     * Releases a lock this session holds; waiters on every node are told. Refused with
     * {@link Refusal#NOT_OWNER}, changing nothing, if this session does not hold it.
     */
    CompletionStage<UnlockResult> unlock(String lock);

    /**
     * Takes all the locks or none: if any is held by another session none is taken, the
     * answer is {@link MultiLockResult.Waiting}, and this session will be told
     * {@link LockListener#retry(String)} for each of those.
     */
    CompletionStage<MultiLockResult> lockAll(Collection<String> locks);

    /** {@link #lockAll(Collection)} in one mode for all the locks; never queues. */
    CompletionStage<MultiLockResult> lockAll(Collection<String> locks, LockMode mode);

    /**
     * Releases all the locks or none: if any is not held by this session, refused with
     * {@link Refusal#NOT_OWNER} and nothing is released.
     */
    CompletionStage<UnlockResult> unlockAll(Collection<String> locks);

    /** The locks this session holds now, with their fencing tokens. */
    Map<String, Long> heldLocks();

    /** The locks this session queues for now. */
    java.util.Set<String> queuedLocks();

    /** How long the session outlives {@link #detach()}; zero if it cannot be resumed. */
    default java.time.Duration grace() {
        return java.time.Duration.ZERO;
    }

    /**
     * The secret that {@link LockService#resume} asks for: at least 128 random bits, kept in Redis
     * only as a hash, never logged. Each resume issues a new one. Empty for a session without grace.
     */
    java.util.Optional<String> resumeSecret();

    /**
     * Completes once the session's record in the session registry was first written (or that write
     * failed; the record is then written when the session detaches): from then on a
     * {@link LockService#resume} with {@link #resumeSecret()} finds the session on any node. A
     * server should tell the client its secret only then. Already complete for a session without
     * grace, and for a resumed one.
     */
    default java.util.concurrent.CompletionStage<Void> recorded() {
        return java.util.concurrent.CompletableFuture.completedFuture(null);
    }

    /**
     * The connection dropped without {@code close}: with a {@link #grace()} above zero the session
     * keeps its locks (renewed) and queue places, keeps its pushes (at most 1,000; past that it is
     * closed) for the next listener, and is closed as by {@link #closeAsync()} if it is not
     * resumed within the grace. With no grace this is {@link #closeAsync()}. After a detach, this
     * handle is stale: its operations are refused ({@link Refusal#SESSION_CLOSED}); only a resume
     * gives a usable one.
     */
    CompletionStage<Void> detach();

    /**
     * As {@link #detach()}, for a handle given by a resume whose answer could not reach the client
     * (its connection ended first): the client still holds the secret that resume spent and never
     * got the new one, so the spent secret resumes the session again. Without a resume behind this
     * handle it is {@link #detach()}.
     */
    default CompletionStage<Void> detachUnanswered() {
        return detach();
    }

    /** Whether {@link #close()} or {@link #closeAsync()} was called. */
    boolean isClosed();

    /**
     * Releases every lock this session holds, leaves every queue and forgets its waits; completes when Redis has
     * released them. Idempotent.
     */
    CompletionStage<Void> closeAsync();

    /**
     * Blocking {@link #closeAsync()}, for try-with-resources. If Redis cannot be reached the
     * locks free themselves when their leases run out. Called from one of this session's own
     * callbacks (its listener, or a callback of one of its stages), it starts the close and
     * returns without waiting: the close is answered after that callback returns.
     */
    @Override
    void close();
}
