package io.distlock.websocket;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.distlock.core.LockSession;
import jakarta.websocket.CloseReason;
import jakarta.websocket.CloseReason.CloseCodes;
import jakarta.websocket.Session;

/**
 * One WebSocket connection: takes its frames in (size, rate limit, parsing), hands each
 * request to its {@link RequestHandler} with a place in the reply order, bounds what waits to
 * be sent ({@link Outbound}), pings and closes it when silent, and releases its
 * {@link LockSession} when the connection ends for any reason.
 *
 * <p>The container delivers one frame at a time; replies complete on lock-service threads;
 * the node's timer checks liveness and its sender pings. Shared state (the session, whether
 * the connection ended) is guarded by this object's monitor.
 */
final class Connection {

    private static final System.Logger LOG = System.getLogger(Connection.class.getName());
    private static final byte[] PING = {'d', 'l'};
    /**
     * Redis calls one connection may have in flight; past it frames wait their turn. A query or
     * watch reads each of its names (up to 64), so the rate limit's burst of 400 requests put
     * 25,000 calls in flight per connection, and about 20 connections from one address ran a
     * node with a 512 MB heap out of memory (a probe, 2026-12-04). About 3 KB of heap each.
     */
    static final int MAX_REDIS_CALLS = 256;

    private final Node node;
    private final Session ws;
    private final RequestHandler requests;
    private final Outbound out;
    private final RateLimiter limiter;
    private final long pingNanos;
    private final Silence silence;
    private ScheduledFuture<?> ticker; // guarded by this
    private boolean counted; // in the node's open connections; guarded by this
    /** The client's address key ({@link ClientAddress#key}), or null if the container did not tell it. */
    private final String client;

    private volatile LockSession session; // written under this
    /** The protocol version {@link #session} speaks; 1 while there is none. Guarded by this. */
    private int version = 1;
    private boolean closed; // guarded by this
    /** A {@code resume} is out: until it answers, no other may start and no {@code connect} may open a session. Guarded by this. */
    private boolean resuming;
    private CompletionStage<Void> released; // guarded by this
    /** Frames taken in but not served yet, in order: they wait while {@link #redisCalls} is at its bound. Guarded by itself. */
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>(1);
    /** Redis calls that served requests may have in flight, until their replies. Guarded by {@link #waiting}. */
    private int redisCalls;
    /** A thread is serving {@link #waiting}: the others leave the frames to it. Guarded by {@link #waiting}. */
    private boolean serving;

    Connection(Node node, Session ws, Object principal, String client) {
        this.node = node;
        this.ws = ws;
        this.client = client;
        this.requests = new RequestHandler(node, this, principal);
        EndpointOptions options = node.options;
        this.out = new Outbound(new SessionTransport(ws), options.maxQueuedPushes(), options.maxQueuedBytes(),
                this::slowConsumer,
                this::sendFailed);
        long now = node.nanos();
        this.limiter = new RateLimiter(options.rateLimitPerSecond(), options.rateLimitBurst(), now);
        this.pingNanos = options.pingInterval().toNanos();
        this.silence = new Silence(pingNanos, now);
    }

    /**
     * Starts pinging, counts the connection, and makes it visible to
     * {@link DistLockEndpoints#closeAll()}. The handshake refuses connections past the limits
     * (per node and per client address); handshakes that raced past one together are closed
     * here (1013, try again later).
     */
    void start() {
        node.connections.add(this);
        boolean overLimit;
        boolean overAddressLimit = false;
        boolean endpointClosed = false;
        synchronized (this) {
            if (closed) {
                node.connections.remove(this);
                return;
            }
            counted = true;
            overLimit = node.opened() > node.options.maxConnections();
            if (client != null) {
                overAddressLimit = node.openedFrom(client) > node.options.maxConnectionsPerAddress();
            }
            if (node.isClosed()) {
                endpointClosed = true; // after the connections were added: closeAll saw it, or this sees the flag
            } else {
                long period = TimeUnit.NANOSECONDS.toMillis(pingNanos);
                try {
                    ticker = node.timer().scheduleWithFixedDelay(this::tick, period, period, TimeUnit.MILLISECONDS);
                } catch (RejectedExecutionException e) {
                    endpointClosed = true; // the endpoint's threads stopped meanwhile
                }
            }
        }
        if (endpointClosed) {
            close(CloseCodes.GOING_AWAY, "server shutting down");
        } else if (overLimit) {
            node.sender().execute(() -> close(CloseCodes.TRY_AGAIN_LATER, "too many connections; try again later"));
        } else if (overAddressLimit) {
            node.sender().execute(() -> close(CloseCodes.TRY_AGAIN_LATER, "too many connections from this address; try again later"));
        }
    }

