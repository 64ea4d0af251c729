package io.distlock.core;

import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The answer to {@link LockService#resume}: {@link Resumed}, or {@link Refused} with
 * {@link Refusal#SESSION_EXPIRED} (the same for an unknown session, a wrong secret and a grace
 * that is over, so a guess learns nothing).
 */
public sealed interface ResumeResult permits ResumeResult.Resumed, Refused {

    /** A lock the resumed session holds: the same grant (and token) as before the connection dropped. */
    record Held(long token, LockMode mode) { }

    /**
     * The session is attached to the new listener.
     *
     * <p>{@link #locks()} and {@link #queued()} are the truth when the answer was made: a lock
     * the client believed it held and that is not listed was lost. Pushes the session missed
     * while detached on this node follow the answer, in order.
     */
    final class Resumed implements ResumeResult {
        private final LockSession session;
        private final Map<String, Held> locks;
        private final Set<String> queued;
        private final String secret;

        Resumed(LockSession session, Map<String, Held> locks, Set<String> queued, String secret) {
            this.session = Objects.requireNonNull(session, "session");
            this.locks = Map.copyOf(locks);
            this.queued = Set.copyOf(queued);
            this.secret = Objects.requireNonNull(secret, "secret");
        }

        /** The session, to be used from now on; the handle it had before is stale (every operation refused). */
        public LockSession session() {
            return session;
        }

        public Map<String, Held> locks() {
            return locks;
        }

        public Set<String> queued() {
            return queued;
        }

        /** The new resume secret: the one used here no longer resumes the session. Never logged. */
        public String secret() {
            return secret;
        }

        @Override
        public String toString() {
            return "Resumed{session=" + session.id() + ", locks=" + locks.keySet() + ", queued=" + queued + "}";
        }
    }
}
