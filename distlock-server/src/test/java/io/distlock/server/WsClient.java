package io.distlock.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.distlock.testing.Await;

/**
 * A test client on the JDK's WebSocket: records every text frame in a queue (OkHttp's
 * WebSocketRecorder idea), so a test sends a frame and asserts the next one, with deadlines
 * instead of sleeps.
 */
final class WsClient implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final WebSocket socket;
    private final BlockingQueue<JsonNode> frames;
    private final CompletableFuture<Integer> closed;

    private WsClient(WebSocket socket, BlockingQueue<JsonNode> frames, CompletableFuture<Integer> closed) {
        this.socket = socket;
        this.frames = frames;
        this.closed = closed;
    }

    static WsClient connect(URI uri) {
        return connect(uri, null);
    }

    /** Connects, sending {@code Origin: origin} unless it is null. Fails the test if the handshake fails. */
    static WsClient connect(URI uri, String origin) {
        try {
            return open(uri, origin).get(Await.seconds(10).toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError("cannot connect to " + uri + " (Origin " + origin + "): " + e, e);
        }
    }

    /**
     * The HTTP status of a handshake that the server refused, or 101 if it was accepted (the
     * connection is closed again at once).
     */
    static int handshakeStatus(URI uri, String origin) {
        try {
            WsClient client = open(uri, origin).get(Await.seconds(10).toMillis(), TimeUnit.MILLISECONDS);
            client.close();
            return 101;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() instanceof CompletionException ? e.getCause().getCause() : e.getCause();
            if (cause instanceof WebSocketHandshakeException handshake) {
                return handshake.getResponse().statusCode();
            }
            throw new AssertionError("handshake with " + uri + " failed without an HTTP status: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (TimeoutException e) {
            throw new AssertionError("no handshake answer from " + uri, e);
        }
    }

    /**
     * A handshake written by hand, for headers the JDK client will not send (another
     * {@code Host}, as a browser that reached the server by another name sends): the HTTP
     * status the server answers, from the status line alone.
     */
    static int rawHandshakeStatus(URI uri, Map<String, String> headers) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(uri.getHost(), uri.getPort()), 5_000);
            return rawHandshakeStatus(socket, uri, headers);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** As {@link #rawHandshakeStatus(URI, Map)}, on a socket already connected to the server. */
    static int rawHandshakeStatus(Socket socket, URI uri, Map<String, String> headers) throws IOException {
        socket.setSoTimeout((int) Await.seconds(10).toMillis());
        StringBuilder request = new StringBuilder("GET " + uri.getRawPath() + " HTTP/1.1\r\n");
        if (headers.keySet().stream().noneMatch("Host"::equalsIgnoreCase)) {
            request.append("Host: ").append(uri.getHost()).append(':').append(uri.getPort()).append("\r\n");
        }
        request.append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
                .append("Sec-WebSocket-Key: ").append(Base64.getEncoder().encodeToString(new byte[16])).append("\r\n");
        headers.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
        socket.getOutputStream().write(request.append("\r\n").toString().getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        InputStream in = socket.getInputStream();
        int b;
        while ((b = in.read()) >= 0 && b != '\n') {
            line.write(b);
        }
        String[] parts = line.toString(StandardCharsets.US_ASCII).split(" ");
        if (parts.length < 2) {
            throw new IOException("no HTTP status line from " + uri + ": '" + line.toString(StandardCharsets.US_ASCII) + "'");
        }
        return Integer.parseInt(parts[1]);
    }

    private static CompletableFuture<WsClient> open(URI uri, String origin) {
        BlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
        CompletableFuture<Integer> closed = new CompletableFuture<>();
        WebSocket.Listener listener = new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    String text = partial.toString();
                    partial.setLength(0);
                    try {
                        frames.add(JSON.readTree(text));
                    } catch (Exception e) {
                        frames.add(JSON.getNodeFactory().textNode("UNPARSEABLE " + text));
                    }
                }
                webSocket.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
                closed.complete(statusCode);
                return null;
            }

            @Override
            public void onError(WebSocket webSocket, Throwable error) {
                closed.complete(-1);
            }
        };
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        WebSocket.Builder builder = http.newWebSocketBuilder();
        if (origin != null) {
            builder.header("Origin", origin);
        }
        return builder.buildAsync(uri, listener).thenApply(ws -> new WsClient(ws, frames, closed));
    }

    /** Sends a WebSocket ping (the JDK's client answers the server's pings by itself). */
    WsClient ping() {
        socket.sendPing(java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3})).join();
        return this;
    }

    /** Sends one text frame. */
    WsClient send(String json) {
        socket.sendText(json, true).join();
        return this;
    }

    /** The next frame, failing the test if none arrives within {@code timeout}. */
    JsonNode next(Duration timeout) {
        try {
            JsonNode frame = frames.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (frame == null) {
                throw new AssertionError("no frame within " + timeout.toMillis() + " ms");
            }
            return frame;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    JsonNode next() {
        return next(Await.seconds(10));
    }

    /** Sends a request and returns the next frame (the reply, when no push is pending). */
    JsonNode request(String json) {
        return send(json).next();
    }

    /** Frames received and not yet taken. */
    int pending() {
        return frames.size();
    }

    /** Whether the connection is still open (no close seen, no error). */
    boolean isOpen() {
        return !closed.isDone();
    }

    /** The close code the server sent (-1 for an abrupt end), failing the test if it does not close in time. */
    int awaitClose(Duration timeout) {
        try {
            return closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new AssertionError("the connection was not closed within " + timeout.toMillis() + " ms", e);
        }
    }

    @Override
    public void close() {
        if (!socket.isOutputClosed()) {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "").exceptionally(e -> null);
        }
        socket.abort();
    }
}
