package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpResponse;
import java.time.Duration;

import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;

/**
 * Found by review: no HTML the server sends may be shown in another site's frame (clickjacking:
 * a page of theirs laid over the board's buttons). Every HTML response carries
 * {@code X-Frame-Options: DENY} and one {@code Content-Security-Policy: frame-ancestors 'none'},
 * over real HTTP.
 */
class AntiFramingTest {

    @Test
    void thePagesAndTheErrorPagesMayNotBeFramed() {
        try (RedisProcess redis = RedisProcess.start();
             DistLockServer demo = DistLockServer.start(onLoopback(redis).keyPrefix("framing-demo").build());
             DistLockServer plain = DistLockServer.start(onLoopback(redis).keyPrefix("framing-plain").demo(false).build())) {
            assertFramingDenied(demo.pageUri(), 200);
            assertFramingDenied(demo.pageUri().resolve("/index.html"), 200);
            assertFramingDenied(plain.pageUri(), 200); // --no-demo's page
            assertFramingDenied(demo.pageUri().resolve("/no/such/page"), 404); // Grizzly's error page, ours in form
            assertFramingDenied(demo.pageUri().resolve("/demo/no-such-file.html"), 404);
        }
    }

    /** The static files' handler sends none today; one put in its folders gets the headers too. */
    @Test
    void anHtmlFileFromTheClasspathMayNotBeFramed() {
        ConnectionGuard guard = new ConnectionGuard(Duration.ofSeconds(10), 16, address -> false);
        try (WebServer web = WebServer.create("127.0.0.1", 0, ServerOptions.defaults().maxRequestHeadBytes(),
                ServerOptions.defaults().pingInterval(), guard)) {
            web.addHttpHandler(new ClasspathFiles(AntiFramingTest.class.getClassLoader(), "/io/distlock/server/framing/", "/f/"), "/f");
            web.start();
            URI page = URI.create("http://127.0.0.1:" + web.port() + "/f/page.html");
            assertThat(Http.get(page).body()).contains("an HTML file served from the classpath");
            assertFramingDenied(page, 200);
        }
    }

    private static ServerOptions.Builder onLoopback(RedisProcess redis) {
        return ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url()).lease(Duration.ofSeconds(2));
    }

    private static void assertFramingDenied(URI uri, int status) {
        HttpResponse<String> response = Http.get(uri);
        assertThat(response.statusCode()).as(uri.toString()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).as(uri.toString())
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/html"));
        assertThat(response.headers().allValues("X-Frame-Options")).as(uri.toString()).containsExactly("DENY");
        assertThat(response.headers().allValues("Content-Security-Policy")).as(uri.toString())
                .containsExactly("frame-ancestors 'none'");
    }
}
