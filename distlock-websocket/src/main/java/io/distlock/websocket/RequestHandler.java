package io.distlock.websocket;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.distlock.core.CancelReason;
import io.distlock.core.LockListener;
import io.distlock.core.LockMode;
import io.distlock.core.LockOptions;
import io.distlock.core.LockResult;
import io.distlock.core.LockSession;
import io.distlock.core.LockState;
import io.distlock.core.LockWatch;
import io.distlock.core.LossCause;
import io.distlock.core.MultiLockResult;
import io.distlock.core.Refused;
import io.distlock.core.ResumeResult;
import io.distlock.core.SessionOptions;
import io.distlock.core.UnlockResult;

/**
 * The protocol's actions for one connection: checks what the endpoint checks (session state,
 * authorization, mlock and query size, watch limits, the pace of asks), calls the connection's
 * {@link LockSession} (or, for {@code query} and {@code watch}, the lock service), and shapes
 * each outcome into its reply ({@link Replies}); forwards the session's pushes and, as
 * {@code CHANGED}, the changes of the locks it watches ({@link Watching}). What comes in
 * (frames, limits, liveness) and the order replies go out in are the {@link Connection}'s.
 *
 * <p>A session speaks the protocol version its {@code connect} asked for: a version 1 session
 * is answered exactly as before version 2 existed (no new field, status or push); the frames
 * were parsed for that version ({@link Frames#parse(String, int)}), so a version 1 request
 * never carries version 2 options here.
 *
 * <p>Called by the container's thread for one frame at a time; replies complete on
 * lock-service threads. The session itself is the connection's, under its monitor.
 */
final class RequestHandler {

    private static final System.Logger LOG = System.getLogger(RequestHandler.class.getName());

    private final Node node;
    private final Connection connection;
    private final Object principal;
    /** The pushes of the connection's current session (set at connect, before the session is adopted). */
    private volatile Pushes pushes;

    RequestHandler(Node node, Connection connection, Object principal) {
        this.node = node;
        this.connection = connection;
        this.principal = principal;
    }

