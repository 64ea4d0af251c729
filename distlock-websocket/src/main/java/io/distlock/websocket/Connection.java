package io.distlock.websocket;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

import com.fasterxml.jackson.databind.node.ObjectNode;

import io.distlock.core.LockListener;
import io.distlock.core.LockResult;
import io.distlock.core.LockSession;
import io.distlock.core.MultiLockResult;
import io.distlock.core.Refused;
import io.distlock.core.UnlockResult;
import jakarta.websocket.CloseReason;
import jakarta.websocket.CloseReason.CloseCodes;
import jakarta.websocket.Session;

/**
 * One WebSocket connection speaking the protocol: reads requests, calls its
 * {@link LockSession}, answers in request order, forwards pushes, enforces the limits, and
 * releases the session when the connection ends for any reason.
 *
 * <p>The container delivers one frame at a time; replies complete on lock-service threads;
 * the node's timer checks liveness and its sender pings. Shared state is guarded by this
 * object's monitor.
 */
final class Connection {

    private static final System.Logger LOG = System.getLogger(Connection.class.getName());
    private static final byte[] PING = {'d', 'l'};

    private final Node node;
    private final Session ws;
    private final Object principal;
    private final Outbound out;
    private final RateLimiter limiter;
    private final long pingNanos;
    private volatile long lastHeardNanos;
    private ScheduledFuture<?> ticker; // guarded by this
    private boolean counted; // in the node's open connections; guarded by this

    private LockSession session; // guarded by this
    private boolean closed; // guarded by this
    private CompletionStage<Void> released; // guarded by this

    Connection(Node node, Session ws, Object principal) {
        this.node = node;
        this.ws = ws;
        this.principal = principal;
        EndpointOptions options = node.options;
        this.out = new Outbound(new SessionTransport(ws), options.maxQueuedPushes(), options.maxQueuedBytes(),
                () -> close(CloseCodes.VIOLATED_POLICY, "slow consumer: too much waiting to be sent"),
                this::sendFailed);
        long now = node.nanos();
        this.limiter = new RateLimiter(options.rateLimitPerSecond(), options.rateLimitBurst(), now);
        this.pingNanos = options.pingInterval().toNanos();
        this.lastHeardNanos = now;
    }

    /**
     * Starts pinging, counts the connection, and makes it visible to
     * {@link DistLockEndpoints#closeAll()}. The handshake refuses connections past the limit;
     * handshakes that raced past it together are closed here (1013, try again later).
     */
    void start() {
        node.connections.add(this);
        boolean overLimit;
        boolean endpointClosed = false;
        synchronized (this) {
            if (closed) {
                node.connections.remove(this);
                return;
            }
            counted = true;
            overLimit = node.opened() > node.options.maxConnections();
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
        }
    }

    /** Any frame from the client, pongs included, proves it is alive. */
    void heard() {
        lastHeardNanos = node.nanos();
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
        lastHeardNanos = arrived;
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
        Pending slot = new Pending(out.reserve(), arrived);
        try {
            if (text == null) {
                throw new BadRequest(FailCode.BAD_REQUEST, "binary frames are not part of the protocol; send JSON text", null, null);
            }
            Request request = Frames.parse(text);
            slot.action = request.action().wire;
            if (verdict == RateLimiter.Verdict.LIMITED) {
                slot.answer(Replies.fail(request, FailCode.RATE_LIMITED, "too many requests; slow down"));
                return;
            }
            serve(request, slot);
        } catch (BadRequest e) {
            if (e.action != null) {
                slot.action = Action.of(e.action) != null ? e.action : "unknown";
            }
            FailCode code = verdict == RateLimiter.Verdict.LIMITED ? FailCode.RATE_LIMITED : e.code;
            String message = verdict == RateLimiter.Verdict.LIMITED ? "too many requests; slow down" : e.getMessage();
            slot.answer(Replies.badRequest(e, code, message));
        } catch (RuntimeException e) {
            slot.answer(Replies.internal(null, e));
        }
    }

