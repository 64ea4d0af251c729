package io.distlock.faults;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;
import io.distlock.testing.Await;

/**
 * A browser driven step by step by a test (where {@link Workload}'s browsers act at random), for
 * the resume scenarios: it opens a session (version 2 with a grace, or version 1), locks, drops
 * its connection, resumes on a node of the test's choosing, and records all of it in the
 * {@link History} as process {@code p}, in the same terms as the workload.
 *
 * <p>Every frame is recorded on arrival, on the WebSocket's thread, before the test sees it: a
 * reply as its request's outcome (the request's op is noted when it is sent), a push as itself
 * ({@code GRANTED} as LOCK OK, {@code RETRY}, {@code LOST}, {@code CANCELLED}). So the history's
 * order is the order in which the frames came. A connection's end is recorded once, as
 * DISCONNECT INFO: by {@link #drop} (the test's cut, recorded before the abort) or by the
 * connection's own close or error, whichever comes first; the end of a connection the client
 * already gave up is not recorded again.
 */
final class SessionClient implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** A field added to each push on arrival: {@link System#nanoTime()} then. */
    static final String ARRIVED = "_arrivedNanos";

    private final History history;
    private final int p;
    private final List<URI> nodes;
    private final HttpClient http = HttpClient.newHttpClient();
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, Object[]> pending = new ConcurrentHashMap<>(); // id -> {Op, lock, node}
    private final Map<String, Long> held = new ConcurrentHashMap<>();       // lock -> token, as the client believes
    private volatile Conn conn;
    private volatile String session;
    private volatile String secret;

    /** One WebSocket connection and what came on it. */
    final class Conn {
        final int node;
        final BlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>();
        final BlockingQueue<JsonNode> pushes = new LinkedBlockingQueue<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        final AtomicBoolean over = new AtomicBoolean(); // its end recorded (or the client gave it up)
        WebSocket ws;

        Conn(int node) {
            this.node = node;
        }

        /** The close code the server sent, or -1 for an abrupt end; fails after {@code within}. */
        int awaitClose(Duration within) {
            try {
                return closed.get(within.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException | ExecutionException | TimeoutException e) {
                throw new AssertionError("connection to node " + node + " not closed within " + within.toMillis() + " ms", e);
            }
        }

        boolean isClosed() {
            return closed.isDone();
        }
    }

    SessionClient(History history, int process, List<URI> nodes) {
        this.history = history;
        this.p = process;
        this.nodes = List.copyOf(nodes);
    }

    int process() {
        return p;
    }

    Conn connection() {
        return conn;
    }

    String sessionId() {
        return session;
    }

    String secret() {
        return secret;
    }

