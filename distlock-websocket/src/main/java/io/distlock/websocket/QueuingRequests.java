package io.distlock.websocket;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.core.LockResult;

/**
 * The {@code id} of the latest {@code lock} request that asked to queue, per lock name, for the
 * {@code request} field of {@code GRANTED} and {@code CANCELLED}: one per session. A request is
 * noted before the lock service is asked ({@link #ask}), so that a grant can never come before
 * its request is known, and settled when answered ({@link #answered}), in the order the lock
 * service tells its answers and pushes: one that did not queue gives the place back to the
 * request it replaced. A grant {@linkplain #take takes} the entry, a cancel or a
 * {@code CANCELLED} {@linkplain #placeEnded ends} the one that queued (and names it). So
 * what is kept never outgrows the locks the session queues for, plus its requests in flight.
 *
 * <p>Thread-safe: requests are noted on the container's thread, answered and taken on the lock
 * service's.
 */
final class QueuingRequests {

    /** One request that asked to queue: its id (null if it had none) and, until it is answered, the one it replaced. */
    static final class Ticket {
        private final JsonNode id;
        private Ticket replaced; // guarded by the map
        private boolean queued; // answered QUEUED; guarded by the map

        private Ticket(JsonNode id, Ticket replaced) {
            this.id = id;
            this.replaced = replaced;
        }
    }

    private final Map<String, Ticket> latest = new HashMap<>(); // guarded by itself

    /**
     * Notes a request for {@code lock} with {@code id} (null if none) that asks to queue, asks it
     * ({@code ask}, the lock service's call), and settles the note when the answer comes. All under
     * the notes' lock: a {@code CANCELLED} decided meanwhile on the lock service's thread (which may
     * answer before {@code ask} even returns) waits until the answer's hook is in place, so it sees
     * this request as answered if its answer came first (then the place that ended may be the one
     * it kept), and as not answered otherwise (then it queues anew, after the place ended).
     */
    CompletionStage<LockResult> ask(String lock, JsonNode id, Supplier<CompletionStage<LockResult>> ask) {
        synchronized (latest) {
            Ticket t = asking(lock, id);
            CompletionStage<LockResult> stage = ask.get();
            stage.whenComplete((result, error) -> answered(lock, t, result instanceof LockResult.Queued));
            return stage;
        }
    }

    /** A request for {@code lock} with {@code id} (null if none) is about to ask to queue: it is the latest. */
    Ticket asking(String lock, JsonNode id) {
        synchronized (latest) {
            Ticket t = new Ticket(id, latest.get(lock));
            latest.put(lock, t);
            return t;
        }
    }

    /**
     * {@code t}'s request was answered. If it {@code queued}, it stays the latest (unless a later
     * one replaced it). If not ({@code LOCKED}, a refusal, a failure), it is as if it had never
     * asked: the request it replaced is the latest again, or nothing if there was none.
     */
    void answered(String lock, Ticket t, boolean queued) {
        synchronized (latest) {
            if (queued) {
                t.replaced = null; // what it replaced is over: it queued in its place
                t.queued = true;
                return;
            }
            Ticket current = latest.get(lock);
            if (current == t) {
                if (t.replaced == null) {
                    latest.remove(lock);
                } else {
                    latest.put(lock, t.replaced);
                }
                return;
            }
            // A later request, still unanswered, replaced it: take it out of that one's chain.
            for (Ticket later = current; later != null; later = later.replaced) {
                if (later.replaced == t) {
                    later.replaced = t.replaced;
                    return;
                }
            }
        }
    }

    /**
     * The session's place in {@code lock}'s queue ended without a grant (a {@code cancel}'s
     * {@code OK}, a {@code CANCELLED}): forgets the request that queued for it, but none sent after
     * it and not answered yet, which queues anew and is named by its own grant. Returns the id of
     * the request forgotten, for the {@code request} field of {@code CANCELLED}; null if none or it had none.
     */
    JsonNode placeEnded(String lock) {
        synchronized (latest) {
            Ticket current = latest.get(lock);
            if (current == null) {
                return null;
            }
            if (current.queued) {
                latest.remove(lock);
                return current.id;
            }
            for (Ticket later = current; later.replaced != null; later = later.replaced) {
                if (later.replaced.queued) {
                    JsonNode id = later.replaced.id;
                    later.replaced = later.replaced.replaced;
                    return id;
                }
            }
            return null;
        }
    }

    /** Forgets the latest request that queued for {@code lock} (granted); returns its id, or null if none or it had none. */
    JsonNode take(String lock) {
        synchronized (latest) {
            Ticket t = latest.remove(lock);
            return t == null ? null : t.id;
        }
    }

    /**
     * Adds what {@code from} remembers for locks this one has nothing for: a session resumed on
     * the same node keeps the ids of the requests that queued on its earlier connection.
     */
    void takeOver(QueuingRequests from) {
        Map<String, Ticket> copy;
        synchronized (from.latest) {
            copy = new HashMap<>(from.latest);
        }
        synchronized (latest) {
            copy.forEach(latest::putIfAbsent);
        }
    }

    /** How many lock names a request is remembered for. */
    int size() {
        synchronized (latest) {
            return latest.size();
        }
    }
}