    /** The connection ended (closed by either side, or broken): release the session. */
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
            if (ticker != null) {
                ticker.cancel(false);
            }
            if (counted) {
                counted = false;
                node.closed();
            }
        }
        out.close();
        node.connections.remove(this);
        if (toClose == null) {
            done.complete(null);
        } else {
            closeQuietly(toClose).whenComplete((v, e) -> done.complete(null));
        }
        return done;
    }

    /** Releases the session and closes the WebSocket with {@code code}. */
    CompletionStage<Void> close(CloseReason.CloseCode code, String reason) {
        CompletionStage<Void> done = release();
        try {
            if (ws.isOpen()) {
                ws.close(new CloseReason(code, reason));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.DEBUG, "Could not close a WebSocket cleanly: {0}", e.toString());
        }
        return done;
    }

    private synchronized boolean isClosed() {
        return closed;
    }

    private synchronized LockSession current() {
        return session;
    }

    // ---- liveness ----

    /**
     * Runs on the node's timer, shared by every connection: it must never block, so the
     * container calls (a ping, a close) go to the node's sender. Closes a connection silent
     * for two ping intervals or more, on {@link EndpointOptions#clock()}.
     */
    void tick() {
        try {
            if (node.nanos() - lastHeardNanos >= 2 * pingNanos) {
                LOG.log(Level.DEBUG, "Closing a connection silent for two ping intervals");
                node.sender().execute(() -> close(CloseCodes.GOING_AWAY, "no answer to pings"));
                return;
            }
            out.pingIfIdle(node.sender());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "A connection's ping failed", e); // never let the timer task die
        }
    }

    private void sendFailed(Throwable error) {
        LOG.log(Level.DEBUG, "Sending to a WebSocket failed; closing it: {0}", String.valueOf(error));
        close(CloseCodes.GOING_AWAY, "send failed");
    }

    /** A request's place in the reply order, and what the meters need to know of it. */
    private final class Pending {
        private final Outbound.Slot slot;
        private final long arrivedNanos;
        /** The action's meter tag: the protocol's name, or {@code invalid} until one is read. */
        String action = "invalid";

        Pending(Outbound.Slot slot, long arrivedNanos) {
            this.slot = slot;
            this.arrivedNanos = arrivedNanos;
        }

        /** Gives the reply for this place. */
        void answer(ObjectNode reply) {
            EndpointTelemetry telemetry = node.telemetry();
            if (telemetry != EndpointTelemetry.NONE) {
                telemetry.answered(action, Replies.status(reply), node.nanos() - arrivedNanos);
            }
            slot.complete(Frames.write(reply));
        }
    }

    // ---- actions ----

    private void serve(Request r, Pending slot) {
        switch (r.action()) {
            case CONNECT -> connect(r, slot);
            case CLOSE -> closeSession(r, slot);
            default -> {
                LockSession s = current();
                if (s == null) {
                    slot.answer(Replies.fail(r, FailCode.NOT_CONNECTED, "not connected: send connect first"));
                    return;
                }
                switch (r.action()) {
                    case LOCK -> lock(s, r, slot);
                    case UNLOCK -> answer(r, slot, s.unlock(r.name()),
                            result -> unlocked(r, result, "Unlocked " + r.name()));
                    case MLOCK -> lockAll(s, r, slot);
                    case MUNLOCK -> answer(r, slot, s.unlockAll(r.names()),
                            result -> unlocked(r, result, "Unlocked " + String.join(", ", r.names())));
                    default -> throw new IllegalStateException("unhandled action " + r.action());
                }
            }
        }
    }

    private void connect(Request r, Pending slot) {
        String name = r.name();
        if (current() != null) {
            slot.answer(Replies.fail(r, FailCode.ALREADY_CONNECTED, "this connection already has a session; close it first"));
            return;
        }
        Optional<String> problem = node.service.checkSessionName(name);
        if (problem.isPresent()) {
            slot.answer(Replies.fail(r, FailCode.BAD_NAME, problem.get()));
            return;
        }
        Pushes pushes = new Pushes();
        LockSession opened;
        try {
            opened = node.service.openSession(name, pushes);
        } catch (IllegalStateException e) {
            slot.answer(Replies.fail(r, FailCode.INTERNAL, "the server is shutting down"));
            return;
        }
        pushes.owner = opened;
        boolean lateClose;
        synchronized (this) {
            lateClose = closed;
            if (!closed) {
                session = opened;
            }
        }
        if (lateClose) {
            closeQuietly(opened); // the connection ended meanwhile: nobody can use this session
            return;
        }
        ObjectNode reply = Replies.to(r, Status.OK, "Open session: " + name);
        reply.put("session", opened.id());
        slot.answer(reply);
    }

    private void closeSession(Request r, Pending slot) {
        LockSession s;
        synchronized (this) {
            s = session;
            session = null; // at once: a pipelined connect after close must find no session
        }
        if (s == null) {
            slot.answer(Replies.fail(r, FailCode.NOT_CONNECTED, "not connected: there is no session to close"));
            return;
        }
        // The optional name is informational (the original client sent none): the
        // connection's own session is the one closed.
        String message = "Close session: " + s.name();
        closeQuietly(s).whenComplete((v, e) -> slot.answer(Replies.to(r, Status.OK, message)));
    }

    private void lock(LockSession s, Request r, Pending slot) {
        if (!authorized(r.names())) {
            slot.answer(Replies.fail(r, FailCode.UNAUTHORIZED, "not allowed to lock '" + Frames.abbreviate(r.name()) + "'"));
            return;
        }
        answer(r, slot, s.lock(r.name()), result -> {
            if (result instanceof LockResult.Locked locked) {
                return Replies.to(r, Status.LOCKED, r.name()).put("token", locked.token());
            }
            if (result instanceof LockResult.Waiting waiting) {
                ObjectNode reply = Replies.to(r, Status.WAIT, r.name());
                if (!node.options.hideHolder()) {
                    reply.put("holder", waiting.holder());
                }
                return reply;
            }
            return Replies.refused(r, (Refused) result);
        });
    }

    private void lockAll(LockSession s, Request r, Pending slot) {
        int max = node.service.config().maxLocksPerRequest();
        if (new LinkedHashSet<>(r.names()).size() > max) {
            // Checked here too so that a long list is refused before the authorizer sees it.
            slot.answer(Replies.fail(r, FailCode.TOO_MANY_LOCKS, "at most " + max + " locks in one request"));
            return;
        }
        if (!authorized(r.names())) {
            slot.answer(Replies.fail(r, FailCode.UNAUTHORIZED, "not allowed to lock every one of these locks"));
            return;
        }
        answer(r, slot, s.lockAll(r.names()), result -> {
            if (result instanceof MultiLockResult.Locked locked) {
                ObjectNode reply = Replies.to(r, Status.LOCKED, String.join(", ", locked.tokens().keySet()));
                ObjectNode tokens = reply.putObject("tokens");
                locked.tokens().forEach(tokens::put);
                return reply;
            }
            if (result instanceof MultiLockResult.Waiting waiting) {
                ObjectNode reply = Replies.to(r, Status.WAIT, String.join(", ", waiting.holders().keySet()));
                if (!node.options.hideHolder()) {
                    ObjectNode holders = reply.putObject("holders");
                    waiting.holders().forEach(holders::put);
                }
                return reply;
            }
            return Replies.refused(r, (Refused) result);
        });
    }

    private ObjectNode unlocked(Request r, UnlockResult result, String message) {
        if (result instanceof Refused refused) {
            return Replies.refused(r, refused);
        }
        return Replies.to(r, Status.OK, message);
    }

    private boolean authorized(List<String> names) {
        for (String name : names) {
            try {
                if (!node.options.authorizer().mayLock(principal, name)) {
                    return false;
                }
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "The authorizer threw; refusing the lock", e);
                return false;
            }
        }
        return true;
    }

    /** Completes the slot with the reply for {@code stage}'s outcome, whatever happens. */
    private <T> void answer(Request r, Pending slot, CompletionStage<T> stage, Function<T, ObjectNode> onResult) {
        stage.whenComplete((result, error) -> {
            ObjectNode reply;
            try {
                reply = error == null ? onResult.apply(result) : Replies.failure(r, error);
            } catch (RuntimeException e) {
                reply = Replies.internal(r, e);
            }
            slot.answer(reply);
        });
    }

    private static CompletionStage<Void> closeQuietly(LockSession s) {
        return s.closeAsync().handle((v, e) -> {
            if (e != null) {
                LOG.log(Level.WARNING, "Session ''{0}'' closed without reaching Redis; its locks free themselves when their leases run out: {1}",
                        s.name(), String.valueOf(e.getMessage()));
            }
            return null;
        });
    }

    // ---- pushes ----

    /** The pushes of one lock session; dropped once it is no longer this connection's session. */
    private final class Pushes implements LockListener {
        volatile LockSession owner;

        @Override
        public void retry(String lock) {
            push(owner, Status.RETRY, lock);
        }

        @Override
        public void lost(String lock) {
            push(owner, Status.LOST, lock);
        }
    }

    private void push(LockSession from, Status status, String lock) {
        if (from == null || current() != from) {
            return;
        }
        node.telemetry().pushed(status);
        out.push(Frames.push(status, lock));
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
