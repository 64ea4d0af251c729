package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.management.ObjectName;

import io.distlock.testing.Await;

import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.MessageHandler;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpointConfig;

import org.junit.jupiter.api.Test;

/**
 * {@link UpgradedChain}: upgraded connections stop holding Grizzly's upgrade request, frames
 * still flow both ways on their own chain, and closing them still goes through the filters
 * that count and watch connections (the guard's count falls back to zero, and the HTTP
 * deadline lets the closed connections go).
 */
class UpgradedChainTest {

    private static final int CONNECTIONS = 300;
    private static final String REQUEST_CLASS = "org.glassfish.grizzly.http.HttpServerFilter$ServerHttpRequestImpl";
    private static final String CONNECTION_CLASS = "org.glassfish.grizzly.nio.transport.TCPNIOConnection";

    /** Echoes every text frame. Public with a public constructor: Tyrus creates it. */
    public static final class Echo extends Endpoint {
        @Override
        public void onOpen(Session session, EndpointConfig config) {
            session.addMessageHandler(String.class, (MessageHandler.Whole<String>) text -> session.getAsyncRemote().sendText(text));
        }
    }

    @Test
    void upgradedConnectionsLeaveTheRequestBehindAndStillCarryFramesAndClose() throws Exception {
        ConnectionGuard guard = new ConnectionGuard(Duration.ofSeconds(30), 10 * CONNECTIONS, address -> false);
        try (WebServer web = WebServer.create("127.0.0.1", 0, ServerOptions.defaults().maxRequestHeadBytes(),
                ServerOptions.defaults().pingInterval(), guard)) {
            web.deploy(ServerEndpointConfig.Builder.create(Echo.class, "/echo").build());
            web.start();
            URI uri = URI.create("ws://127.0.0.1:" + web.port() + "/echo");
            long before = liveInstances(REQUEST_CLASS);
            long connectionsBefore = liveInstances(CONNECTION_CLASS);

            HttpClient http = HttpClient.newHttpClient();
            List<WebSocket> sockets = new ArrayList<>();
            List<CompletableFuture<String>> echoes = new ArrayList<>();
            try {
                for (int i = 0; i < CONNECTIONS; i++) {
                    CompletableFuture<String> echo = new CompletableFuture<>();
                    echoes.add(echo);
                    sockets.add(http.newWebSocketBuilder().buildAsync(uri, new WebSocket.Listener() {
                        @Override
                        public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
                            echo.complete(data.toString());
                            return null;
                        }
                    }).get(Await.seconds(10).toMillis(), TimeUnit.MILLISECONDS));
                }
                for (int i = 0; i < CONNECTIONS; i++) {
                    sockets.get(i).sendText("frame " + i, true);
                }
                for (int i = 0; i < CONNECTIONS; i++) {
                    assertThat(echoes.get(i).get(Await.seconds(10).toMillis(), TimeUnit.MILLISECONDS)).isEqualTo("frame " + i);
                }
                assertThat(guard.openConnections()).isEqualTo(CONNECTIONS);

                // Before UpgradedChain, every open WebSocket held its upgrade request (one each,
                // with ~37 header chunks); now only the few Grizzly pools per thread remain.
                long held = liveInstances(REQUEST_CLASS) - before;
                System.out.printf("%d open WebSockets hold %d more %s than none%n", CONNECTIONS, held, REQUEST_CLASS);
                assertThat(held).as("upgrade requests held with %d WebSockets open", CONNECTIONS).isLessThan(CONNECTIONS / 10);
            } finally {
                for (WebSocket socket : sockets) {
                    socket.abort();
                }
            }
            await().atMost(Await.seconds(10)).until(() -> guard.openConnections() == 0);
            // And nothing keeps them once closed: Grizzly's HTTP deadline (IdleTimeoutFilter)
            // holds every connection in its queue until its handleClose sees the close.
            await().atMost(Await.seconds(20)).pollInterval(Duration.ofMillis(500))
                    .until(() -> liveInstances(CONNECTION_CLASS) - connectionsBefore < CONNECTIONS / 10);
        }
    }

    /** Live instances of {@code className} in this JVM, after a full GC (the class histogram). */
    private static long liveInstances(String className) throws Exception {
        String histogram = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {new String[0]}, new String[] {String[].class.getName()});
        Matcher line = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+\\d+\\s+" + Pattern.quote(className) + "(\\s|$)", Pattern.MULTILINE)
                .matcher(histogram);
        return line.find() ? Long.parseLong(line.group(1)) : 0;
    }
}
