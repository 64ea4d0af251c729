package io.distlock.spring.boot.jetty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.jetty.JettyWebServer;
import org.springframework.boot.jetty.servlet.JettyServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.context.WebApplicationContext;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.spring.boot.LockClient;
import io.distlock.spring.boot.jetty.app.LocksApplication;
import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.distlock.websocket.DistLockEndpoints;
import jakarta.websocket.server.ServerContainer;

/**
 * docs/spring-boot.md's application on Jetty, with this module's dependencies (the docs' recipe:
 * spring-boot-starter-tomcat excluded from spring-boot-starter-webmvc, spring-boot-starter-jetty
 * added): it runs on Jetty with no Tomcat jar on its class path, locks and unlocks over a real
 * WebSocket, serves the JavaScript client, and refuses handshakes with the statuses the docs give
 * for Jetty (403 foreign origin, 429 a client address at its limit, 503 full); the same under a
 * Spring MVC servlet path; and a warning where Boot's native forwarded headers let a client choose
 * the address the per-address cap counts.
 */
class StarterOnJettyTest {

    static final Duration TIMEOUT = Await.seconds(10);

    static RedisProcess redis;
    static ConfigurableApplicationContext app;
    static int port;

    @BeforeAll
    static void start() {
        redis = RedisProcess.start().markInService("distlock");
        app = new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url(),
                        "distlock.max-connections=3", "distlock.max-connections-per-address=2")
                .run();
        port = ((WebServerApplicationContext) app).getWebServer().getPort();
    }

    @AfterAll
    static void stop() {
        try {
            if (app != null) {
                app.close();
            }
        } finally {
            redis.close();
        }
    }

    URI ws() {
        return URI.create("ws://127.0.0.1:" + port + "/distlock/lock");
    }

    /**
     * Before the fix the starter declared tomcat-embed-websocket itself: it survived the
     * application's exclusion of spring-boot-starter-tomcat and brought tomcat-embed-core back
     * (Boot still chose Jetty, with Tomcat's jars and a second copy of the Jakarta WebSocket API
     * on the class path).
     */
    @Test
    void runsOnJettyWithJettysWebSocketContainerAndNoTomcat() {
        assertThat(((WebServerApplicationContext) app).getWebServer()).isInstanceOf(JettyWebServer.class);
        Object container = ((WebApplicationContext) app).getServletContext().getAttribute(ServerContainer.class.getName());
        assertThat(container).isInstanceOf(ServerContainer.class);
        assertThat(container.getClass().getName()).startsWith("org.eclipse.jetty.");
        for (String tomcat : List.of("org.apache.catalina.startup.Tomcat", "org.apache.tomcat.websocket.server.WsSci",
                "org.springframework.boot.tomcat.TomcatWebServer")) {
            assertThatThrownBy(() -> Class.forName(tomcat, false, getClass().getClassLoader()))
                    .as("%s on the class path", tomcat)
                    .isInstanceOf(ClassNotFoundException.class);
        }
    }

    @Test
    void locksAndUnlocksOverTheWebSocket() {
        try (LockClient alice = LockClient.open(ws());
             LockClient bob = LockClient.open(ws())) {
            alice.request("OK", "action", "connect", "param", "alice");
            bob.request("OK", "action", "connect", "param", "bob");
            JsonNode locked = alice.request("LOCKED", "action", "lock", "param", "doc-1");
            assertThat(locked.path("token").asLong()).isPositive();
            assertThat(bob.request("WAIT", "action", "lock", "param", "doc-1").path("holder").asText()).isEqualTo("alice");
            alice.request("OK", "action", "unlock", "param", "doc-1");
            assertThat(bob.expect("RETRY").path("lock").asText()).isEqualTo("doc-1");
            JsonNode second = bob.request("LOCKED", "action", "lock", "param", "doc-1");
            assertThat(second.path("token").asLong()).isGreaterThan(locked.path("token").asLong());
            bob.request("OK", "action", "unlock", "param", "doc-1");
        }
    }

    @Test
    void servesTheJavaScriptClient() throws Exception {
        HttpResponse<String> script = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/distlock/distlock.js")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(script.statusCode()).isEqualTo(200);
        assertThat(script.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/javascript"));
        assertThat(script.body()).contains("export");
    }

    @Test
    void refusesForeignOriginsWith403() throws IOException {
        awaitConnections(0);
        try (Handshake own = Handshake.open("127.0.0.1", port, Map.of("Origin", "http://127.0.0.1:" + port));
             Handshake evil = Handshake.open("127.0.0.1", port, Map.of("Origin", "http://evil.example"))) {
            assertThat(own.status).isEqualTo(101);
            assertThat(evil.status).isEqualTo(403);
        }
    }

    /** distlock.max-connections-per-address=2, distlock.max-connections=3; loopback addresses stand for clients. */
    @Test
    void refusesAClientAddressAtItsLimitWith429AndAFullEndpointWith503() throws IOException {
        awaitConnections(0);
        List<Handshake> open = new ArrayList<>();
        try {
            open.add(Handshake.open("127.0.0.2", port, Map.of()));
            open.add(Handshake.open("127.0.0.2", port, Map.of()));
            assertThat(open).allSatisfy(h -> assertThat(h.status).isEqualTo(101));
            awaitConnections(2);
            try (Handshake third = Handshake.open("127.0.0.2", port, Map.of())) {
                assertThat(third.status).as("a third connection from one address").isEqualTo(429);
            }
            open.add(Handshake.open("127.0.0.3", port, Map.of()));
            assertThat(open.get(2).status).isEqualTo(101);
            awaitConnections(3);
            try (Handshake fourth = Handshake.open("127.0.0.4", port, Map.of())) {
                assertThat(fourth.status).as("a fourth connection, from a new address").isEqualTo(503);
            }
        } finally {
            for (Handshake h : open) {
                h.close();
            }
        }
    }

    /** Replaces Boot's Jakarta WebSocket set-up on Jetty with nothing, as an application might by accident. */
    @Configuration(proxyBeanMethods = false)
    static class NoJakartaWebSocket {
        @Bean
        WebServerFactoryCustomizer<JettyServletWebServerFactory> websocketServletWebServerCustomizer() {
            return factory -> { };
        }
    }

    /**
     * Found by review (2026-12-05): with Boot's forward-headers strategy NATIVE (set, or turned on
     * by Boot itself on Kubernetes and other cloud platforms) Jetty makes the left-most
     * X-Forwarded-For of any sender the connection's address, and the per-address cap counted
     * what the client wrote, distlock.trusted-proxies empty. The start now warns, naming the fix;
     * with it (framework, or none) the cap counts the real peer again.
     */
    @ParameterizedTest
    @CsvSource({
            "server.forward-headers-strategy=native, true",
            "spring.main.cloud-platform=kubernetes, true",
            "server.forward-headers-strategy=framework, false",
            "server.forward-headers-strategy=none, false",
    })
    @ExtendWith(OutputCaptureExtension.class)
    void nativeForwardedHeadersAreWarnedAboutForTheyLetAClientChooseItsAddress(String property, boolean warned,
                                                                                CapturedOutput output) throws Exception {
        try (ConfigurableApplicationContext forwarded = new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url(),
                        "distlock.max-connections-per-address=2", property)
                .run()) {
            int forwardedPort = ((WebServerApplicationContext) forwarded).getWebServer().getPort();
            List<Integer> statuses = new ArrayList<>();
            List<Handshake> open = new ArrayList<>();
            try {
                for (int i = 1; i <= 3; i++) {
                    Handshake h = Handshake.open("127.0.0.5", forwardedPort, Map.of("X-Forwarded-For", "198.51.100." + i));
                    open.add(h);
                    statuses.add(h.status);
                    // The count the cap reads grows when the connection opens, just after its 101.
                    int opened = (int) statuses.stream().filter(status -> status == 101).count();
                    DistLockEndpoints endpoint = forwarded.getBean(DistLockEndpoints.class);
                    Awaitility.await().atMost(TIMEOUT).until(endpoint::openConnections, n -> n == opened);
                }
            } finally {
                for (Handshake h : open) {
                    h.close();
                }
            }
            if (warned) {
                // What the warning is about: three addresses the client wrote, none refused.
                assertThat(statuses).containsExactly(101, 101, 101);
                assertThat(output.toString()).contains("distlock: Boot's forward-headers strategy is NATIVE on Jetty")
                        .contains("Set server.forward-headers-strategy=none (or framework)")
                        .contains("distlock.trusted-proxies");
            } else {
                assertThat(statuses).containsExactly(101, 101, 429);
                assertThat(output.toString()).doesNotContain("forward-headers strategy is NATIVE");
            }
        }
    }

    /**
     * The servlet the starter maps to the endpoint's path (for Tomcat, which runs no filter for
     * a path without a servlet when DispatcherServlet is under spring.mvc.servlet.path) leaves
     * Jetty's upgrade alone: handshakes are taken and refused as without it, anything else is 426.
     */
    @Test
    void underASpringMvcServletPathTheEndpointAndTheFilterStillAnswer() throws Exception {
        try (ConfigurableApplicationContext api = new SpringApplicationBuilder(LocksApplication.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url(),
                        "spring.mvc.servlet.path=/api")
                .run()) {
            int apiPort = ((WebServerApplicationContext) api).getWebServer().getPort();
            try (Handshake own = Handshake.open("127.0.0.1", apiPort, Map.of("Origin", "http://127.0.0.1:" + apiPort));
                 Handshake evil = Handshake.open("127.0.0.1", apiPort, Map.of("Origin", "http://evil.example"))) {
                assertThat(own.status).isEqualTo(101);
                assertThat(evil.status).isEqualTo(403);
            }
            HttpResponse<String> plain = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/distlock/lock")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(plain.statusCode()).isEqualTo(426);
        }
    }

    /**
     * A Jetty without a Jakarta WebSocket container used to start, log "No WebSocket container in
     * this servlet context" at INFO, and answer 404 at distlock.path while the client script and the
     * health looked fine. It now fails to start, saying why.
     */
    @Test
    void withoutAJakartaWebSocketContainerTheApplicationFailsToStartSayingWhy() {
        assertThatThrownBy(() -> new SpringApplicationBuilder(LocksApplication.class, NoJakartaWebSocket.class)
                .properties("server.port=0", "server.address=127.0.0.1", "distlock.redis.url=" + redis.url())
                .run()
                .close())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("The distlock endpoint cannot be served at /distlock/lock")
                .hasMessageContaining("(JettyServletWebServer) has no Jakarta WebSocket container")
                .hasMessageContaining("jetty-ee11-websocket-jakarta-server");
    }

    static void awaitConnections(int count) {
        DistLockEndpoints endpoint = app.getBean(DistLockEndpoints.class);
        Awaitility.await("open connections reach " + count).atMost(TIMEOUT).pollInterval(Duration.ofMillis(20))
                .until(endpoint::openConnections, open -> open == count);
    }

    /**
     * A WebSocket handshake over a plain socket from a chosen loopback address (the JDK's client
     * can neither choose it nor tell a refusal's status); kept open when it succeeded.
     */
    static final class Handshake implements AutoCloseable {
        final Socket socket;
        final int status;

        private Handshake(Socket socket, int status) {
            this.socket = socket;
            this.status = status;
        }

        static Handshake open(String from, int port, Map<String, String> headers) throws IOException {
            Socket socket = new Socket();
            try {
                socket.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
                socket.connect(new InetSocketAddress("127.0.0.1", port), (int) TIMEOUT.toMillis());
                socket.setSoTimeout((int) TIMEOUT.toMillis());
                StringBuilder request = new StringBuilder()
                        .append("GET /distlock/lock HTTP/1.1\r\n")
                        .append("Host: 127.0.0.1:").append(port).append("\r\n")
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
                String status = line.toString(StandardCharsets.US_ASCII);
                return new Handshake(socket, Integer.parseInt(status.split(" ")[1]));
            } catch (IOException | RuntimeException e) {
                socket.close();
                throw e;
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