    /** The container's id of this connection (unique on the node while it is open). */
    String id() {
        return ws.getId();
    }

    /** Any frame from the client, pongs included, proves it is alive. */
    void heard() {
        silence.heard(node.nanos());
    }

    void onText(String text) {
        onFrame(text);
    }

    void onBinary(ByteBuffer data) {
        onFrame(null);
    }

    /** One frame from the client: {@code null} for a binary one, which the protocol does not use. */
    private void onFrame(String text) {
        long arrived = node.nanos();
        silence.heard(arrived);
        if (isClosed()) {
            return;
        }
        if (text != null && Frames.longerThan(text, node.options.maxFrameBytes())) {
            // Normally the container closes first (we set its buffer limit); this covers the rest.
            close(CloseCodes.TOO_BIG, "frame larger than " + node.options.maxFrameBytes() + " bytes");
            return;
        }
        RateLimiter.Verdict verdict = limiter.acquire(arrived);
        if (verdict == RateLimiter.Verdict.FLOOD) {
            close(CloseCodes.VIOLATED_POLICY, "too many requests");
            return;
        }
        ReplySlot slot = new ReplySlot(node, out.reserve(), arrived);
        Waiting next;
        synchronized (waiting) {
            waiting.add(new Waiting(text, slot, verdict == RateLimiter.Verdict.LIMITED));
            if (serving) {
                return; // the thread serving the frames takes this one too, in its turn
            }
            serving = true;
            next = waiting.peek();
        }
        serveFrom(next);
    }

    /** A frame taken in: its text ({@code null} for a binary one), its reply's place, whether the rate limit refused it. */
    private record Waiting(String text, ReplySlot slot, boolean limited) { }

    /**
     * Serves the waiting frames in order, one at a time, from {@code next} (the first, which this
     * thread took {@link #serving} for), while the Redis calls in flight allow the next; the
     * reply of a call that ends lets the rest go on. Each frame is read when its turn comes,
     * against the session as it is then (connect and close change it at once).
     */
    private void serveFrom(Waiting next) {
        for (;;) {
            if (isClosed()) {
                synchronized (waiting) {
                    waiting.clear();
                    serving = false;
                }
                return;
            }
            Request request = read(next);
            int calls = request == null ? 0 : request.redisCalls();
            synchronized (waiting) {
                if (calls > 0 && redisCalls > 0 && redisCalls + calls > MAX_REDIS_CALLS) {
                    serving = false; // read again when a call in flight ends
                    return;
                }
                waiting.poll();
                redisCalls += calls;
            }
            if (request != null) {
                next.slot().whenAnswered(() -> callsEnded(calls));
                next.slot().concerns(request.locksNamed());
                serve(request, next.slot());
                next.slot().served();
            }
            synchronized (waiting) {
                next = waiting.peek();
                if (next == null) {
                    serving = false;
                    return;
                }
            }
        }
    }

    private void callsEnded(int calls) {
        Waiting next;
        synchronized (waiting) {
            redisCalls -= calls;
            if (serving || waiting.isEmpty()) {
                return; // nothing waits, or the thread serving will see the calls ended
            }
            serving = true;
            next = waiting.peek();
        }
        serveFrom(next);
    }

