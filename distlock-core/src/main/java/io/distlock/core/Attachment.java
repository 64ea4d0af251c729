package io.distlock.core;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One attachment of a resumable {@link Session} (grace above zero) to a listener: the handle that
 * {@link LockService#openSession(String, LockListener, SessionOptions)} and
 * {@link LockService#resume} give out. Once the session is resumed elsewhere, this handle is stale:
 * operations are refused ({@link Refusal#SESSION_CLOSED}), and its detach or close changes
 * nothing, so a connection that ends late cannot end the session another connection has now.
 * Staleness is checked when an operation's turn comes in the session's chain, not when it is
 * called: one called while a resume is out runs after it, and is refused if the resume succeeded.
 */
final class Attachment implements LockSession {

    private final Session session;
    private final int epoch;
    private final String secret;

    Attachment(Session session, int epoch, String secret) {
        this.session = session;
        this.epoch = epoch;
        this.secret = secret;
    }

    /** For tests of the registry, and the service. */
    Session toSession() {
        return session;
    }

    int epoch() {
        return epoch;
    }

    private boolean stale() {
        return session.epoch() != epoch;
    }

    @Override
    public String name() {
        return session.name();
    }

    @Override
    public String id() {
        return session.id();
    }

    @Override
    public CompletionStage<LockResult> lock(String lock) {
        return session.lock(lock, LockOptions.DEFAULT, epoch);
    }

    @Override
    public CompletionStage<LockResult> lock(String lock, LockOptions options) {
        return session.lock(lock, options, epoch);
    }

    @Override
    public CompletionStage<CancelResult> cancel(String lock) {
        return session.cancel(lock, epoch);
    }

    @Override
    public CompletionStage<UnlockResult> unlock(String lock) {
        return session.unlock(lock, epoch);
    }

    @Override
    public CompletionStage<MultiLockResult> lockAll(Collection<String> locks) {
        return session.lockAll(locks, LockMode.EXCLUSIVE, epoch);
    }

    @Override
    public CompletionStage<MultiLockResult> lockAll(Collection<String> locks, LockMode mode) {
        return session.lockAll(locks, mode, epoch);
    }

    @Override
    public CompletionStage<UnlockResult> unlockAll(Collection<String> locks) {
        return session.unlockAll(locks, epoch);
    }

    @Override
    public Map<String, Long> heldLocks() {
        return stale() ? Map.of() : session.heldLocks();
    }

    @Override
    public Set<String> queuedLocks() {
        return stale() ? Set.of() : session.queuedLocks();
    }

    @Override
    public Duration grace() {
        return session.grace();
    }

    @Override
    public Optional<String> resumeSecret() {
        return Optional.of(secret);
    }

    @Override
    public CompletionStage<Void> recorded() {
        return session.firstRecord();
    }

    @Override
    public CompletionStage<Void> detach() {
        return stale() ? CompletableFuture.completedFuture(null) : session.detach(epoch);
    }

    @Override
    public CompletionStage<Void> detachUnanswered() {
        return stale() ? CompletableFuture.completedFuture(null) : session.detach(epoch, true);
    }

    @Override
    public boolean isClosed() {
        return stale() || session.isClosed();
    }

    @Override
    public CompletionStage<Void> closeAsync() {
        return session.closeAsync(epoch);
    }

    @Override
    public void close() {
        session.awaitClose(closeAsync());
    }

    /** Never the secret. */
    @Override
    public String toString() {
        return session.toString();
    }
}