    /** Opens a connection to node {@code node}; it becomes the client's current one. */
    Conn open(int node) {
        Conn c = new Conn(node);
        try {
            c.ws = http.newWebSocketBuilder().connectTimeout(Await.seconds(10))
                    .buildAsync(nodes.get(node), new Listener(c)).get(Await.seconds(15).toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            throw new AssertionError("p" + p + " cannot connect to node " + node + ": " + e, e);
        }
        conn = c;
        return c;
    }

    /** A version 2 session with {@code graceMillis} (0: none) on a new connection to {@code node}. */
    JsonNode connect(int node, long graceMillis) {
        open(node);
        ObjectNode frame = frame("connect").put("param", "p" + p).put("version", 2);
        if (graceMillis > 0) {
            frame.put("grace", graceMillis);
        }
        return expect(call(Op.CONNECT, null, frame, "node=" + node), "OK");
    }

    /** A version 1 session (no grace, no queue: WAIT and RETRY) on a new connection to {@code node}. */
    JsonNode connectV1(int node) {
        open(node);
        return expect(call(Op.CONNECT, null, frame("connect").put("param", "p" + p), "node=" + node), "OK");
    }

    /** Asks for {@code lock} with {@code wait: true}; returns the reply (LOCKED or QUEUED, or a refusal). */
    JsonNode lockQueued(String lock) {
        long id = ids.get() + 1;
        return call(Op.LOCK, lock, frame("lock").put("param", lock).put("wait", true), "id=" + id + " wait");
    }

    /** Asks for {@code lock} without waiting (LOCKED or WAIT, as in version 1). */
    JsonNode lockNow(String lock) {
        return call(Op.LOCK, lock, frame("lock").put("param", lock), null);
    }

    /** Takes {@code lock}: at once, or queued until its GRANTED (within {@code atMost}); returns the token. */
    long acquire(String lock, Duration atMost) {
        long deadline = System.nanoTime() + atMost.toNanos();
        while (true) {
            JsonNode reply = lockQueued(lock);
            switch (reply.path("status").asText()) {
                case "LOCKED" -> {
                    return reply.path("token").asLong();
                }
                case "QUEUED" -> {
                    return awaitPush("GRANTED", lock, Duration.ofNanos(Math.max(0, deadline - System.nanoTime()))).path("token").asLong();
                }
                default -> {
                    // Redis too slow to answer in time (a loaded machine): ask again, as a browser would
                    if (!"BACKEND_UNAVAILABLE".equals(reply.path("code").asText()) || System.nanoTime() > deadline) {
                        throw new AssertionError("p" + p + " lock " + lock + ": " + reply);
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
                }
            }
        }
    }

    JsonNode unlock(String lock) {
        Long token = held.get(lock);
        return call(Op.UNLOCK, lock, frame("unlock").put("param", lock), null, token == null ? 0 : token);
    }

    /** {@code ping}: an answer proves the connection and its session alive. Not recorded. */
    JsonNode ping() {
        return call(null, null, frame("ping"), null);
    }

    /** Closes the session ({@code close}: everything released at once) and then the connection. */
    void closeSession() {
        Conn c = conn;
        if (c == null || c.isClosed()) {
            return;
        }
        expect(call(Op.CLOSE, null, frame("close"), null), "OK");
        held.clear();
        hangUp();
    }

    /** The test cuts the connection: DISCONNECT INFO, then an abort (no close frame: a network cut). */
    void drop(String why) {
        Conn c = conn;
        if (c.over.compareAndSet(false, true)) {
            history.record(p, Kind.INFO, Op.DISCONNECT, null, 0, why);
        }
        c.ws.abort();
    }

    /**
     * The client gives its current connection up without closing it (a page that reloads: the
     * old connection ends on its own, later): DISCONNECT INFO now; whatever that connection
     * says from here on is not recorded.
     */
    Conn abandon(Conn c, String why) {
        if (c.over.compareAndSet(false, true)) {
            history.record(p, Kind.INFO, Op.DISCONNECT, null, 0, why);
        }
        return c;
    }

    /** {@code resume} of this client's session on a new connection to {@code node}. */
    JsonNode resume(int node) {
        open(node);
        return resumeOn(session, secret);
    }

    /** {@code resume} of session {@code id} with {@code secret} on the current connection (an attacker's replay, say). */
    JsonNode resumeOn(String id, String withSecret) {
        ObjectNode frame = frame("resume").put("session", id).put("resume", withSecret);
        return call(Op.RESUME, null, frame, "node=" + conn.node);
    }

    /** The next push {@code status} for {@code lock} on the current connection (others are kept in order, skipped here). */
    JsonNode awaitPush(String status, String lock, Duration atMost) {
        long deadline = System.nanoTime() + atMost.toNanos();
        Conn c = conn;
        while (true) {
            for (JsonNode push : c.pushes) {
                if (status.equals(push.path("status").asText()) && lock.equals(push.path("lock").asText())) {
                    c.pushes.remove(push);
                    return push;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("p" + p + ": no " + status + " for " + lock + " within " + atMost.toMillis()
                        + " ms; pushes: " + c.pushes);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(Math.min(left, Duration.ofMillis(5).toNanos()));
        }
    }

    /** Pushes received on the current connection and not taken. */
    List<JsonNode> pushes() {
        return List.copyOf(conn.pushes);
    }

    /** What the client believes it holds: lock to token. */
    Map<String, Long> held() {
        return Map.copyOf(held);
    }

    private ObjectNode frame(String action) {
        return JSON.createObjectNode().put("action", action);
    }

    private JsonNode call(Op op, String lock, ObjectNode frame, String invokeDetail) {
        return call(op, lock, frame, invokeDetail, 0);
    }

    /** Sends a request and waits for its reply (recorded by the listener on arrival). */
    private JsonNode call(Op op, String lock, ObjectNode frame, String invokeDetail, long token) {
        Conn c = conn;
        long id = ids.incrementAndGet();
        frame.put("id", id);
        if (op != null) {
            pending.put(id, new Object[] {op, lock, c.node});
            history.record(p, Kind.INVOKE, op, lock, token, invokeDetail);
        }
        try {
            c.ws.sendText(frame.toString(), true).get(Await.seconds(10).toMillis(), TimeUnit.MILLISECONDS);
            long deadline = System.nanoTime() + Await.seconds(15).toNanos();
            while (true) {
                JsonNode reply = c.replies.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (reply == null) {
                    throw new AssertionError("p" + p + ": no reply to " + frame + " from node " + c.node);
                }
                if (reply.path("id").asLong(-1) == id) {
                    return reply;
                }
            }
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            throw new AssertionError("p" + p + ": " + frame + " to node " + c.node + " failed: " + e, e);
        }
    }

    private static JsonNode expect(JsonNode reply, String status) {
        if (!status.equals(reply.path("status").asText())) {
            throw new AssertionError("expected " + status + ", got " + reply);
        }
        return reply;
    }

    /** Runs on the WebSocket's thread: records the frame, then hands it to the test. */
    private void arrived(Conn c, JsonNode m) {
        if (m.has("id")) {
            Object[] what = pending.remove(m.path("id").asLong(-1));
            if (what != null) {
                recordReply((Op) what[0], (String) what[1], (Integer) what[2], m);
            }
            c.replies.add(m);
            return;
        }
        if (!c.over.get()) {
            recordPush(m);
        }
        ((ObjectNode) m).put(ARRIVED, System.nanoTime()); // for the test's measurements; not part of the protocol
        c.pushes.add(m);
    }

    private void recordReply(Op op, String lock, int node, JsonNode m) {
        String status = m.path("status").asText();
        String code = "code=" + m.path("code").asText();
        switch (op) {
            case CONNECT -> {
                if ("OK".equals(status)) {
                    session = m.path("session").asText();
                    secret = m.path("resume").asText(null);
                    long grace = m.path("grace").asLong(0);
                    history.record(p, Kind.OK, Op.CONNECT, null, 0, "node=" + node + (grace > 0 ? " grace=" + grace : ""));
                } else {
                    history.record(p, Kind.FAIL, Op.CONNECT, null, 0, "node=" + node + " " + code);
                }
            }
            case LOCK -> {
                switch (status) {
                    case "LOCKED" -> {
                        held.put(lock, m.path("token").asLong());
                        history.record(p, Kind.OK, Op.LOCK, lock, m.path("token").asLong(), null);
                    }
                    case "QUEUED" -> history.record(p, Kind.OK, Op.QUEUED, lock, 0, "position=" + m.path("position").asText()
                            + " holder=" + m.path("holder").asText("?"));
                    case "WAIT" -> history.record(p, Kind.FAIL, Op.LOCK, lock, 0, "WAIT holder=" + m.path("holder").asText("?"));
                    default -> history.record(p, Kind.FAIL, Op.LOCK, lock, 0, code);
                }
            }
            case UNLOCK -> {
                Long token = held.remove(lock);
                history.record(p, "OK".equals(status) ? Kind.OK : Kind.FAIL, Op.UNLOCK, lock, token == null ? 0 : token,
                        "OK".equals(status) ? null : code);
            }
            case RESUME -> {
                if ("OK".equals(status)) {
                    secret = m.path("resume").asText();
                    StringBuilder locks = new StringBuilder();
                    held.clear();
                    m.path("locks").fields().forEachRemaining(entry -> {
                        long token = entry.getValue().path("token").asLong();
                        held.put(entry.getKey(), token);
                        locks.append(locks.length() == 0 ? "" : ",").append(entry.getKey()).append(':').append(token)
                                .append("shared".equals(entry.getValue().path("mode").asText()) ? ":s" : "");
                    });
                    StringBuilder queued = new StringBuilder();
                    m.path("queued").forEach(q -> queued.append(queued.length() == 0 ? "" : ",").append(q.asText()));
                    history.record(p, Kind.OK, Op.RESUME, null, 0, "node=" + node + " locks=" + locks + " queued=" + queued);
                } else {
                    history.record(p, Kind.FAIL, Op.RESUME, null, 0, code);
                }
            }
            case CLOSE -> history.record(p, "OK".equals(status) ? Kind.OK : Kind.FAIL, Op.CLOSE, null, 0, "OK".equals(status) ? null : code);
            default -> history.record(p, "FAIL".equals(status) ? Kind.FAIL : Kind.OK, op, lock, 0, status);
        }
    }

    private void recordPush(JsonNode m) {
        String lock = m.path("lock").asText(m.path("message").asText());
        switch (m.path("status").asText()) {
            case "GRANTED" -> {
                long token = m.path("token").asLong();
                held.put(lock, token);
                boolean shared = "shared".equals(m.path("mode").asText());
                history.record(p, Kind.OK, Op.LOCK, lock, token, "GRANTED" + (shared ? " mode=shared" : "")
                        + " request=" + (m.has("request") ? m.path("request").asText() : "-"));
            }
            case "RETRY" -> history.record(p, Kind.OK, Op.RETRY, lock, 0, null);
            case "LOST" -> {
                // Version 2 names the grant that ended: one naming an earlier grant leaves the one held.
                long named = m.has("token") ? m.path("token").asLong() : held.getOrDefault(lock, 0L);
                boolean mine = held.remove(lock, named);
                history.record(p, Kind.OK, Op.LOST, lock, named,
                        (mine ? "" : "not held") + (m.has("reason") ? " reason=" + m.path("reason").asText() : ""));
            }
            case "CANCELLED" -> history.record(p, Kind.OK, Op.CANCELLED, lock, 0, "reason=" + m.path("reason").asText()
                    + (m.has("request") ? " request=" + m.path("request").asText() : ""));
            default -> { }
        }
    }

    /** Ends the current connection with a close frame, recorded as DISCONNECT OK. */
    private void hangUp() {
        Conn c = conn;
        if (c.over.compareAndSet(false, true)) {
            history.record(p, Kind.OK, Op.DISCONNECT, null, 0, "closed by the client");
        }
        try {
            c.ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            // aborted below anyway
        }
        c.ws.abort();
    }

    /** Closes the session if the current connection still has one, and the connection. */
    @Override
    public void close() {
        Conn c = conn;
        if (c == null) {
            return;
        }
        try {
            if (!c.isClosed() && !c.over.get() && session != null) {
                closeSession();
            }
        } catch (AssertionError e) {
            // the session or connection is gone already
        } finally {
            c.ws.abort();
        }
    }

    private final class Listener implements WebSocket.Listener {
        private final Conn c;
        private final StringBuilder text = new StringBuilder();

        Listener(Conn c) {
            this.c = c;
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                try {
                    arrived(c, JSON.readTree(text.toString()));
                } catch (java.io.IOException e) {
                    history.record(p, Kind.INFO, Op.DISCONNECT, null, 0, "unreadable frame: " + text);
                }
                text.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            ended("closed " + statusCode + " " + reason, statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            ended("error " + error, -1);
        }

        private void ended(String why, int code) {
            if (c.over.compareAndSet(false, true)) {
                history.record(p, Kind.INFO, Op.DISCONNECT, null, 0, why);
            }
            c.closed.complete(code);
        }
    }
}
