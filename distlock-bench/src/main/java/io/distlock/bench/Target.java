package io.distlock.bench;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * What a bench phase runs against: the server over WebSocket, the core's {@code LockService}
 * in this JVM, or Redisson's {@code RLock}. Sessions of every target answer with the
 * protocol's statuses, so one driver runs them all.
 */
interface Target extends AutoCloseable {

    /** Receives a session's pushes, on whichever thread the target delivers them. */
    interface Pushes {
        void retry(String lock);

        void lost(String lock);

        /**
         * A queued request was granted (version 2's {@code GRANTED}).
         *
         * @param request the id of the request that queued, as the push names it; -1 if the target has no ids
         */
        void granted(String lock, long token, boolean shared, long request);

        /** A queued request left the queue without a grant (version 2's {@code CANCELLED}). */
        void cancelled(String lock, String reason);
    }

    /** One session; one request in flight at a time. */
    interface Session {
        /**
         * {@code lock} (one name) or {@code mlock}: {@code LOCKED} with token(s), {@code WAIT},
         * {@code QUEUED} (only if {@code wait}) or {@code FAIL}.
         *
         * @param shared in shared mode rather than exclusive
         * @param wait   queue if it cannot be granted now (single names only; an {@code mlock} never queues)
         */
        CompletionStage<Reply> lock(List<String> names, boolean shared, boolean wait);

        /** {@code unlock} or {@code munlock}: {@code OK} or {@code FAIL}. */
        CompletionStage<Reply> unlock(List<String> names);

        /** Ends the session, releasing what it holds. */
        CompletionStage<Void> close();
    }

    /** {@code websocket}, {@code direct} or {@code redisson}. */
    String label();

    /** The number of server nodes the sessions are spread over (1 for in-process targets). */
    int nodes();

    /** The node session {@code index} talks to. */
    int nodeOf(int index);

    /** Opens session number {@code index}. */
    CompletionStage<Session> open(int index, String name, Pushes pushes);

    @Override
    void close();
}
