package io.distlock.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import io.distlock.spring.boot.secured.SecuredApplication;
import io.distlock.testing.RedisProcess;
import io.distlock.websocket.Authorizer;
import io.distlock.websocket.EndpointOptions;

/**
 * With Spring Security, the user of the handshake's HTTP request (here from the HTTP session a
 * form login opened, or from HTTP Basic) is the connection's principal, and the application's
 * {@code Authorizer} bean decides: a lock it refuses is answered {@code FAIL UNAUTHORIZED}. The
 * application's {@code DistLockEndpointOptionsCustomizer} changes an option and keeps both.
 */
@SpringBootTest(classes = SecuredApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "spring.autoconfigure.exclude=")
class StarterSecurityTest {

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

    URI ws() {
        return URI.create("ws://127.0.0.1:" + port + "/distlock/lock");
    }

    /** Logs in through the form and returns the session cookie. */
    String login(String user, String password) throws Exception {
        String form = "username=" + URLEncoder.encode(user, StandardCharsets.UTF_8)
                + "&password=" + URLEncoder.encode(password, StandardCharsets.UTF_8);
        HttpResponse<Void> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/login"))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .POST(HttpRequest.BodyPublishers.ofString(form)).build(),
                HttpResponse.BodyHandlers.discarding());
        assertThat(response.statusCode()).as("login redirects").isEqualTo(302);
        assertThat(response.headers().firstValue("Location")).hasValueSatisfying(l -> assertThat(l).doesNotContain("error"));
        String cookie = response.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith("JSESSIONID=")).findFirst().orElseThrow();
        return cookie.substring(0, cookie.indexOf(';'));
    }

    static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theHttpSessionsUserIsThePrincipalTheAuthorizerSees() throws Exception {
        try (LockClient alice = LockClient.open(ws(), Map.of("Cookie", login("alice", "alice-password")))) {
            alice.request("OK", "action", "connect", "param", "alice's tab");
            alice.request("LOCKED", "action", "lock", "param", "alice-notes");
            assertThat(alice.request("FAIL", "action", "lock", "param", "bob-notes").path("code").asText()).isEqualTo("UNAUTHORIZED");
        }
    }

    @Test
    void aUserTheAuthorizerRefusesGetsUnauthorized() {
        try (LockClient bob = LockClient.open(ws(), Map.of("Authorization", basic("bob", "bob-password")))) {
            bob.request("OK", "action", "connect", "param", "bob");
            assertThat(bob.request("FAIL", "action", "lock", "param", "alice-diary").path("code").asText()).isEqualTo("UNAUTHORIZED");
            bob.request("LOCKED", "action", "lock", "param", "bob-diary");
        }
    }

    @Autowired
    EndpointOptions options;

    @Autowired
    Authorizer authorizer;

    /**
     * Found by a review (2026-12-07): the only way to set an option without a property was an
     * EndpointOptions bean of the application's, which silently dropped the request's principal
     * and the Authorizer bean (every lock open to everyone).
     */
    @Test
    void aCustomizerChangesAnOptionAndKeepsThePrincipalAndTheAuthorizer() {
        assertThat(options.maxFrameBytes()).isEqualTo(4096);
        assertThat(options.authorizer()).isSameAs(authorizer);
        try (LockClient bob = LockClient.open(ws(), Map.of("Authorization", basic("bob", "bob-password")))) {
            bob.request("OK", "action", "connect", "param", "bob");
            assertThat(bob.request("FAIL", "action", "lock", "param", "alice-diary").path("code").asText()).isEqualTo("UNAUTHORIZED");
            bob.send("action", "lock", "param", "bob-" + "x".repeat(5000));
            assertThat(bob.expectClosed().code()).as("a frame over the customizer's 4 KiB").isEqualTo(1009);
        }
    }

    @Test
    void anAnonymousConnectionHasNoPrincipal() {
        try (LockClient anonymous = LockClient.open(ws())) {
            anonymous.request("OK", "action", "connect", "param", "anonymous");
            assertThat(anonymous.request("FAIL", "action", "lock", "param", "alice-notes").path("code").asText()).isEqualTo("UNAUTHORIZED");
        }
    }
}
