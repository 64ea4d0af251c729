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
 * its request is known, and settled when answered, in the order the lock service tells its
 * answers and pushes: one refused gives the place back to the request it replaced. A grant
 * {@linkplain #take takes} the entry, a cancel or a {@code CANCELLED} {@linkplain #placeEnded
 * ends} the one that queued (and names it). So what is kept never outgrows the locks the session
 * queues for, plus its requests in flight.
 *
 * <p>Thread-safe: requests are noted on the container's thread, answered and taken on the lock
 * service's.
 */
final class QueuingRequests {

    /** One request that asked to queue: its id (null if it had none) and, until it is answered, the one it replaced. */
    private static final class Ticket {
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
            Ticket t = new Ticket(id, latest.get(lock)); // the latest, so that a grant can never come before its id is known
            latest.put(lock, t);
            CompletionStage<LockResult> stage = ask.get();
            stage.whenComplete((result, error) -> answered(lock, t, result));
            return stage;
        }
    }

    /**
     * {@code t}'s request was answered ({@code result}, null if it failed). If it queued, it stays
     * the latest (unless a later one replaced it), and what it replaced is over. If it was granted
     * ({@code LOCKED}), so is any place it had (a request asked again while queued passes its place):
     * it and what it replaced are over. Otherwise (refused, failed) it is as if it had never asked:
     * the request it replaced is the latest again, or nothing if there was none.
     */
    private void answered(String lock, Ticket t, LockResult result) {
        synchronized (latest) {
            if (result instanceof LockResult.Queued) {
                t.replaced = null;
                t.queued = true;
                return;
            }
            Ticket back = result instanceof LockResult.Locked ? null : t.replaced;
            Ticket current = latest.get(lock);
            if (current == t) {
                if (back == null) {
                    latest.remove(lock);
                } else {
                    latest.put(lock, back);
                }
                return;
            }
            // A later request, still unanswered, replaced it: take it out of that one's chain.
            for (Ticket later = current; later != null; later = later.replaced) {
                if (later.replaced == t) {
                    later.replaced = back;
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
        Map<String, Ticket> copy = new HashMap<>();
        synchronized (from.latest) {
            // Only what queued: a request still unanswered there waits behind the resume in the
            // session's order, and is refused (the connection it came on is stale).
            from.latest.forEach((lock, t) -> {
                for (Ticket q = t; q != null; q = q.replaced) {
                    if (q.queued) {
                        Ticket queued = new Ticket(q.id, null);
                        queued.queued = true;
                        copy.put(lock, queued);
                        return;
                    }
                }
            });
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
