package io.distlock.examples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.distlock.testing.Await;

/** One client session over a real WebSocket (the JDK's client), as a browser would hold it. */
final class Browser implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final WebSocket socket;
    private final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
    private int nextId = 1;

    Browser(URI uri) {
        socket = HttpClient.newHttpClient().newWebSocketBuilder()
                .buildAsync(uri, new WebSocket.Listener() {
                    private final StringBuilder partial = new StringBuilder();

                    @Override
                    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                        partial.append(data);
                        if (last) {
                            frames.add(partial.toString());
                            partial.setLength(0);
                        }
                        webSocket.request(1);
                        return null;
                    }
                })
                .orTimeout(Await.seconds(10).toMillis(), TimeUnit.MILLISECONDS)
                .join();
    }

    /** Sends {@code {"action":action,"param":param,"id":n}} and returns the next frame. */
    JsonNode request(String action, String param) {
        String frame = JSON.createObjectNode().put("action", action).put("param", param).put("id", nextId++).toString();
        socket.sendText(frame, true).join();
        return next();
    }

    /** The next frame received (a reply or a push); fails the test if none comes in time. */
    JsonNode next() {
        try {
            String frame = frames.poll(Await.seconds(10).toMillis(), TimeUnit.MILLISECONDS);
            if (frame == null) {
                throw new AssertionError("no frame from the server in time");
            }
            return JSON.readTree(frame);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "").join();
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress("127.0.0.1", 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
