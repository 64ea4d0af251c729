package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.distlock.testing.Await;

/**
 * A real WebSocket client (the JDK's) speaking the distlock protocol, for the starter's tests
 * (and distlock-spring-boot-jetty-test's, through this module's test-jar).
 */
public final class LockClient implements WebSocket.Listener, AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Duration TIMEOUT = Await.seconds(10);

    /** A close from the server: its code. */
    record Closed(int code) { }

    private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
    private final StringBuilder partial = new StringBuilder();
    private WebSocket ws;

    public static LockClient open(URI uri) {
        return open(uri, Map.of());
    }

    static LockClient open(URI uri, Map<String, String> headers) {
        LockClient client = new LockClient();
        WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(TIMEOUT);
        headers.forEach(builder::header);
        client.ws = builder.buildAsync(uri, client).orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
        return client;
    }

    /** Sends a frame and returns the next one, which must have {@code status}. */
    public JsonNode request(String status, Object... keysAndValues) {
        send(keysAndValues);
        return expect(status);
    }

    LockClient send(Object... keysAndValues) {
        Map<String, Object> frame = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            frame.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        try {
            ws.sendText(JSON.writeValueAsString(frame), true).orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return this;
    }

    public JsonNode expect(String status) {
        return expect(status, TIMEOUT);
    }

    JsonNode expect(String status, Duration within) {
        Object next = poll(within);
        assertThat(next).as("the next frame").isInstanceOf(JsonNode.class);
        JsonNode frame = (JsonNode) next;
        assertThat(frame.path("status").asText()).as("status of %s", frame).isEqualTo(status);
        return frame;
    }

    /** The close the server sent. */
    Closed expectClosed() {
        Object next = poll(TIMEOUT);
        assertThat(next).as("the next event").isInstanceOf(Closed.class);
        return (Closed) next;
    }

    private Object poll(Duration within) {
        try {
            Object next = received.poll(within.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(next).as("a frame within %s", within).isNotNull();
            return next;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            try {
                received.add(JSON.readTree(partial.toString()));
            } catch (IOException e) {
                received.add(e);
            }
            partial.setLength(0);
        }
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        received.add(new Closed(statusCode));
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        received.add(error);
    }

    @Override
    public void close() {
        if (!ws.isOutputClosed()) {
            try {
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "").orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
            } catch (RuntimeException e) {
                // already closing
            }
        }
        ws.abort();
    }

    /**
     * The HTTP status of a WebSocket handshake to {@code uri} with these extra headers, read from
     * the status line (the JDK client will not send every header, nor tell the status).
     */
    static int handshakeStatus(URI uri, Map<String, String> headers) {
        try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
            socket.setSoTimeout((int) TIMEOUT.toMillis());
            StringBuilder request = new StringBuilder()
                    .append("GET ").append(uri.getRawPath()).append(" HTTP/1.1\r\n");
            if (headers.keySet().stream().noneMatch("Host"::equalsIgnoreCase)) { // a Host among them replaces the URI's
                request.append("Host: ").append(uri.getHost()).append(':').append(uri.getPort()).append("\r\n");
            }
            request
                    .append("Upgrade: websocket\r\nConnection: Upgrade\r\n")
                    .append("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n");
            headers.forEach((name, value) -> request.append(name).append(": ").append(value).append("\r\n"));
            request.append("\r\n");
            socket.getOutputStream().write(request.toString().getBytes(StandardCharsets.US_ASCII));
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            InputStream in = socket.getInputStream();
            int b;
            while ((b = in.read()) >= 0 && b != '\n') {
                line.write(b);
            }
            return Integer.parseInt(line.toString(StandardCharsets.US_ASCII).split(" ")[1]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits for {@code future}; for tests. */
    static <T> T join(CompletableFuture<T> future) {
        return future.orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).join();
    }
}
