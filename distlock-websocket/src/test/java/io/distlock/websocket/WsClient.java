package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.distlock.testing.Await;

/**
 * A real WebSocket client (the JDK's) that records every frame it receives, in order, for
 * protocol assertions in the style of OkHttp's WebSocketRecorder: {@link #expectNext},
 * {@link #expectNone}, {@link #expectClosed}.
 */
final class WsClient implements WebSocket.Listener, AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration TIMEOUT = Await.seconds(10);
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    /** The server closed the connection. */
    record Closed(int code, String reason) { }

    private final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final StringBuilder partial = new StringBuilder();
    private volatile WebSocket ws;

    private WsClient() { }

    static WsClient open(URI uri) {
        return open(uri, Map.of());
    }

    static WsClient open(URI uri, Map<String, String> headers) {
        WsClient client = new WsClient();
        try {
            client.ws = builder(headers).buildAsync(uri, client).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new AssertionError("cannot open " + uri + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError("cannot open " + uri, e);
        }
        return client;
    }

    /** Attempts a handshake that must be refused; returns the HTTP status of the refusal. */
    static int refusedHandshake(URI uri, Map<String, String> headers) {
        WsClient client = new WsClient();
        try {
            WebSocket ws = builder(headers).buildAsync(uri, client).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            ws.abort();
            return fail("the handshake to %s with %s was accepted", uri, headers);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException refused) {
                return refused.getResponse().statusCode();
            }
            throw new AssertionError("handshake failed without an HTTP answer: " + e.getCause(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError(e);
        }
    }

    private static WebSocket.Builder builder(Map<String, String> headers) {
        WebSocket.Builder builder = HTTP.newWebSocketBuilder().connectTimeout(TIMEOUT);
        headers.forEach(builder::header);
        return builder;
    }

    // ---- sending ----

    /** Sends a raw text frame. */
    WsClient sendRaw(String text) {
        join(ws.sendText(text, true));
        return this;
    }

    /** Sends a raw text frame; a failure (the server closed meanwhile) is ignored. */
    void trySendRaw(String text) {
        try {
            ws.sendText(text, true).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            // the close that follows is what the test looks at
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    WsClient sendBinary(byte[] data) {
        join(ws.sendBinary(ByteBuffer.wrap(data), true));
        return this;
    }

    /** Sends a JSON object built from alternating keys and values (lists become arrays). */
    WsClient send(Object... keysAndValues) {
        return sendRaw(json(keysAndValues));
    }

    /** Sends a request and returns the next frame, which must have {@code status}. */
    JsonNode request(String status, Object... keysAndValues) {
        send(keysAndValues);
        return expectNext(status);
    }

    static String json(Object... keysAndValues) {
        ObjectNode node = JSON.createObjectNode();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            node.set((String) keysAndValues[i], JSON.valueToTree(keysAndValues[i + 1]));
        }
        return node.toString();
    }

    // ---- receiving ----

    /** The next text frame, parsed; fails if the connection closes or nothing arrives in time. */
    JsonNode next() {
        Object event = poll(TIMEOUT);
        if (event == null) {
            return fail("no frame within %s", TIMEOUT);
        }
        if (event instanceof String text) {
            try {
                return JSON.readTree(text);
            } catch (JsonProcessingException e) {
                return fail("the server sent a frame that is not JSON: %s", text);
            }
        }
        return fail("expected a frame but got %s", event);
    }

    /** The next text frame exactly as received; fails if the connection closes or nothing arrives in time. */
    String nextText() {
        Object event = poll(TIMEOUT);
        if (event instanceof String text) {
            return text;
        }
        return fail("expected a text frame but got %s", event == null ? "nothing within " + TIMEOUT : event);
    }

    /** The next frame, parsed, or the server's close. */
    Object nextFrameOrClose() {
        Object event = poll(TIMEOUT);
        if (event instanceof Closed || event instanceof Throwable) {
            return event instanceof Closed ? event : new Closed(1006, String.valueOf(event));
        }
        if (event == null) {
            return fail("no frame within %s", TIMEOUT);
        }
        try {
            return JSON.readTree((String) event);
        } catch (JsonProcessingException e) {
            return fail("the server sent a frame that is not JSON: %s", event);
        }
    }

    /** The next frame, which must have {@code status}. */
    JsonNode expectNext(String status) {
        JsonNode frame = next();
        assertThat(frame.path("status").asText()).as("status of %s", frame).isEqualTo(status);
        assertThat(frame.path("message").isTextual()).as("message of %s", frame).isTrue();
        assertThat(frame.path("time").isIntegralNumber()).as("time of %s", frame).isTrue();
        return frame;
    }

    /** The next frame, which must be {@code FAIL} with {@code code}. */
    JsonNode expectFail(String code) {
        JsonNode frame = expectNext("FAIL");
        assertThat(frame.path("code").asText()).as("code of %s", frame).isEqualTo(code);
        assertThat(frame.path("message").asText()).as("message of %s", frame)
                .doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("io.distlock");
        return frame;
    }

    /** Asserts that no frame and no close arrives within {@code quiet}. */
    void expectNone(Duration quiet) {
        Object event = poll(quiet);
        assertThat(event).as("no further frame").isNull();
    }

    /** Skips frames until the server closes; returns the close. */
    Closed expectClosed() {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            Object event = poll(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            if (event == null) {
                return fail("the server did not close the connection within %s", TIMEOUT);
            }
            if (event instanceof Closed closed) {
                return closed;
            }
            if (event instanceof Throwable error) {
                // Some servers drop the TCP connection right after their close frame.
                return new Closed(1006, String.valueOf(error));
            }
        }
    }

    /** The next event, which must be the server's close: no frame before it. */
    Closed expectCloseNext() {
        Object event = poll(TIMEOUT);
        assertThat(event).as("the server's close, first").isInstanceOf(Closed.class);
        return (Closed) event;
    }

    /** Frames received so far and not yet taken. */
    List<Object> pending() {
        return List.copyOf(events);
    }

    private Object poll(Duration timeout) {
        try {
            return events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    // ---- lifecycle ----

    /** Drops the TCP connection without a close frame. */
    void abort() {
        ws.abort();
    }

    boolean isOpen() {
        return !ws.isInputClosed() && !ws.isOutputClosed();
    }

    @Override
    public void close() {
        WebSocket socket = ws;
        if (socket == null) {
            return;
        }
        try {
            if (!socket.isOutputClosed()) {
                socket.sendClose(WebSocket.NORMAL_CLOSURE, "").get(2, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            // closing a test client: the abort below is enough
        }
        socket.abort();
    }

    // ---- WebSocket.Listener ----

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            events.add(partial.toString());
            partial.setLength(0);
        }
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        events.add(new Closed(statusCode, reason));
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        events.add(error);
    }

    private static void join(CompletionStage<?> stage) {
        try {
            stage.toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | CompletionException e) {
            throw new AssertionError("send failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new AssertionError(e);
        }
    }
}