    /** Serves one request: its reply completes {@code slot}, now or when the lock service answers. */
    void serve(Request r, ReplySlot slot) {
        switch (r.action()) {
            case CONNECT -> connect(r, slot);
            case CLOSE -> closeSession(r, slot);
            case RESUME -> resume(r, slot);
            default -> {
                LockSession s = connection.current();
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
                    case CANCEL -> cancel(s, r, slot);
                    case PING -> slot.answer(Replies.to(r, Status.OK, "pong"));
                    case QUERY -> query(r, slot);
                    case WATCH -> watch(s, r, slot);
                    case UNWATCH -> unwatch(s, r, slot);
                    default -> throw new IllegalStateException("unhandled action " + r.action());
                }
            }
        }
    }

    private void connect(Request r, ReplySlot slot) {
        String name = r.name();
        long maxGrace = node.service.config().maxGrace().toMillis();
        if (r.session().grace() > maxGrace) { // a field, checked before the session state (docs/protocol.md, Errors)
            slot.answer(Replies.fail(r, FailCode.BAD_REQUEST, "'grace' must be at most " + maxGrace + " ms on this server"));
            return;
        }
        if (connection.hasOrAwaitsSession()) {
            slot.answer(alreadyConnected(r));
            return;
        }
        Optional<String> problem = node.service.checkSessionName(name);
        if (problem.isPresent()) {
            slot.answer(Replies.fail(r, FailCode.BAD_NAME, problem.get()));
            return;
        }
        Pushes listener = new Pushes(r.version());
        LockSession opened;
        try {
            opened = r.version() >= 2
                    ? node.service.openSession(name, listener, new SessionOptions(Duration.ofMillis(r.session().grace()), r.session().info()))
                    : node.service.openSession(name, listener);
        } catch (IllegalStateException e) {
            slot.answer(Replies.fail(r, FailCode.INTERNAL, "the server is shutting down"));
            return;
        }
        listener.owner = opened;
        pushes = listener;
        if (!connection.adopt(opened, r.version())) {
            Connection.closeQuietly(opened, node); // the connection ended meanwhile: nobody can use this session
            return;
        }
        ObjectNode reply = Replies.to(r, Status.OK, "Open session: " + name);
        reply.put("session", opened.id());
        if (r.version() >= 2) {
            reply.put("version", r.version());
            reply.put("grace", opened.grace().toMillis());
            opened.resumeSecret().ifPresent(secret -> reply.put("resume", secret));
        }
        // The secret is told once the registry has the session: a resume sent right after this
        // answer (on any node) must find it, not be refused SESSION_EXPIRED.
        opened.recorded().whenComplete((v, e) -> slot.answer(reply));
    }

    /**
     * Takes a session over (see {@link io.distlock.core.LockService#resume}): the reply lists what it
     * holds and queues for; the pushes it missed follow the reply. The session speaks version 2.
     */
    private void resume(Request r, ReplySlot slot) {
        if (!connection.startResume()) {
            slot.answer(alreadyConnected(r));
            return;
        }
        Pushes listener = new Pushes(2);
        listener.holdUntilAnswered();
        CompletionStage<ResumeResult> stage;
        try {
            stage = node.service.resume(r.session().id(), r.session().secret(), listener)
                    .whenComplete((result, e) -> {
                        if (!(result instanceof ResumeResult.Resumed)) {
                            connection.resumeFailed(); // before the reply: a connect sent after it must find none out
                        }
                    });
        } catch (IllegalStateException e) {
            connection.resumeFailed();
            slot.answer(Replies.fail(r, FailCode.INTERNAL, "the server is shutting down"));
            return;
        }
        // Runs on the thread that completes the resume, before the missed pushes are handed to the listener.
        answer(r, slot, stage, result -> {
            if (result instanceof Refused refused) {
                return Replies.refused(r, refused);
            }
            ResumeResult.Resumed resumed = (ResumeResult.Resumed) result;
            LockSession session = resumed.session();
            listener.owner = session;
            pushes = listener;
            if (!connection.adopt(session, 2)) {
                // This connection ended meanwhile: the grace goes on, and the client, which never got the new
                // secret, resumes with the one it has.
                connection.keepUnanswered(session);
                return Replies.fail(r, FailCode.NOT_CONNECTED, "the connection closed");
            }
            listener.answered(); // pushes that came first go out now, behind this reply's place
            ObjectNode reply = Replies.to(r, Status.OK, "Resumed session: " + session.name());
            reply.put("session", session.id());
            reply.put("version", 2);
            reply.put("resume", resumed.secret());
            reply.put("grace", session.grace().toMillis());
            ObjectNode locks = reply.putObject("locks");
            resumed.locks().forEach((lock, held) -> locks.putObject(lock).put("token", held.token()).put("mode", held.mode().wire()));
            ArrayNode queued = reply.putArray("queued");
            resumed.queued().stream().sorted().forEach(queued::add);
            return reply;
        });
    }

    private ObjectNode alreadyConnected(Request r) {
        return Replies.fail(r, FailCode.ALREADY_CONNECTED, connection.current() != null
                ? "this connection already has a session; close it first"
                : "this connection is resuming a session; wait for the answer");
    }

    private void closeSession(Request r, ReplySlot slot) {
        LockSession s = connection.detach(); // at once: a pipelined connect after close must find no session
        ended();
        if (s == null) {
            slot.answer(Replies.fail(r, FailCode.NOT_CONNECTED, "not connected: there is no session to close"));
            return;
        }
        // The optional name is informational (the original client sent none): the
        // connection's own session is the one closed.
        String message = "Close session: " + s.name();
        Connection.closeQuietly(s, node).whenComplete((v, e) -> slot.answer(Replies.to(r, Status.OK, message)));
    }

    /** The session left this connection (closed, detached, resumed elsewhere): its watches end. */
    void ended() {
        Pushes p = pushes;
        if (p != null) {
            p.watching.close();
        }
    }

    private void lock(LockSession s, Request r, ReplySlot slot) {
        LockOptions options = r.options();
        if (!authorized(r.names(), options.steal() ? Authorizer.Operation.STEAL : Authorizer.Operation.LOCK, options.mode())) {
            slot.answer(Replies.fail(r, FailCode.UNAUTHORIZED,
                    "not allowed to " + (options.steal() ? "take over" : "lock") + " '" + Frames.abbreviate(r.name()) + "'"));
            return;
        }
        Pushes p = pushes(s);
        long askedAt = node.nanos();
        if (options.ask() && !node.asks().tryAsk(s.id(), connection.id(), r.name(), askedAt)) {
            slot.answer(Replies.fail(r, FailCode.RATE_LIMITED, "already asked for '" + Frames.abbreviate(r.name()) + "' less than "
                    + node.options.askInterval().toMillis() + " ms ago; ask again later"));
            return;
        }
        CompletionStage<LockResult> stage;
        if (options.queued() && p != null) {
            // Noted before asking, so that a GRANTED can never come before its request's id is known,
            // and settled in the lock service's order, so that a CANCELLED names the right request.
            stage = p.queuing.ask(r.name(), r.id(), () -> s.lock(r.name(), options));
        } else {
            stage = options.equals(LockOptions.DEFAULT) ? s.lock(r.name()) : s.lock(r.name(), options);
        }
        if (options.ask()) {
            // Only an ask that queued asked the holders; one granted at once or refused (which changed
            // nothing) asked nobody, and keeps no pace. One that failed (Redis did not answer) may have.
            String session = s.id();
            stage.whenComplete((result, error) -> {
                if (result instanceof LockResult.Locked || result instanceof Refused) {
                    node.asks().giveBack(session, connection.id(), r.name(), askedAt);
                }
            });
        }
        answer(r, slot, stage, result -> {
            if (result instanceof LockResult.Locked locked) {
                return Replies.to(r, Status.LOCKED, r.name()).put("token", locked.token());
            }
            if (result instanceof LockResult.Waiting waiting) {
                return withHolder(Replies.to(r, Status.WAIT, r.name()), waiting.holder());
            }
            if (result instanceof LockResult.Queued queued) {
                return withHolder(Replies.to(r, Status.QUEUED, r.name()).put("position", queued.position()), queued.holder());
            }
            return Replies.refused(r, (Refused) result);
        });
    }

    /** Who holds and queues for each lock, read from Redis now. */
    private void query(Request r, ReplySlot slot) {
        List<String> names = List.copyOf(new LinkedHashSet<>(r.names()));
        int max = Math.min(Action.MAX_QUERIED, node.service.config().maxLocksPerRequest());
        if (names.size() > max) {
            slot.answer(Replies.fail(r, FailCode.TOO_MANY_LOCKS, "at most " + max + " locks in one query"));
            return;
        }
        if (!authorized(names, Authorizer.Operation.QUERY, null)) {
            slot.answer(Replies.fail(r, FailCode.UNAUTHORIZED, "not allowed to see every one of these locks"));
            return;
        }
        answerStates(r, slot, node.service.query(names), states -> withState(Replies.to(r, Status.OK, String.join(", ", names)), names, states),
                refused -> { });
    }

    /**
     * Watches locks by name (answered with their state) or by prefix (answered without), within
     * the connection's limits; every change after the answer is pushed as {@code CHANGED}.
     */
    private void watch(LockSession s, Request r, ReplySlot slot) {
        String prefix = r.prefix();
        List<String> names = prefix == null ? List.copyOf(new LinkedHashSet<>(r.names())) : List.of(prefix);
        if (!node.service.config().watching()) {
            slot.answer(Replies.fail(r, FailCode.UNAUTHORIZED, "watching is turned off on this server"));
            return;
        }
        if (!authorized(names, Authorizer.Operation.WATCH, null)) {
            slot.answer(Replies.fail(r, FailCode.UNAUTHORIZED, "not allowed to watch every one of these locks"));
            return;
        }
        if (prefix != null && badPrefix(r, slot)) {
            return;
        }
        Pushes p = pushes(s);
        Watching watching = p == null ? null : p.watching;
        LockWatch watch;
        try {
            watch = watching == null ? null : watching.watch();
        } catch (IllegalStateException e) {
            slot.answer(Replies.fail(r, FailCode.INTERNAL, "the server is shutting down"));
            return;
        }
        if (watch == null) {
            slot.answer(Replies.fail(r, FailCode.NOT_CONNECTED, "the session left this connection"));
            return;
        }
        boolean byPrefix = prefix != null;
        Watching.Reservation reserved = watching.reserve(names, byPrefix);
        if (reserved == null) {
            slot.answer(Replies.fail(r, FailCode.TOO_MANY_LOCKS, byPrefix
                    ? "at most " + node.options.maxWatchedPrefixes() + " prefixes watched per connection"
                    : "at most " + node.options.maxWatchedLocks() + " locks watched per connection"));
            return;
        }
        if (byPrefix) {
            CompletionStage<Void> stage = watch.watchPrefix(prefix);
            stage.whenComplete((v, e) -> watching.settled(reserved, e != null));
            answer(r, slot, stage, v -> Replies.to(r, Status.OK, "Watching " + prefix + "*"));
            return;
        }
        // A failed or refused watch leaves watched only what another watch of the connection, answered OK or in flight, asked for too.
        answerStates(r, slot, watchInTurns(watch, names, 0, new HashMap<>()), states -> withState(Replies.to(r, Status.OK, "Watching " + String.join(", ", names)), names, states),
                refused -> watching.settled(reserved, refused));
    }

    /**
     * Watches {@code names} from {@code from} on, at most {@link Connection#MAX_REDIS_CALLS} at a
     * time (each is read): one {@code watch} may name up to 1,000 locks, and the connection's
     * bound of Redis calls in flight must hold for it too (review 2026-12-07: 999 reads at once).
     */
    private static CompletionStage<Map<String, LockState>> watchInTurns(LockWatch watch, List<String> names, int from,
            Map<String, LockState> states) {
        int to = Math.min(names.size(), from + Connection.MAX_REDIS_CALLS);
        return watch.watch(names.subList(from, to)).thenCompose(read -> {
            states.putAll(read);
            return to == names.size() ? CompletableFuture.completedFuture(states) : watchInTurns(watch, names, to, states);
        });
    }

    private void unwatch(LockSession s, Request r, ReplySlot slot) {
        String prefix = r.prefix();
        if (prefix != null && badPrefix(r, slot)) {
            return;
        }
        for (String name : r.names()) { // as a watch would have refused them
            Optional<String> problem = node.service.checkLockName(name);
            if (problem.isPresent()) {
                slot.answer(Replies.fail(r, FailCode.BAD_NAME, problem.get()));
                return;
            }
        }
        Pushes p = pushes(s);
        if (p != null) {
            p.watching.unwatch(prefix != null ? List.of(prefix) : r.names(), prefix != null);
        }
        slot.answer(Replies.to(r, Status.OK, "Unwatched " + (prefix != null ? prefix + "*" : String.join(", ", r.names()))));
    }

    /**
     * Answers {@code BAD_NAME} and returns true if the request's prefix breaks the rules of lock
     * names: empty, longer than a lock name may be, a control character, an unpaired surrogate.
     */
    private boolean badPrefix(Request r, ReplySlot slot) {
        Optional<String> problem = node.service.checkLockPrefix(r.prefix());
        if (problem.isPresent()) {
            slot.answer(Replies.fail(r, FailCode.BAD_NAME, problem.get()));
            return true;
        }
        return false;
    }

    /**
     * How long one lock's state may be written: a 64th of what may wait for one connection
     * (16 KiB by default: the first ~25 entries with 512-byte {@code info}s, ~200 without), so
     * that a {@code CHANGED}, which cannot be refused, always fits, and so do dozens at once.
     */
    private int stateChars() {
        return (int) Math.min(Integer.MAX_VALUE, node.options.maxQueuedBytes() / 64);
    }

    /** Adds {@code state}: each of {@code names} (request order) to its holders and queue. */
    private ObjectNode withState(ObjectNode reply, List<String> names, Map<String, LockState> states) {
        ObjectNode state = reply.putObject("state");
        for (String lock : names) {
            state.set(lock, Frames.state(states.getOrDefault(lock, LockState.FREE), node.options.hideHolder(), stateChars()));
        }
        return reply;
    }

    private ObjectNode withHolder(ObjectNode reply, String holder) {
        if (!node.options.hideHolder()) {
            reply.put("holder", holder);
        }
        return reply;
    }

    private void cancel(LockSession s, Request r, ReplySlot slot) {
        answer(r, slot, s.cancel(r.name()), result -> {
            if (result instanceof Refused refused) {
                return Replies.refused(r, refused);
            }
            Pushes p = pushes(s);
            if (p != null) {
                p.queuing.placeEnded(r.name());
            }
            return Replies.to(r, Status.OK, "Cancelled " + r.name());
        });
    }

    private void lockAll(LockSession s, Request r, ReplySlot slot) {
        int max = node.service.config().maxLocksPerRequest();
        if (new LinkedHashSet<>(r.names()).size() > max) {
            // Checked here too so that a long list is refused before the authorizer sees it.
            slot.answer(Replies.fail(r, FailCode.TOO_MANY_LOCKS, "at most " + max + " locks in one request"));
            return;
        }
        LockMode mode = r.options().mode();
        if (!authorized(r.names(), Authorizer.Operation.MLOCK, mode)) {
            slot.answer(Replies.fail(r, FailCode.UNAUTHORIZED, "not allowed to lock every one of these locks"));
            return;
        }
        CompletionStage<MultiLockResult> stage = mode == LockMode.EXCLUSIVE ? s.lockAll(r.names()) : s.lockAll(r.names(), mode);
        answer(r, slot, stage, result -> {
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

    private boolean authorized(List<String> names, Authorizer.Operation operation, LockMode mode) {
        for (String name : names) {
            try {
                if (!node.options.authorizer().mayLock(principal, name, operation, mode)) {
                    return false;
                }
            } catch (Throwable e) {
                // Whatever the application's code throws is a refusal: an Error too (a regex's
                // StackOverflowError on a long name, Kotlin's TODO()), and a checked exception
                // from a language without them. Thrown on, it would leave the request unanswered.
                node.authorizerThrew.happened(e);
                return false;
            }
        }
        return true;
    }

    /**
     * Completes the slot with the reply for {@code stage}'s outcome, whatever happens. A linkage
     * error counts too (a core newer than this endpoint, whose result this endpoint cannot
     * shape: an enum constant it does not know): unanswered, the request would hold up every
     * later reply of the connection for good.
     */
    private <T> void answer(Request r, ReplySlot slot, CompletionStage<T> stage, Function<T, ObjectNode> onResult) {
        stage.whenComplete((result, error) -> slot.answer(reply(r, result, error, onResult)));
    }

    /**
     * As {@link #answer} for the states of a {@code query} or {@code watch}; but an answer larger
     * than may wait for one connection ({@code maxQueuedBytes}: the states of thousands of queued
     * sessions) is refused with {@code TOO_MANY_LOCKS}, since sent it would close the connection
     * as a slow consumer, and its session with it. {@code settle} is told, before the answer goes,
     * whether it is anything but {@code OK}.
     */
    private void answerStates(Request r, ReplySlot slot, CompletionStage<Map<String, LockState>> stage,
            Function<Map<String, LockState>, ObjectNode> onResult, Consumer<Boolean> settle) {
        stage.whenComplete((states, error) -> {
            ObjectNode reply = reply(r, states, error, onResult);
            String frame = Frames.write(reply);
            if (frame.length() > node.options.maxQueuedBytes()) {
                reply = Replies.fail(r, FailCode.TOO_MANY_LOCKS, "the answer takes " + frame.length() + " bytes, more than may"
                        + " wait for one connection (" + node.options.maxQueuedBytes() + "): ask for fewer locks");
                frame = Frames.write(reply);
            }
            try {
                settle.accept(Replies.status(reply) != Status.OK);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "Settling a request failed; answering it anyway", e);
            }
            slot.answer(reply, frame);
        });
    }

    private static <T> ObjectNode reply(Request r, T result, Throwable error, Function<T, ObjectNode> onResult) {
        try {
            return error == null ? onResult.apply(result) : Replies.failure(r, error);
        } catch (RuntimeException | LinkageError e) {
            return Replies.internal(r, e);
        }
    }

    // ---- pushes ----

    /**
     * The pushes of {@code s}, the session a request of this connection is served by; null if
     * {@code s} is no longer the connection's (a reply that completes after a close), whose
     * pushes are dropped anyway.
     */
    private Pushes pushes(LockSession s) {
        Pushes p = pushes;
        return p != null && p.owner == s ? p : null;
    }

    /** The key by which a lock's {@code ASKED} supersedes the one still waiting ({@code CHANGED}'s is the name). */
    private record AskedKey(String lock) { }

    /**
     * The pushes of one lock session, in the protocol version it speaks; dropped once it is no
     * longer this connection's session. Remembers, per lock name, the {@code id} of the latest
     * {@code lock} request that asked to queue, for the {@code request} field of {@code GRANTED}.
     */
    private final class Pushes implements LockListener {
        volatile LockSession owner;
        private final int version;
        final QueuingRequests queuing = new QueuingRequests();
        /** What this session watches on this connection; each change is pushed as {@code CHANGED}. */
        final Watching watching = new Watching(() -> node.service.watch(this::changed), node.options.maxWatchedLocks(),
                node.options.maxWatchedPrefixes());
        /**
         * Pushes that came before the resume's answer was handled, in order; null once they may go.
         * The core hands a resumed session's missed pushes over as soon as the resume completes,
         * which can be before this connection has attached its answer handler (a thread
         * descheduled between the two on a busy machine): without this they found no owner and
         * were dropped. Guarded by this.
         */
        private List<Runnable> early;

        Pushes(int version) {
            this.version = version;
        }

        void holdUntilAnswered() {
            synchronized (this) {
                early = new ArrayList<>();
            }
        }

        /** Sends the pushes held so far, in order, then lets every later one through. */
        void answered() {
            while (true) {
                List<Runnable> held;
                synchronized (this) {
                    if (early == null) {
                        return;
                    }
                    if (early.isEmpty()) {
                        early = null;
                        return;
                    }
                    held = early;
                    early = new ArrayList<>();
                }
                held.forEach(Runnable::run);
            }
        }

        private void send(Runnable push) {
            synchronized (this) {
                if (early != null) {
                    early.add(push);
                    return;
                }
            }
            push.run();
        }

        @Override
        public void retry(String lock) {
            send(() -> connection.push(owner, Status.RETRY, Frames.pushFrame(Status.RETRY, lock)));
        }

        @Override
        public void lost(String lock, long token, LossCause cause) {
            ObjectNode frame = Frames.pushFrame(Status.LOST, lock);
            if (version >= 2) {
                frame.put("reason", cause.reason()).put("token", token);
            }
            send(() -> connection.push(owner, Status.LOST, frame));
        }

        @Override
        public void granted(String lock, long token, LockMode mode) {
            JsonNode request = queuing.take(lock);
            ObjectNode frame = Frames.pushFrame(Status.GRANTED, lock).put("token", token).put("mode", mode.wire());
            if (request != null) {
                frame.set("request", request);
            }
            send(() -> connection.push(owner, Status.GRANTED, frame));
        }

        @Override
        public void stolen(String lock, long token, String by) {
            if (version < 2) {
                lost(lock, token, LossCause.STOLEN); // a version 1 session hears a plain LOST
                return;
            }
            ObjectNode frame = Frames.pushFrame(Status.LOST, lock).put("reason", LossCause.STOLEN.reason()).put("token", token);
            if (!node.options.hideHolder()) {
                frame.put("by", by);
            }
            send(() -> connection.push(owner, Status.LOST, frame));
        }

        @Override
        public void asked(String lock, String by, String info) {
            if (version < 2) {
                return; // no new push for a version 1 session
            }
            ObjectNode frame = Frames.pushFrame(Status.ASKED, lock);
            if (!node.options.hideHolder()) {
                frame.put("by", by);
                frame.set("info", Frames.info(info));
            }
            // The holder learns that someone asks, not how often: the newest ask of a lock replaces one
            // still waiting, and none may fill the connection's bounds (asks from many sessions would
            // make a holder that reads slowly a slow consumer, whose locks go to an asker: a take-over
            // without the right to steal).
            send(() -> connection.offer(owner, Status.ASKED, frame, new AskedKey(lock)));
        }

        /**
         * A watched lock changed: pushed behind every reply reserved so far, the watch's own answer
         * included; not once the client unwatched it, even if the lock service has not yet, nor
         * after the {@code OK} of an {@code unwatch} it waited behind. A {@code CHANGED} of the
         * same lock still waiting to be sent is dropped for this one.
         */
        private void changed(String lock, LockState state) {
            if (!watching.wants(lock)) {
                return;
            }
            ObjectNode frame = Frames.pushFrame(Status.CHANGED, lock);
            frame.set("state", Frames.state(state, node.options.hideHolder(), stateChars()));
            connection.push(owner, Status.CHANGED, frame, () -> watching.wants(lock), lock); // a newer state replaces one still waiting
        }

        @Override
        public void resumedElsewhere() {
            watching.close();
            send(() -> connection.resumedElsewhere(owner));
        }

        @Override
        public void tookOverFrom(LockListener previous) {
            if (previous instanceof Pushes earlier) {
                queuing.takeOver(earlier.queuing); // a GRANTED after the resume names the request that queued
            }
        }

        @Override
        public void cancelled(String lock, CancelReason reason) {
            JsonNode request = queuing.placeEnded(lock);
            ObjectNode frame = Frames.pushFrame(Status.CANCELLED, lock).put("reason", reason.reason());
            if (request != null) {
                frame.set("request", request);
            }
            send(() -> connection.push(owner, Status.CANCELLED, frame));
        }
    }
}