    /** The request in {@code frame}, or null if it was answered already (unreadable, or refused by the rate limit). */
    private Request read(Waiting frame) {
        ReplySlot slot = frame.slot();
        int speaks = version();
        try {
            if (frame.text() == null) {
                throw new BadRequest(FailCode.BAD_REQUEST, "binary frames are not part of the protocol; send JSON text", null, null);
            }
            Request request = Frames.parse(frame.text(), speaks, current() == null);
            slot.action = request.action().wire;
            if (frame.limited()) {
                slot.answer(Replies.fail(request, FailCode.RATE_LIMITED, "too many requests; slow down"));
                return null;
            }
            return request;
        } catch (BadRequest e) {
            if (e.action != null) {
                slot.action = Action.of(e.action, speaks) != null ? e.action : "unknown";
            }
            FailCode code = frame.limited() ? FailCode.RATE_LIMITED : e.code;
            String message = frame.limited() ? "too many requests; slow down" : e.getMessage();
            slot.answer(Replies.badRequest(e, code, message));
        } catch (RuntimeException | Error e) {
            slot.answer(Replies.internal(null, e));
        }
        return null;
    }

    /**
     * Serves {@code request}; a failure is answered {@code INTERNAL}, an Error too: thrown on, it
     * would leave the slot unanswered and {@link #serving} set, and every later reply of the
     * connection waiting behind it for good.
     */
    private void serve(Request request, ReplySlot slot) {
        try {
            requests.serve(request, slot);
        } catch (RuntimeException | Error e) {
            slot.answer(Replies.internal(request, e));
        }
    }

    /**
     * The connection ended (closed by either side, or broken): release the session, or, for a
     * session with a grace, detach it: it waits for a {@code resume} for its grace. A client's
     * {@code close} has taken the session away before this, and closed it.
     */
    CompletionStage<Void> release() {
        LockSession toClose;
        CompletableFuture<Void> done = new CompletableFuture<>();
        synchronized (this) {
            if (closed) {
                return released;
            }
            closed = true;
            released = done;
            toClose = session;
            session = null;
            version = 1;
            if (ticker != null) {
                ticker.cancel(false);
            }
            if (counted) {
                counted = false;
                node.closed();
                if (client != null) {
                    node.closedFrom(client);
                }
            }
        }
        out.close();
        node.connections.remove(this);
        requests.ended();
        if (toClose == null) {
            done.complete(null);
        } else {
            // Past the address's or the node's detached sessions (none counted when the endpoint is stopping:
            // a rolling restart leaves every resumable session for another node), closed as if graceless.
            boolean detach = !toClose.grace().isZero() && (node.isClosed() || node.mayDetach(client, toClose));
            node.releasesAllowed()
                    .thenCompose(v -> detach ? detachQuietly(toClose) : closeQuietly(toClose, node))
                    .whenComplete((v, e) -> done.complete(null));
        }
        return done;
    }

    static CompletionStage<Void> detachQuietly(LockSession s) {
        return s.detach().handle((v, e) -> {
            if (e != null) {
                LOG.log(Level.DEBUG, "Session ''{0}'' could not be marked detached in Redis: {1}", s.name(), String.valueOf(e.getMessage()));
            }
            return null;
        });
    }

    /**
     * The session {@code moved} was resumed by another connection: let it go without closing or
     * detaching it (it is the other connection's now), and close this connection normally.
     */
    void resumedElsewhere(LockSession moved) {
        synchronized (this) {
            if (session != moved) {
                return;
            }
            session = null;
            version = 1;
        }
        node.sender().execute(() -> close(CloseCodes.NORMAL_CLOSURE, "session resumed by another connection"));
    }

    /**
     * The container reported an error: a broken connection, or something thrown by what it called
     * here. Releases the session and closes the WebSocket if it is still open (Tyrus keeps a
     * connection open after a message handler threw, and its client would wait for replies forever).
     */
    void failed() {
        release();
        node.sender().execute(() -> close(CloseCodes.UNEXPECTED_CONDITION, "unexpected server error"));
    }

    /** From now on no frame but the close reaches the client: what waits to be sent is dropped. */
    void mute() {
        out.close();
    }

