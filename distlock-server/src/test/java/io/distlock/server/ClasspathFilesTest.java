package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.zip.GZIPInputStream;

import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The JavaScript client and the demo files over real HTTP from a server on loopback: gzipped
 * when the request accepts it, byte for byte the webjar's file once unzipped, and revalidated
 * by ETag with a 304.
 */
class ClasspathFilesTest {

    private static final String CLIENT = "/distlock/distlock.js";
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private static RedisProcess redis;
    private static DistLockServer server;

    @BeforeAll
    static void start() {
        redis = RedisProcess.start();
        server = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .lease(Duration.ofSeconds(2)).build());
    }

    @AfterAll
    static void stop() {
        try {
            if (server != null) {
                server.close();
            }
        } finally {
            if (redis != null) {
                redis.close();
            }
        }
    }

    private static HttpResponse<byte[]> send(String path, String method, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(server.pageUri().resolve(path)).timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) {
            request.headers(headers);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private static HttpResponse<byte[]> get(String path, String... headers) throws Exception {
        return send(path, "GET", headers);
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = ClasspathFilesTest.class.getResourceAsStream(name)) {
            assertThat(in).as(name + " on the test classpath").isNotNull();
            return in.readAllBytes();
        }
    }

    private static byte[] gunzip(byte[] gzipped) throws IOException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzipped))) {
            return in.readAllBytes();
        }
    }

    private static String header(HttpResponse<?> response, String name) {
        return response.headers().firstValue(name).orElse(null);
    }

    @Test
    void theClientIsGzippedWhenAcceptedAndIsTheWebjarsFileOnceUnzipped() throws Exception {
        byte[] original = resource("/META-INF/resources/distlock/distlock.js");

        HttpResponse<byte[]> js = get(CLIENT, "Accept-Encoding", "gzip, deflate, br");

        assertThat(js.statusCode()).isEqualTo(200);
        assertThat(header(js, "Content-Encoding")).isEqualTo("gzip");
        assertThat(header(js, "Content-Type")).isEqualTo("text/javascript; charset=utf-8");
        assertThat(header(js, "Vary")).isEqualTo("Accept-Encoding");
        assertThat(header(js, "Cache-Control")).isEqualTo("no-cache");
        assertThat(header(js, "Content-Length")).isEqualTo(String.valueOf(js.body().length));
        assertThat(header(js, "ETag")).matches("\"[A-Za-z0-9_-]{22}-gzip\"");
        assertThat(gunzip(js.body())).isEqualTo(original);
        assertThat(js.body().length).as("gzipped size").isLessThan(original.length / 3);
    }

    @Test
    void withoutGzipTheFileComesAsItIsUnderAnotherEtag() throws Exception {
        byte[] original = resource("/META-INF/resources/distlock/distlock.js");
        String gzipEtag = header(get(CLIENT, "Accept-Encoding", "gzip"), "ETag");

        for (String[] headers : new String[][] {{}, {"Accept-Encoding", "identity"}, {"Accept-Encoding", "gzip;q=0, br"},
                {"Accept-Encoding", "*;q=0"}}) {
            HttpResponse<byte[]> js = get(CLIENT, headers);
            assertThat(js.statusCode()).isEqualTo(200);
            assertThat(header(js, "Content-Encoding")).as(String.join(": ", headers)).isNull();
            assertThat(js.body()).isEqualTo(original);
            assertThat(header(js, "ETag")).isNotEqualTo(gzipEtag).matches("\"[A-Za-z0-9_-]{22}\"");
            assertThat(header(js, "Vary")).isEqualTo("Accept-Encoding");
        }
        assertThat(header(get(CLIENT, "Accept-Encoding", "*"), "Content-Encoding")).isEqualTo("gzip");
    }

    @Test
    void aMatchingIfNoneMatchGetsA304WithoutBodyAndAStaleOneTheFile() throws Exception {
        HttpResponse<byte[]> first = get(CLIENT, "Accept-Encoding", "gzip");
        String etag = header(first, "ETag");

        for (String ifNoneMatch : new String[] {etag, "W/" + etag, "\"other\", " + etag, "*"}) {
            HttpResponse<byte[]> again = get(CLIENT, "Accept-Encoding", "gzip", "If-None-Match", ifNoneMatch);
            assertThat(again.statusCode()).as(ifNoneMatch).isEqualTo(304);
            assertThat(again.body()).isEmpty();
            assertThat(header(again, "ETag")).isEqualTo(etag);
            assertThat(header(again, "Vary")).isEqualTo("Accept-Encoding");
        }

        HttpResponse<byte[]> stale = get(CLIENT, "Accept-Encoding", "gzip", "If-None-Match", "\"an-older-version-gzip\"");
        assertThat(stale.statusCode()).isEqualTo(200);
        assertThat(stale.body()).isEqualTo(first.body());
        // the gzip ETag does not validate the plain representation, and the other way round
        HttpResponse<byte[]> plain = get(CLIENT, "If-None-Match", etag);
        assertThat(plain.statusCode()).isEqualTo(200);
        assertThat(get(CLIENT, "If-None-Match", header(plain, "ETag")).statusCode()).isEqualTo(304);
        assertThat(get(CLIENT, "Accept-Encoding", "gzip", "If-None-Match", header(plain, "ETag")).statusCode()).isEqualTo(200);
    }

    @Test
    void theMinifiedClientItsMapTypesAndTheDemoFilesAreServedTheSameWay() throws Exception {
        for (String[] file : new String[][] {
                {"/distlock/distlock.min.js", "/META-INF/resources/distlock/distlock.min.js", "text/javascript; charset=utf-8"},
                {"/distlock/distlock.min.js.map", "/META-INF/resources/distlock/distlock.min.js.map", "application/json; charset=utf-8"},
                {"/distlock/distlock.d.ts", "/META-INF/resources/distlock/distlock.d.ts", "text/plain; charset=utf-8"},
                {"/demo/demo.js", WebServer.DEMO_RESOURCES + "demo.js", "text/javascript; charset=utf-8"},
                {"/demo/demo.css", WebServer.DEMO_RESOURCES + "demo.css", "text/css; charset=utf-8"}}) {
            HttpResponse<byte[]> response = get(file[0], "Accept-Encoding", "gzip");
            assertThat(response.statusCode()).as(file[0]).isEqualTo(200);
            assertThat(header(response, "Content-Type")).as(file[0]).isEqualTo(file[2]);
            assertThat(header(response, "Content-Encoding")).as(file[0]).isEqualTo("gzip");
            assertThat(gunzip(response.body())).as(file[0]).isEqualTo(resource(file[1]));
        }
    }

    @Test
    void headGetsTheHeadersOnlyAndOtherMethodsA405() throws Exception {
        HttpResponse<byte[]> get = get(CLIENT, "Accept-Encoding", "gzip");
        HttpResponse<byte[]> head = send(CLIENT, "HEAD", "Accept-Encoding", "gzip");

        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
        assertThat(header(head, "ETag")).isEqualTo(header(get, "ETag"));
        assertThat(header(head, "Content-Length")).isEqualTo(header(get, "Content-Length"));

        HttpResponse<byte[]> post = send(CLIENT, "POST");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(header(post, "Allow")).isEqualTo("GET, HEAD");
    }

    @Test
    void namesOutsideTheFolderOrNotInItAre404s() throws Exception {
        for (String path : new String[] {"/distlock/no-such-file.js", "/distlock/", "/distlock/.hidden",
                "/distlock/sub/distlock.js", "/distlock/..%2fdistlock.js",
                "/distlock/lock"}) {
            HttpResponse<byte[]> response = get(path);
            // 404 from ClasspathFiles; an encoded slash is refused (400) before it gets there
            assertThat(response.statusCode()).as(path).isEqualTo(path.contains("%2f") ? 400 : 404);
            assertThat(new String(response.body(), StandardCharsets.UTF_8)).doesNotContain("DistLockClient");
        }
        assertThat(get("/demo/distlock.js").statusCode()).as("each prefix serves its own folder").isEqualTo(404);
    }

    @Test
    void acceptEncodingAndIfNoneMatchAreReadAsHttpSaysThem() {
        assertThat(ClasspathFiles.acceptsGzip("gzip")).isTrue();
        assertThat(ClasspathFiles.acceptsGzip("deflate, GZIP;q=0.5")).isTrue();
        assertThat(ClasspathFiles.acceptsGzip("x-gzip")).isTrue();
        assertThat(ClasspathFiles.acceptsGzip("br, *")).isTrue();
        assertThat(ClasspathFiles.acceptsGzip("gzip;q=0, *")).isFalse();
        assertThat(ClasspathFiles.acceptsGzip("gzip; q=0.0")).isFalse();
        assertThat(ClasspathFiles.acceptsGzip("gzip;q=nonsense")).isFalse();
        assertThat(ClasspathFiles.acceptsGzip("br")).isFalse();
        assertThat(ClasspathFiles.acceptsGzip("")).isFalse();
        assertThat(ClasspathFiles.acceptsGzip(null)).isFalse();

        assertThat(ClasspathFiles.matches("\"a\"", "\"a\"")).isTrue();
        assertThat(ClasspathFiles.matches("W/\"a\"", "\"a\"")).isTrue();
        assertThat(ClasspathFiles.matches("\"b\" , \"a\"", "\"a\"")).isTrue();
        assertThat(ClasspathFiles.matches("*", "\"a\"")).isTrue();
        assertThat(ClasspathFiles.matches("\"a-gzip\"", "\"a\"")).isFalse();
        assertThat(ClasspathFiles.matches("a", "\"a\"")).isFalse();
        assertThat(ClasspathFiles.matches(null, "\"a\"")).isFalse();
    }
}
