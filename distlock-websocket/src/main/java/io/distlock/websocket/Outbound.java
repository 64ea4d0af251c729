package io.distlock.websocket;

import java.util.ArrayDeque;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The frames going to one connection: replies in request order, pushes in between, one send
 * at a time, at most {@code maxQueued} frames and {@code maxQueuedBytes} bytes waiting.
 *
 * <p>Why one send at a time: JSR-356 forbids starting an asynchronous send before the
 * previous one completed, and Tomcat enforces it with an exception. Why slots: a reply
 * produced at once (a {@code FAIL} found by reading the frame) must not overtake the reply
 * of an earlier request still waiting for Redis; every request reserves its place when it
 * arrives. Pushes take the next place when they happen, so a {@code RETRY} never overtakes
 * the {@code WAIT} it follows; but a {@code LOST} goes ahead of the replies still to come and
 * of the pushes about other locks ({@link #pushOvertaking}). A push may name what it supersedes (a lock's {@code CHANGED}: only
 * the last state matters): while one with the same key still waits, it is dropped and the new
 * one takes the next place, so a client that reads slowly gets fewer frames, not a pile.
 *
 * <p>Thread-safe. Sends start on whichever thread makes a frame ready while none is in
 * flight, and continue on the container's completion thread (or on the ping's thread after a
 * ping). Text sends are asynchronous; only the ping may block, so it runs on an executor given
 * to {@link #pingIfIdle}.
 */
final class Outbound {

    /** Where frames go; the connection's WebSocket session in production, a fake in tests. */
    interface Transport {

        /** Starts sending; {@code done} gets null on success or the failure, possibly before this returns. */
        void send(String text, Consumer<Throwable> done);

        /** Sends a ping; called only while no text send is in flight. May block (Jetty 12 does). */
        void ping() throws Exception;
    }

    /** A reply's place in the order. */
    final class Slot {
        private String frame;
        private boolean done; // guarded by Outbound.this
        /** For a push queued behind replies: whether it is still wanted when its turn comes. */
        private BooleanSupplier wanted;
        /** For a push: its key, by which a later push supersedes it while it waits; null if none. */
        private Object key;
        /** For a push: run when it is handed to the transport (not if superseded or dropped); null if nothing. */
        private Runnable sent;
        /**
         * The locks this reply or push speaks of, which a {@link #pushOvertaking} of one of them stays
         * behind; null for every lock. A reply's are none until its request is served ({@link #concerns}).
         */
        private Collection<String> locks = List.of(); // guarded by Outbound.this
        /** The request is being handed to the lock service now ({@link #concerns} to {@link #served}); guarded by Outbound.this. */
        private boolean serving;

        /** Gives the reply for this place; later calls are ignored. */
        void complete(String frame) {
            Outbound.this.complete(this, frame);
        }

        /** The request is served now, and its reply may speak of {@code locks} (null: of every lock). */
        void concerns(Collection<String> locks) {
            synchronized (Outbound.this) {
                this.locks = locks;
                serving = true;
            }
        }

        /** The request was handed to the lock service: a reply it made by now is {@link #complete}d. */
        void served() {
            synchronized (Outbound.this) {
                serving = false;
            }
        }

        /**
         * Whether a {@code LOST} of {@code lock} stays behind this place: a push about it; a reply
         * already made to a request that named it, which the lock service made before it told the
         * {@code LOST} and which may carry the grant it ends (a re-lock answers the token held); a
         * reply about every lock, made or not (a resume's lists what the session holds). Not a reply
         * still to come: a request whose operation ends after the loss is answered without the lost
         * grant (a re-lock then fails; nothing else finds it held any more). While the request is
         * being handed over, the lock service may have made its reply already, before the handler
         * has taken it (its stage completed before the handler's hook was on it): that counts as made.
         */
        private boolean speaksOf(String lock) {
            return locks == null || (done || serving) && locks.contains(lock);
        }
    }

    private static final int PENDING = 0;
    private static final int RETURNED = 1;
    private static final int COMPLETED = 2;

    private final Transport transport;
    private final int maxQueued;
    private final long maxQueuedBytes;
    private final Runnable onOverflow;
    private final Consumer<Throwable> onFailure;

    // Both start with room for one: an idle connection has nothing queued, and the default room
    // for 16 cost 128 bytes per connection (issue 16); a burst grows them as it comes.
    private final ArrayDeque<Slot> order = new ArrayDeque<>(1); // guarded by this
    /** Frames to send in order: a String, or the {@link Slot} of a push with a key. Guarded by this. */
    private final ArrayDeque<Object> ready = new ArrayDeque<>(1);
    /** The waiting push of each key (in {@code ready} or {@code order}); null until the first. Guarded by this. */
    private Map<Object, Slot> latest;
    private int queued; // frames made but not yet handed to the transport; guarded by this
    private long queuedBytes; // their size; guarded by this
    private int reserved; // replies reserved but not yet made; guarded by this
    private boolean sending; // guarded by this
    private boolean closed; // guarded by this

    /**
     * @param onOverflow called once, outside any lock, when more than {@code maxQueued} frames
     *                   or {@code maxQueuedBytes} bytes wait
     * @param onFailure  called when a send or ping fails (the connection is broken)
     */
    Outbound(Transport transport, int maxQueued, long maxQueuedBytes, Runnable onOverflow, Consumer<Throwable> onFailure) {
        this.transport = transport;
        this.maxQueued = maxQueued;
        this.maxQueuedBytes = maxQueuedBytes;
        this.onOverflow = onOverflow;
        this.onFailure = onFailure;
    }

    /**
     * Reserves the place of the reply to a request that just arrived. A request still being
     * worked on counts against the bound like a frame waiting to be sent: a client that sends
     * without reading cannot pile up work either, and once it is given up, its session's
     * release waits behind a bounded queue of requests.
     */
    Slot reserve() {
        Slot slot = new Slot();
        boolean overflow;
        synchronized (this) {
            if (closed) {
                return slot;
            }
            order.add(slot);
            reserved++;
            overflow = overflowed();
        }
        if (overflow) {
            onOverflow.run();
        }
        return slot;
    }

    /** Queues a push behind every reply reserved so far. */
    void push(String frame) {
        push(frame, () -> true);
    }

    /**
     * Queues a push behind every reply reserved so far, if {@code wanted} says so; if it has to
     * wait for one, it is sent only if {@code wanted} still says so when its turn comes (a push of
     * a session that a request waiting before it closes must not follow that request's reply).
     * {@code wanted} is called under this object's lock: it must not block or take locks.
     */
    void push(String frame, BooleanSupplier wanted) {
        push(frame, wanted, null);
    }

    /**
     * As {@link #push(String, BooleanSupplier)}; a push of the same {@code key} still waiting is
     * dropped (it has not reached the transport): this one supersedes it.
     */
    void push(String frame, BooleanSupplier wanted, Object key) {
        push(frame, wanted, key, null, null);
    }

    /**
     * As {@link #push(String, BooleanSupplier, Object)}, for a push about {@code lock} (null: about
     * every lock); {@code sent} (if not null) runs when the push is handed to the transport,
     * outside this object's lock, and never if it is superseded or dropped (not wanted any more,
     * or the connection closed first).
     */
    void push(String frame, BooleanSupplier wanted, Object key, Runnable sent, String lock) {
        push(frame, wanted, key, sent, lock, Kind.IN_TURN);
    }

    /**
     * As {@link #push(String, BooleanSupplier, Object, Runnable, String)}, for a push about
     * {@code lock} that must not wait for replies that cannot carry its grant (a {@code LOST}: the
     * holder must hear it before its lease runs out, and a request owed while Redis does not answer
     * can be owed for half a lease): it goes behind the last waiting reply or push that speaks of
     * {@code lock} (or of every lock: a {@code resume}'s, say), ahead of the rest. A reply speaks of
     * it only once made ({@link Slot#speaksOf}): one still to come, served or not, is made after the
     * loss and tells the same after this push as before.
     */
    void pushOvertaking(String frame, BooleanSupplier wanted, Runnable sent, String lock) {
        push(frame, wanted, null, sent, lock, Kind.OVERTAKING);
    }

    /**
     * As {@link #push(String, BooleanSupplier, Object, Runnable, String)}, for a push the client can
     * do without, which others cause (an {@code ASKED}: the holder learns that someone asks, not how
     * often): dropped instead if, queued, it would take more than half of either bound, so that
     * such pushes never make the connection a slow consumer and always leave room for the rest.
     */
    void offer(String frame, BooleanSupplier wanted, Object key, Runnable sent, String lock) {
        push(frame, wanted, key, sent, lock, Kind.OPTIONAL);
    }

    /** How a push takes its place: behind every waiting reply (dropped or not if the bounds are half full), or ahead of some. */
    private enum Kind { IN_TURN, OPTIONAL, OVERTAKING }

    private void push(String frame, BooleanSupplier wanted, Object key, Runnable sent, String lock, Kind kind) {
        boolean overflow;
        synchronized (this) {
            // The waiting places it goes ahead of: none, or those after the last that speaks of its lock.
            int ahead = kind == Kind.OVERTAKING && lock != null ? placesAfterTheLastAbout(lock) : 0;
            boolean nothingBefore = ahead == order.size();
            if (closed || nothingBefore && !wanted.getAsBoolean()) {
                return; // asked now if no reply is reserved: the session may have gone since the caller looked
            }
            Slot old = key == null || latest == null ? null : latest.get(key);
            if (kind == Kind.OPTIONAL) {
                boolean replaces = old != null;
                long frames = queued + reserved + 1 - (replaces ? 1 : 0);
                long bytes = queuedBytes + size(frame) - (replaces ? size(old.frame) : 0);
                if (frames > maxQueued / 2 || bytes > maxQueuedBytes / 2) {
                    return; // the one waiting, if any, stays
                }
            }
            if (old != null) {
                latest.remove(key);
                if (order.removeFirstOccurrence(old) || ready.removeFirstOccurrence(old)) {
                    queued--;
                    queuedBytes -= size(old.frame);
                }
                nothingBefore = order.isEmpty(); // keyed pushes never overtake
            }
            if (nothingBefore && key == null && sent == null) {
                ready.add(frame);
            } else {
                Slot slot = new Slot();
                slot.frame = frame;
                slot.done = true;
                slot.wanted = wanted;
                slot.key = key;
                slot.sent = sent;
                slot.locks = lock == null ? null : List.of(lock);
                if (nothingBefore) {
                    ready.add(slot);
                } else {
                    insert(slot, ahead);
                }
                if (key != null) {
                    if (latest == null) {
                        latest = new HashMap<>(4);
                    }
                    latest.put(key, slot);
                }
            }
            queued++;
            queuedBytes += size(frame);
            overflow = overflowed();
        }
        afterQueued(overflow);
    }

    /** How many waiting places come after the last one that speaks of {@code lock}: all of them if none does. */
    private int placesAfterTheLastAbout(String lock) {
        assert Thread.holdsLock(this);
        int after = 0;
        for (Iterator<Slot> it = order.descendingIterator(); it.hasNext() && !it.next().speaksOf(lock); ) {
            after++;
        }
        return after;
    }

    /** Puts {@code slot} in {@code order} ahead of its last {@code ahead} places. */
    private void insert(Slot slot, int ahead) {
        assert Thread.holdsLock(this);
        ArrayDeque<Slot> last = new ArrayDeque<>(ahead);
        for (int i = 0; i < ahead; i++) {
            last.addFirst(order.pollLast());
        }
        order.add(slot);
        order.addAll(last);
    }

    /** The text of {@code waiting}, polled from {@code ready}; a keyed push is no longer waiting. */
    private String taken(Object waiting) {
        assert Thread.holdsLock(this);
        if (waiting instanceof Slot slot) {
            if (slot.key != null) {
                latest.remove(slot.key, slot);
            }
            return slot.frame;
        }
        return (String) waiting;
    }

    /** Stops sending and drops what waits. A send in flight completes on its own. */
    synchronized void close() {
        closed = true;
        order.clear();
        ready.clear();
        latest = null;
    }

    /** Frames made but not yet handed to the transport (for tests). */
    synchronized int queued() {
        return queued;
    }

    /**
     * Starts a ping on {@code executor} if nothing is being sent; returns whether it did. A
     * busy connection is not pinged: its sends complete only if the client reads, which the
     * queue bounds watch. No text send starts until the ping returns, and a connection whose
     * last ping has not returned is busy: a client that stopped reading holds at most one
     * {@code executor} thread, however long its ping blocks.
     */
    boolean pingIfIdle(Executor executor) {
        synchronized (this) {
            if (sending || closed) {
                return false;
            }
            sending = true; // no text send may start during the ping
        }
        try {
            executor.execute(this::ping);
        } catch (RuntimeException e) {
            synchronized (this) {
                sending = false;
            }
            throw e;
        }
        return true;
    }

    private void ping() {
        try {
            transport.ping();
        } catch (Exception e) {
            synchronized (this) {
                sending = false;
            }
            onFailure.accept(e);
            return;
        }
        sendLoop(next());
    }

    private void complete(Slot slot, String frame) {
        boolean overflow;
        synchronized (this) {
            if (slot.done) {
                return;
            }
            slot.frame = frame;
            slot.done = true;
            if (closed) {
                return;
            }
            reserved--;
            queued++;
            queuedBytes += size(frame);
            while (!order.isEmpty() && order.peek().done) {
                Slot next = order.poll();
                if (next.wanted != null && !next.wanted.getAsBoolean()) {
                    if (next.key != null) {
                        latest.remove(next.key, next);
                    }
                    queued--;
                    queuedBytes -= size(next.frame);
                } else {
                    ready.add(next.key == null && next.sent == null ? next.frame : next); // a keyed push can still be superseded there
                }
            }
            overflow = overflowed();
        }
        afterQueued(overflow);
    }

    /**
     * A frame's size on the wire: frames are written with non-ASCII escaped, so one char is
     * one byte (and one byte of heap, as Java stores such strings).
     */
    private static int size(String frame) {
        return frame.length();
    }

    /** Frames' bytes made but not yet handed to the transport (for tests). */
    synchronized long queuedBytes() {
        return queuedBytes;
    }

    private boolean overflowed() {
        if (queued + reserved <= maxQueued && queuedBytes <= maxQueuedBytes) {
            return false;
        }
        close();
        return true;
    }

    private void afterQueued(boolean overflow) {
        if (overflow) {
            onOverflow.run();
            return;
        }
        String first;
        Object waiting;
        synchronized (this) {
            if (sending || closed || ready.isEmpty()) {
                return;
            }
            sending = true;
            waiting = ready.poll();
            first = taken(waiting);
            queued--;
            queuedBytes -= size(first);
        }
        sent(waiting);
        sendLoop(first);
    }

    /** The next frame to send, or null after marking the connection idle. */
    private String next() {
        String frame;
        Object waiting;
        synchronized (this) {
            waiting = closed ? null : ready.poll();
            frame = waiting == null ? null : taken(waiting);
            if (frame == null) {
                sending = false;
            } else {
                queued--;
                queuedBytes -= size(frame);
            }
        }
        sent(waiting);
        return frame;
    }

    /** Runs the {@code sent} of {@code waiting}, polled from {@code ready}, if it has one. */
    private static void sent(Object waiting) {
        if (waiting instanceof Slot slot && slot.sent != null) {
            slot.sent.run();
        }
    }

    /**
     * Sends frames one after another. A container may call the completion handler before
     * {@code send} returns; then this loop goes on instead of recursing, so a long queue
     * cannot overflow the stack.
     */
    private void sendLoop(String frame) {
        while (frame != null) {
            AtomicInteger state = new AtomicInteger(PENDING);
            Throwable[] failure = new Throwable[1];
            try {
                transport.send(frame, error -> {
                    failure[0] = error;
                    if (!state.compareAndSet(PENDING, COMPLETED)) {
                        continueAfter(error); // send() has returned: this thread carries on
                    }
                });
            } catch (RuntimeException e) {
                continueAfter(e);
                return;
            }
            if (state.compareAndSet(PENDING, RETURNED)) {
                return; // the handler carries on
            }
            if (failure[0] != null) {
                continueAfter(failure[0]);
                return;
            }
            frame = next();
        }
    }

    private void continueAfter(Throwable error) {
        if (error != null) {
            synchronized (this) {
                sending = false;
            }
            close();
            onFailure.accept(error);
            return;
        }
        sendLoop(next());
    }
}