    /** Sends the close frame, and nothing else: the session is released by the container's onClose, or by the caller. */
    void sendClose(CloseReason.CloseCode code, String reason) {
        try {
            if (ws.isOpen()) {
                ws.close(new CloseReason(code, reason));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Could not close a WebSocket cleanly: {0}", e.toString());
        }
    }

    /**
     * Closes the WebSocket with {@code code}, then releases the session: the close frame goes
     * first, so that a client that reads is told before its locks are freed (and nothing else
     * follows it). A close may block in Tomcat, up to 50 ms for a client that does not read.
     */
    CompletionStage<Void> close(CloseReason.CloseCode code, String reason) {
        mute();
        sendClose(code, reason);
        return release();
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    synchronized LockSession current() {
        return session;
    }

    /** Frames waiting to be sent; for tests. */
    int queuedFrames() {
        return out.queued();
    }

    /** The protocol version the session speaks, 1 while there is none. */
    synchronized int version() {
        return version;
    }

    // ---- liveness ----

    /**
     * Runs on the node's timer, shared by every connection: it must never block, so the
     * container calls (a ping, a close) go to the node's sender. Closes a connection silent
     * for two ping intervals or more, on {@link EndpointOptions#ticker()}, but not for a stall of
     * the node's own ({@link Silence}).
     */
    void tick() {
        try {
            if (silence.silentAt(node.nanos())) {
                LOG.log(Level.DEBUG, "Closing a connection silent for two ping intervals");
                node.sender().execute(() -> close(CloseCodes.GOING_AWAY, "no answer to pings"));
                return;
            }
            out.pingIfIdle(node.sender());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "A connection's ping failed", e); // never let the timer task die
        }
    }

    /**
     * Too much waits to be sent: the session is let go at once, on whichever thread overflowed (often
     * a Redis callback's), and the container's close, which may block in Tomcat, goes to the sender.
     */
    private void slowConsumer() {
        release();
        node.sender().execute(() -> close(CloseCodes.VIOLATED_POLICY, "slow consumer: too much waiting to be sent"));
    }

    private void sendFailed(Throwable error) {
        LOG.log(Level.DEBUG, "Sending to a WebSocket failed; closing it: {0}", String.valueOf(error));
        close(CloseCodes.GOING_AWAY, "send failed");
    }

    // ---- the session, for the request handler ----

    /**
     * Whether this connection has a session, or will have one if the {@code resume} that is out
     * succeeds: a {@code connect} or another {@code resume} then is {@code ALREADY_CONNECTED}.
     * Otherwise a session the client opened before the resume answered would be replaced by
     * the resumed one, and left attached to nothing, holding its locks for as long as the node lives.
     */
    synchronized boolean hasOrAwaitsSession() {
        return session != null || resuming;
    }

    /** A {@code resume} starts; false if {@link #hasOrAwaitsSession()}. It ends with {@link #adopt} or {@link #resumeFailed}. */
    synchronized boolean startResume() {
        if (session != null || resuming) {
            return false;
        }
        resuming = true;
        return true;
    }

    synchronized void resumeFailed() {
        resuming = false;
    }

    /** Makes {@code opened}, speaking protocol {@code speaks}, this connection's session; false if the connection ended meanwhile. */
    synchronized boolean adopt(LockSession opened, int speaks) {
        resuming = false;
        if (closed) {
            return false;
        }
        session = opened;
        version = speaks;
        return true;
    }

    /** Takes the session away (for {@code close}); null if there is none. */
    synchronized LockSession detach() {
        LockSession s = session;
        session = null;
        version = 1;
        return s;
    }

    /**
     * A session resumed for this connection, which ended before it could be told: detached again
     * for its client to resume with the secret it has, within the caps on detached sessions of the
     * address and the node, as a dropped connection's is ({@link #release}); past them, closed.
     */
    void keepUnanswered(LockSession s) {
        if (node.isClosed() || node.mayDetach(client, s)) {
            s.detachUnanswered().exceptionally(e -> null);
        } else {
            node.releasesAllowed().thenCompose(v -> closeQuietly(s, node));
        }
    }

    /** Closes {@code s}; if Redis does not answer, logs it as {@code node}'s {@link Node#closedWithoutRedis} (which a close that reaches Redis starts over). */
    static CompletionStage<Void> closeQuietly(LockSession s, Node node) {
        return s.closeAsync().handle((v, e) -> {
            if (e != null) {
                node.closedWithoutRedis.happened("session '" + s.name() + "': " + e.getMessage());
            } else {
                node.closedWithoutRedis.reset(); // Redis answers again: the next outage's first is logged
            }
            return null;
        });
    }

    // ---- pushes ----

    /** Queues a push of {@code from}'s, dropped if it is no longer this connection's session. */
    void push(LockSession from, Status status, ObjectNode frame) {
        push(from, status, frame, () -> true);
    }

    /**
     * Queues a push of {@code from}'s, dropped if it is no longer this connection's session, or if
     * {@code stillWanted} says no, asked when the push is queued and, if it waits behind a reply,
     * again when its turn comes (called under the outbound queue's lock: it must not block or take
     * locks).
     */
    void push(LockSession from, Status status, ObjectNode frame, BooleanSupplier stillWanted) {
        push(from, status, frame, stillWanted, null);
    }

    /**
     * As {@link #push(LockSession, Status, ObjectNode, BooleanSupplier)}; a push with the same
     * {@code supersedes} key still waiting to be sent is dropped (a lock's {@code CHANGED}: only
     * its last state matters, and a client that reads slowly must not pile them up).
     */
    void push(LockSession from, Status status, ObjectNode frame, BooleanSupplier stillWanted, Object supersedes) {
        push(from, status, frame, stillWanted, supersedes, false);
    }

    /**
     * Queues a push of {@code from}'s that the client can do without and that others cause (an
     * {@code ASKED}): one with the same {@code supersedes} key still waiting is dropped for it, and
     * it is dropped itself rather than fill more than half of the connection's bounds (see {@link
     * Outbound#offer}), so that it never makes the client a slow consumer.
     */
    void offer(LockSession from, Status status, ObjectNode frame, Object supersedes) {
        push(from, status, frame, () -> true, supersedes, true);
    }

    private void push(LockSession from, Status status, ObjectNode frame, BooleanSupplier stillWanted, Object supersedes,
            boolean optional) {
        if (from == null || current() != from) {
            return;
        }
        // Dropped if its session is no longer this connection's when queued (the check above may be
        // overtaken by a close answered meanwhile) or, waiting behind a reply, when its turn comes:
        // after a close's OK the client must hear nothing of the closed session.
        // Counted when sent, not when queued: a superseded or dropped one never reaches the client.
        BooleanSupplier wanted = () -> session == from && stillWanted.getAsBoolean();
        Runnable sent = node.telemetry() == EndpointTelemetry.NONE ? null : () -> node.telemetry().pushed(status);
        String lock = frame.hasNonNull("lock") ? frame.get("lock").asText() : null; // none: about every lock
        if (optional) {
            out.offer(Frames.write(frame), wanted, supersedes, sent, lock);
        } else if (status == Status.LOST) {
            // Not behind replies still owed (only behind those made, about its lock): a request that waits for a
            // Redis this node cannot reach may be owed for half a lease, and the holder must hear LOST before its
            // lease runs out; a reply made after the loss never carries the lost grant.
            out.pushOvertaking(Frames.write(frame), wanted, sent, lock);
        } else {
            out.push(Frames.write(frame), wanted, supersedes, sent, lock);
        }
    }

    /** Sends through the container's asynchronous remote, which allows one send at a time. */
    private static final class SessionTransport implements Outbound.Transport {
        private final Session ws;

        SessionTransport(Session ws) {
            this.ws = ws;
        }

        @Override
        public void send(String text, Consumer<Throwable> done) {
            ws.getAsyncRemote().sendText(text, result -> done.accept(result.isOK() ? null
                    : result.getException() != null ? result.getException() : new IOException("send failed")));
        }

        @Override
        public void ping() throws IOException {
            ws.getAsyncRemote().sendPing(ByteBuffer.wrap(PING));
        }
    }
}
