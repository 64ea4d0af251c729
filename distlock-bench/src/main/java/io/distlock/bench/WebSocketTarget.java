package io.distlock.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The server over WebSocket, with the JDK's {@link java.net.http.WebSocket} client. Each
 * {@link HttpClient} has one selector thread that reads and writes all of its connections,
 * so sessions are spread over several clients, and over the given node URLs round robin.
 * Frames are written by hand and replies read by {@link Reply}: the client's own cost per
 * request should be small next to the server's, since both share the machine. Sessions
 * connect with {@code "version": 2} when the phase queues or locks shared, and as version 1
 * (the exact frames of before protocol version 2) otherwise.
 */
final class WebSocketTarget implements Target {

    private final List<URI> urls;
    private final HttpClient[] clients;
    private final int version;

    /** @param version the protocol version the sessions ask for at {@code connect}: 1 or 2 */
    WebSocketTarget(List<URI> urls, int httpClients, int version) {
        if (version != 1 && version != 2) {
            throw new IllegalArgumentException("protocol version 1 or 2, was " + version);
        }
        this.version = version;
        this.urls = List.copyOf(urls);
        this.clients = new HttpClient[httpClients];
        for (int i = 0; i < httpClients; i++) {
            // Listener calls run on the client's selector thread rather than on its default
            // pool: the bench's callbacks never block, and the hop to a pool thread for every
            // frame cost ~50 µs per lock+unlock pair and half the bench's CPU (measured).
            clients[i] = HttpClient.newBuilder().executor(Runnable::run).connectTimeout(Duration.ofSeconds(10)).build();
        }
    }

    @Override
    public String label() {
        return "websocket";
    }

    @Override
    public int nodes() {
        return urls.size();
    }

    @Override
    public int nodeOf(int index) {
        return index % urls.size();
    }

    @Override
    public CompletionStage<Session> open(int index, String name, Pushes pushes) {
        WsSession session = new WsSession(pushes);
        return clients[index % clients.length].newWebSocketBuilder()
                .connectTimeout(Duration.ofSeconds(10))
                .buildAsync(urls.get(nodeOf(index)), session)
                .thenCompose(ws -> {
                    session.ws = ws;
                    StringBuilder frame = new StringBuilder(64).append("{\"action\":\"connect\",\"param\":");
                    quote(frame, name);
                    if (version > 1) {
                        frame.append(",\"version\":").append(version);
                    }
                    return session.request(frame);
                })
                .thenApply(reply -> {
                    if (reply.status != Reply.Status.OK) {
                        throw new IllegalStateException("connect answered " + reply);
                    }
                    if (version > 1 && reply.version != version) {
                        throw new IllegalStateException("asked for protocol version " + version + ", the server speaks "
                                + (reply.version == 0 ? "version 1" : "version " + reply.version));
                    }
                    return session;
                });
    }

    @Override
    public void close() {
        // The clients' selector threads end when the clients are unreachable.
    }

    /** Appends {@code s} as a JSON string (bench names need no escapes, but stay correct). */
    static void quote(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        out.append('"');
    }

    /** One connection: one request in flight, replies matched by id, pushes passed on. */
    static final class WsSession implements Session, WebSocket.Listener {
        private final Pushes pushes;
        volatile WebSocket ws;
        private final StringBuilder partial = new StringBuilder();
        private final CompletableFuture<Void> closed = new CompletableFuture<>();
        private CompletableFuture<Reply> pending; // guarded by this
        private long pendingId; // guarded by this
        private long nextId; // guarded by this
        private CompletableFuture<?> lastSend = CompletableFuture.completedFuture(null); // guarded by this

        WsSession(Pushes pushes) {
            this.pushes = pushes;
        }

        @Override
        public CompletionStage<Reply> lock(List<String> names, boolean shared, boolean wait) {
            StringBuilder f = frame(names.size() == 1 ? "lock" : "mlock", names);
            if (shared) {
                f.append(",\"mode\":\"shared\"");
            }
            if (wait && names.size() == 1) {
                f.append(",\"wait\":true");
            }
            return request(f);
        }

        @Override
        public CompletionStage<Reply> unlock(List<String> names) {
            return request(frame(names.size() == 1 ? "unlock" : "munlock", names));
        }

        @Override
        public CompletionStage<Void> close() {
            WebSocket socket = ws;
            if (socket == null || socket.isOutputClosed()) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<?> send;
            synchronized (this) {
                send = lastSend;
            }
            return send.handle((v, e) -> null)
                    .thenCompose(v -> socket.sendClose(WebSocket.NORMAL_CLOSURE, "bench done"))
                    .handle((v, e) -> {
                        socket.abort();
                        return null;
                    });
        }

        private static StringBuilder frame(String action, List<String> names) {
            StringBuilder f = new StringBuilder(96).append("{\"action\":\"").append(action).append('"');
            if (names.size() == 1) {
                f.append(",\"param\":");
                quote(f, names.get(0));
            } else {
                f.append(",\"params\":[");
                for (int i = 0; i < names.size(); i++) {
                    if (i > 0) {
                        f.append(',');
                    }
                    quote(f, names.get(i));
                }
                f.append(']');
            }
            return f;
        }

        /** Sends a frame (the {@code id} and closing brace are added here) and returns its reply. */
        CompletableFuture<Reply> request(StringBuilder frame) {
            CompletableFuture<Reply> reply = new CompletableFuture<>();
            WebSocket socket = ws;
            synchronized (this) {
                if (pending != null && !pending.isDone()) {
                    reply.completeExceptionally(new IllegalStateException("a request is already in flight"));
                    return reply;
                }
                long id = ++nextId;
                frame.append(",\"id\":").append(id).append('}');
                pending = reply;
                pendingId = id;
                // The JDK client allows one send at a time: chain on the previous one.
                lastSend = lastSend.thenCompose(v -> socket.sendText(frame, true));
                lastSend.whenComplete((v, e) -> {
                    if (e != null) {
                        reply.completeExceptionally(e);
                    }
                });
            }
            return reply;
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            try {
                if (!last) {
                    partial.append(data);
                    return null;
                }
                CharSequence text = data;
                if (partial.length() > 0) {
                    text = partial.append(data).toString();
                    partial.setLength(0);
                }
                received(Reply.parse(text));
            } finally {
                webSocket.request(1);
            }
            return null;
        }

        private void received(Reply reply) {
            if (reply.status == Reply.Status.RETRY) {
                pushes.retry(reply.lock);
                return;
            }
            if (reply.status == Reply.Status.LOST) {
                pushes.lost(reply.lock);
                return;
            }
            if (reply.status == Reply.Status.GRANTED) {
                pushes.granted(reply.lock, reply.token, reply.shared, reply.request);
                return;
            }
            if (reply.status == Reply.Status.CANCELLED) {
                pushes.cancelled(reply.lock, reply.reason);
                return;
            }
            CompletableFuture<Reply> waiting;
            synchronized (this) {
                waiting = pending;
                if (waiting == null || reply.id != pendingId) {
                    waiting = null;
                } else {
                    pending = null;
                }
            }
            if (waiting != null) {
                waiting.complete(reply);
            }
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            failPending(new IOException("closed by the server: " + statusCode + " " + reason));
            closed.complete(null);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            failPending(error);
            closed.complete(null);
        }

        private void failPending(Throwable error) {
            CompletableFuture<Reply> waiting;
            synchronized (this) {
                waiting = pending;
                pending = null;
            }
            if (waiting != null) {
                waiting.completeExceptionally(error);
            }
        }
    }
}
