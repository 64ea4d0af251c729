package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import com.fasterxml.jackson.databind.JsonNode;

import io.distlock.spring.boot.docs.LocksApplication;
import io.distlock.testing.RedisProcess;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * docs/spring-boot.md's promise: a Boot application with the starter and
 * {@code distlock.redis.url}, and no other code, serves locks to browsers over a real
 * WebSocket on its embedded Tomcat, serves the JavaScript client, refuses foreign origins with
 * 403, and reports its health and meters.
 */
@SpringBootTest(classes = LocksApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = { "management.endpoint.health.show-components=always", "server.compression.enabled=true" })
class StarterDocsAppTest {

    static final RedisProcess REDIS = RedisProcess.start().markInService("distlock");

    @DynamicPropertySource
    static void redis(DynamicPropertyRegistry registry) {
        registry.add("distlock.redis.url", REDIS::url);
    }

    @AfterAll
    static void stopRedis() {
        REDIS.close();
    }

    @LocalServerPort
    int port;

    @Autowired
    MeterRegistry meters;

    URI ws() {
        return URI.create("ws://127.0.0.1:" + port + "/distlock/lock");
    }

    HttpResponse<String> get(String path, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        headers.forEach(request::header);
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesLocksOverAWebSocket() {
        try (LockClient alice = LockClient.open(ws());
             LockClient bob = LockClient.open(ws())) {
            alice.request("OK", "action", "connect", "param", "alice");
            bob.request("OK", "action", "connect", "param", "bob");
            JsonNode locked = alice.request("LOCKED", "action", "lock", "param", "doc-1");
            assertThat(locked.path("token").asLong()).isPositive();
            assertThat(bob.request("WAIT", "action", "lock", "param", "doc-1").path("holder").asText()).isEqualTo("alice");
            alice.request("OK", "action", "unlock", "param", "doc-1");
            assertThat(bob.expect("RETRY").path("lock").asText()).isEqualTo("doc-1");
            bob.request("LOCKED", "action", "lock", "param", "doc-1");
        }
    }

    @Test
    void browsersOfTheApplicationsOwnOriginAreServedAndOthersGet403() {
        String own = "http://127.0.0.1:" + port;
        assertThat(LockClient.handshakeStatus(ws(), Map.of("Origin", own))).isEqualTo(101);
        assertThat(LockClient.handshakeStatus(ws(), Map.of("Origin", "http://evil.example"))).isEqualTo(403);
        assertThat(LockClient.handshakeStatus(ws(), Map.of("Origin", "http://127.0.0.1:" + (port + 1)))).isEqualTo(403);
    }

    @Test
    void servesTheJavaScriptClient() throws Exception {
        HttpResponse<String> script = get("/distlock/distlock.js", Map.of());
        assertThat(script.statusCode()).isEqualTo(200);
        assertThat(script.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/javascript"));
        assertThat(script.body()).contains("export");
        String etag = script.headers().firstValue("ETag").orElseThrow();
        assertThat(get("/distlock/distlock.js", Map.of("If-None-Match", etag)).statusCode()).isEqualTo(304);
        assertThat(get("/distlock/distlock.d.ts", Map.of()).statusCode()).isEqualTo(200);
    }

    /**
     * Found by review (2026-12-07): If-None-Match was compared as a string, so a proxy that gzips
     * (nginx), weakening the ETag to W/"...", got the whole script again on every revalidation.
     */
    @Test
    void theClientsETagIsComparedWeaklyAndWithinAList() throws Exception {
        HttpResponse<String> script = get("/distlock/distlock.js", Map.of());
        String etag = script.headers().firstValue("ETag").orElseThrow();
        assertThat(etag).startsWith("W/\"");
        String strong = etag.substring(2);
        assertThat(get("/distlock/distlock.js", Map.of("If-None-Match", etag)).statusCode()).isEqualTo(304);
        assertThat(get("/distlock/distlock.js", Map.of("If-None-Match", strong)).statusCode()).isEqualTo(304);
        assertThat(get("/distlock/distlock.js", Map.of("If-None-Match", "\"x\", " + strong)).statusCode()).isEqualTo(304);
        assertThat(get("/distlock/distlock.js", Map.of("If-None-Match", "*")).statusCode()).isEqualTo(304);
        HttpResponse<String> changed = get("/distlock/distlock.js", Map.of("If-None-Match", "\"x\", W/\"y\""));
        assertThat(changed.statusCode()).isEqualTo(200);
        assertThat(changed.body()).isEqualTo(script.body());
        // A script's type is not guessed from its bytes.
        assertThat(script.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    }

    /**
     * Found by review (2026-12-07): with server.compression.enabled=true Tomcat still sent the
     * client whole (150 KB, the minified 41 KB), as it compresses no response with a strong ETag.
     */
    @Test
    void withCompressionOnTheClientIsSentGzipped() throws Exception {
        String plain = get("/distlock/distlock.js", Map.of()).body();
        HttpResponse<byte[]> gzipped = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/distlock/distlock.js"))
                        .header("Accept-Encoding", "gzip").build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertThat(gzipped.headers().firstValue("Content-Encoding")).hasValue("gzip");
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzipped.body()))) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(plain);
        }
        assertThat(gzipped.body().length).isLessThan(plain.length() / 3);
    }

    @Test
    void reportsHealthAndMeters() throws Exception {
        HttpResponse<String> health = get("/actuator/health", Map.of());
        assertThat(health.statusCode()).isEqualTo(200);
        JsonNode body = LockClient.JSON.readTree(health.body());
        assertThat(body.path("components").path("distlock").path("status").asText()).isEqualTo("UP");

        try (LockClient client = LockClient.open(ws())) {
            client.request("OK", "action", "connect", "param", "metered");
            client.request("LOCKED", "action", "lock", "param", "metered-lock");
            assertThat(meters.get("distlock.websocket.connections").gauge().value()).isGreaterThanOrEqualTo(1);
            assertThat(meters.get("distlock.websocket.requests").tag("action", "lock").tag("status", "LOCKED").timer().count())
                    .isGreaterThanOrEqualTo(1);
            assertThat(meters.find("distlock.sessions").gauge()).isNotNull();
            // The service's binder brings whether Redis answers the renewal tick (LockServiceMetrics).
            assertThat(meters.get("distlock.redis.up").gauge().value()).isEqualTo(1.0);
        }
    }
}
