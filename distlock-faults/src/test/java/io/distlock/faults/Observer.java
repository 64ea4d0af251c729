package io.distlock.faults;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.distlock.faults.History.Kind;
import io.distlock.faults.History.Op;

/**
 * A browser that shows who holds what (the board of issue 14): a version 2 session that
 * {@code watch}es the workload's locks and {@code query}s them every {@code queryEvery}, recording
 * what it was shown in the {@link History} as process {@code p}: WATCH OK with each lock's state, a
 * CHANGED OK for each push, QUERY INVOKE and OK (states in the detail, see {@link History.Op}).
 *
 * <p>Frames are recorded on arrival, on the WebSocket's thread, so a CHANGED's time is when the
 * page would have shown it. The observer starts on node {@code home}; when its connection ends
 * (DISCONNECT INFO: from then on it shows nothing) it connects to the next node and watches again,
 * until {@link #close}.
 *
 * <p>{@link #dropChangesAfterFirst()} makes it a broken page that ignores every CHANGED of a lock
 * after the first (a negative control: the watch checker must find it showing holders long gone).
 */
final class Observer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final History history;
    private final int p;
    private final List<URI> nodes;
    private final List<String> locks;
    private final Duration queryEvery;
    private final HttpClient http = HttpClient.newHttpClient();
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final Map<String, String> shown = new ConcurrentHashMap<>(); // lock -> the state shown now (holders and queue)
    /** Queries in flight: id to the detail of their QUERY OK. */
    private final Map<Long, String> queries = new ConcurrentHashMap<>();
    /** Locks of which a CHANGED came (for {@link #dropChangesAfterFirst()}). */
    private final java.util.Set<String> seenChange = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean dropAfterFirst;
    private volatile boolean running = true;
    private volatile WebSocket ws;
    /** The current connection's watch was answered: it shows something. */
    private volatile boolean watching;
    /** One send at a time on a JDK WebSocket (a second one while the first is pending fails). */
    private final java.util.concurrent.locks.ReentrantLock sending = new java.util.concurrent.locks.ReentrantLock();
    private volatile int generation;
    private int node;

    Observer(History history, int process, List<URI> nodes, int home, List<String> locks, Duration queryEvery) {
        this.history = history;
        this.p = process;
        this.nodes = List.copyOf(nodes);
        this.node = home;
        this.locks = List.copyOf(locks);
        this.queryEvery = queryEvery;
        this.thread = new Thread(this::run, "observer-p" + process);
        thread.setDaemon(true);
    }

    /** See the class doc: a page that ignores every CHANGED of a lock after its first. */
    Observer dropChangesAfterFirst() {
        this.dropAfterFirst = true;
        return this;
    }

    boolean dropsChanges() {
        return dropAfterFirst;
    }

    Observer start() {
        thread.start();
        return this;
    }

    int process() {
        return p;
    }

    /** The state shown now for {@code lock} ({@code holders=... queue=...}), null while not watching. */
    String shown(String lock) {
        return shown.get(lock);
    }

    /**
     * Whether this observer is watching and shows, for every lock, what a query answered now says
     * (the query is recorded with {@code detail}). False while it is not connected.
     */
    boolean showsWhatQuerySays(String detail) {
        WebSocket socket = ws;
        if (socket == null || !watching) {
            return false;
        }
        Map<String, String> answer = query(socket, detail);
        if (answer == null) {
            return false;
        }
        return locks.stream().allMatch(lock -> answer.get(lock) != null && answer.get(lock).equals(shown.get(lock)));
    }

    private void run() {
        while (running) {
            if (ws == null && !connectAndWatch()) {
                LockSupport.parkNanos(Duration.ofMillis(100).toNanos());
                continue;
            }
            WebSocket socket = ws;
            if (socket != null) {
                query(socket, null);
            }
            LockSupport.parkNanos(queryEvery.toNanos());
        }
    }

    private boolean connectAndWatch() {
        int index = node;
        node = (node + 1) % nodes.size();
        int gen = ++generation;
        history.record(p, Kind.INVOKE, Op.CONNECT, null, 0, "node=" + index);
        WebSocket socket;
        try {
            socket = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                    .buildAsync(nodes.get(index), new Listener(gen)).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            history.record(p, Kind.FAIL, Op.CONNECT, null, 0, "node=" + index + " " + e);
            return false;
        }
        ws = socket;
        JsonNode ok = send(socket, JSON.createObjectNode().put("action", "connect").put("param", "p" + p).put("version", 2));
        if (ok == null || !"OK".equals(ok.path("status").asText())) {
            history.record(p, Kind.FAIL, Op.CONNECT, null, 0, "node=" + index + " " + ok);
            lose(gen, "connect refused");
            return false;
        }
        history.record(p, Kind.OK, Op.CONNECT, null, 0, "node=" + index);
        ObjectNode watch = JSON.createObjectNode().put("action", "watch");
        locks.forEach(watch.putArray("params")::add);
        for (String lock : locks) {
            history.record(p, Kind.INVOKE, Op.WATCH, lock, 0, null);
        }
        JsonNode answer = send(socket, watch);
        if (answer == null || !"OK".equals(answer.path("status").asText())) {
            history.record(p, Kind.FAIL, Op.WATCH, null, 0, String.valueOf(answer));
            lose(gen, "watch refused");
            return false;
        }
        watching = true;
        return true; // the answer was recorded on arrival, in order with the pushes
    }

    /** Queries every lock on {@code socket}; returns lock to state, or null if no answer came. */
    private Map<String, String> query(WebSocket socket, String detail) {
        ObjectNode frame = JSON.createObjectNode().put("action", "query");
        locks.forEach(frame.putArray("params")::add);
        for (String lock : locks) {
            history.record(p, Kind.INVOKE, Op.QUERY, lock, 0, detail);
        }
        JsonNode answer = send(socket, frame, detail == null ? "" : detail);
        if (answer == null || !"OK".equals(answer.path("status").asText())) {
            return null;
        }
        Map<String, String> states = new HashMap<>();
        answer.path("state").fields().forEachRemaining(e -> states.put(e.getKey(), holdersAndQueue(e.getValue())));
        return states;
    }

    private JsonNode send(WebSocket socket, ObjectNode frame) {
        return send(socket, frame, null);
    }

    /**
     * Sends a request and waits for its answer (recorded by the listener); null if none came in
     * time. {@code queryDetail}: the request is a query, its answer recorded as QUERY OK with it.
     */
    private JsonNode send(WebSocket socket, ObjectNode frame, String queryDetail) {
        long id = ids.incrementAndGet();
        frame.put("id", id);
        CompletableFuture<JsonNode> answer = new CompletableFuture<>();
        pending.put(id, answer);
        if (queryDetail != null) {
            queries.put(id, queryDetail);
        }
        try {
            sending.lock();
            try {
                socket.sendText(frame.toString(), true).get(10, TimeUnit.SECONDS);
            } finally {
                sending.unlock();
            }
            return answer.get(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            return null;
        } finally {
            pending.remove(id);
            queries.remove(id);
        }
    }

    /** The connection of generation {@code gen} ended: DISCONNECT INFO once, nothing shown until the next watch. */
    private void lose(int gen, String why) {
        synchronized (this) {
            if (gen != generation || ws == null) {
                return;
            }
            history.record(p, Kind.INFO, Op.DISCONNECT, null, 0, why);
            WebSocket socket = ws;
            ws = null;
            watching = false;
            shown.clear();
            pending.values().forEach(waiting -> waiting.complete(null)); // no answer will come on this connection
            socket.abort();
        }
    }

    /** Stops: the session closes with its connection (DISCONNECT OK). */
    @Override
    public void close() {
        running = false;
        try {
            thread.join(20_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            WebSocket socket = ws;
            if (socket != null) {
                history.record(p, Kind.OK, Op.DISCONNECT, null, 0, "observer stops");
                ws = null;
                watching = false;
                generation++;
                shown.clear();
                try {
                    socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(2, TimeUnit.SECONDS);
                } catch (InterruptedException | ExecutionException | TimeoutException e) {
                    // aborted below anyway
                }
                socket.abort();
            }
        }
    }

    /** {@code holders=NAME:MODE:SINCE,... queue=...} of one lock's state. */
    static String holdersAndQueue(JsonNode state) {
        return "holders=" + entries(state.path("holders")) + " queue=" + entries(state.path("queue"));
    }

    private static String entries(JsonNode array) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : array) {
            out.add(e.path("name").asText("?") + ":" + ("shared".equals(e.path("mode").asText()) ? "s" : "x") + ":"
                    + e.path("since").asLong());
        }
        return String.join(",", out);
    }

    /** Runs on the WebSocket's threads: records what arrived, in order, and hands answers over. */
    private void arrived(int gen, JsonNode m) {
        synchronized (this) {
            if (gen != generation) {
                return; // an older connection's
            }
            if (m.has("id")) {
                long id = m.path("id").asLong(-1);
                String query = queries.get(id);
                if (m.has("state")) {
                    m.path("state").fields().forEachRemaining(e -> {
                        String state = holdersAndQueue(e.getValue());
                        if (query != null) {
                            history.recordWithWall(p, Kind.OK, Op.QUERY, e.getKey(), 0, state
                                    + (query.isEmpty() ? "" : " " + query));
                        } else {
                            shown.put(e.getKey(), state);
                            history.recordWithWall(p, Kind.OK, Op.WATCH, e.getKey(), 0, state);
                        }
                    });
                } else if (query != null) {
                    history.record(p, Kind.FAIL, Op.QUERY, null, 0, "code=" + m.path("code").asText());
                }
                CompletableFuture<JsonNode> waiting = pending.get(id);
                if (waiting != null) {
                    waiting.complete(m);
                }
                return;
            }
            if ("CHANGED".equals(m.path("status").asText())) {
                String lock = m.path("lock").asText();
                if (dropAfterFirst && shown.containsKey(lock) && seenChange.contains(lock)) {
                    return; // the broken page: it ignores this change
                }
                seenChange.add(lock);
                String state = holdersAndQueue(m.path("state"));
                shown.put(lock, state);
                history.recordWithWall(p, Kind.OK, Op.CHANGED, lock, 0, state);
            }
        }
    }

    private final class Listener implements WebSocket.Listener {
        private final int gen;
        private final StringBuilder text = new StringBuilder();

        Listener(int gen) {
            this.gen = gen;
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                try {
                    arrived(gen, JSON.readTree(text.toString()));
                } catch (java.io.IOException e) {
                    lose(gen, "unreadable frame: " + text);
                }
                text.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            lose(gen, "closed " + statusCode + " " + reason);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            lose(gen, "error " + error);
        }
    }
}
