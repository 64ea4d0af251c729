package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The demo's fenced store over HTTP on two nodes sharing one Redis (as the board's pages use
 * it): a stale save on one node is refused after a newer holder saved on the other; bad input
 * is a 400 with a JSON message; the page says whether steal is allowed.
 */
class DemoDocsHttpTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private static RedisProcess redis;
    private static DistLockServer node1;
    private static DistLockServer node2;

    @BeforeAll
    static void start() {
        redis = RedisProcess.start();
        ServerOptions.Builder options = ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .keyPrefix("demo-docs-test");
        node1 = DistLockServer.start(options.build());
        node2 = DistLockServer.start(options.allowSteal(true).build());
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable closeable : new AutoCloseable[] {node2, node1, redis}) {
            if (closeable != null) {
                try {
                    closeable.close();
                } catch (Exception e) {
                    // closing the rest matters more
                }
            }
        }
    }

    /** --hide-holder covers the store too: no answer names a saver (review 2026-12-07: GET and the 409 did). */
    @Test
    void aNodeThatHidesHoldersKeepsNoSaversName() throws Exception {
        try (DistLockServer hiding = DistLockServer.start(ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .keyPrefix("demo-docs-hidden").hideHolder(true).build())) {
            assertThat(put(hiding, "doc-7", "{\"token\": 2000, \"text\": \"draft\", \"by\": \"Alice\"}").body()).doesNotContain("Alice");
            HttpResponse<String> late = put(hiding, "doc-7", "{\"token\": 1000, \"text\": \"late\", \"by\": \"Bob\"}");
            assertThat(late.statusCode()).isEqualTo(409);
            assertThat(late.body()).doesNotContain("Alice");
            assertThat(get(hiding, "/demo/docs").body()).contains("draft").doesNotContain("Alice");
        }
    }

    /**
     * Nor a name Redis holds from a node that shows them (another node without the flag, or the same
     * store before it was set): the hiding node kept none but showed those (review 2026-12-07).
     */
    @Test
    void aNodeThatHidesHoldersShowsNoSaversNameAnotherNodeKept() throws Exception {
        ServerOptions.Builder options = ServerOptions.builder().host("127.0.0.1").port(0).redisUrl(redis.url())
                .keyPrefix("demo-docs-mixed");
        try (DistLockServer showing = DistLockServer.start(options.build());
             DistLockServer hiding = DistLockServer.start(options.hideHolder(true).build())) {
            assertThat(put(showing, "doc-7", "{\"token\": 2000, \"text\": \"draft\", \"by\": \"Alice\"}").body()).contains("Alice");
            HttpResponse<String> late = put(hiding, "doc-7", "{\"token\": 1000, \"text\": \"late\", \"by\": \"Bob\"}");
            assertThat(late.statusCode()).isEqualTo(409);
            assertThat(late.body()).doesNotContain("Alice");
            assertThat(json(late).get("message").asText()).isEqualTo("save refused: a newer holder saved with token 2000; yours is 1000");
            assertThat(get(hiding, "/demo/docs").body()).contains("draft").doesNotContain("Alice");
            assertThat(get(showing, "/demo/docs").body()).as("the other node still shows it").contains("Alice");
        }
    }

    @Test
    void aStaleSaveIsRefusedWith409OnAnyNodeOnceANewerHolderSaved() throws Exception {
        HttpResponse<String> alice = put(node1, "doc-42", "{\"token\": 1000, \"text\": \"Alice's draft\", \"by\": \"Alice\"}");
        assertThat(alice.statusCode()).isEqualTo(200);
        assertThat(json(alice).get("token").asLong()).isEqualTo(1000);

        HttpResponse<String> bob = put(node2, "doc-42", "{\"token\": 2000, \"by\": \"Bob\"}"); // took over: announces its token
        assertThat(bob.statusCode()).isEqualTo(200);
        assertThat(json(bob).get("text").asText()).as("the text Bob goes on from").isEqualTo("Alice's draft");

        HttpResponse<String> late = put(node1, "doc-42", "{\"token\": 1000, \"text\": \"Alice's late write\", \"by\": \"Alice\"}");
        assertThat(late.statusCode()).isEqualTo(409);
        assertThat(late.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type).startsWith("application/json"));
        JsonNode refusal = json(late);
        assertThat(refusal.get("error").asText()).isEqualTo("STALE_TOKEN");
        assertThat(refusal.get("highest").asLong()).isEqualTo(2000);
        assertThat(refusal.get("token").asLong()).isEqualTo(1000);
        assertThat(refusal.get("message").asText()).isEqualTo("save refused: a newer holder (Bob) saved with token 2000; yours is 1000");

        JsonNode listed = json(get(node1, "/demo/docs"));
        JsonNode doc42 = null;
        for (JsonNode doc : listed.get("docs")) {
            if (doc.get("id").asText().equals("doc-42")) {
                doc42 = doc;
            }
        }
        assertThat(doc42).isNotNull();
        assertThat(doc42.get("text").asText()).isEqualTo("Alice's draft");
        assertThat(doc42.get("token").asLong()).isEqualTo(2000);
        assertThat(doc42.get("title").asText()).isEqualTo("Quarterly report");
        assertThat(listed.get("docs")).hasSize(FencedDocs.DOCUMENTS.size());
    }

    @Test
    void badInputIsA400WithAMessageAndNoStackTrace() throws Exception {
        String[][] cases = {
            {"not json", "must be a JSON object"},
            {"[1]", "must be a JSON object"},
            {"{\"text\": \"x\"}", "\"token\" must be"},
            {"{\"token\": \"12\", \"text\": \"x\"}", "\"token\" must be"},
            {"{\"token\": 1.5, \"text\": \"x\"}", "\"token\" must be"},
            {"{\"token\": 0, \"text\": \"x\"}", "token must be a fencing token"},
            {"{\"token\": 5, \"text\": 7}", "\"text\" must be a string"},
            {"{\"token\": 5, \"owner\": \"x\"}", "unknown field \"owner\""},
            {"{\"token\": 5, \"text\": \"" + "x".repeat(FencedDocs.MAX_TEXT_CHARS + 1) + "\"}", "at most " + FencedDocs.MAX_TEXT_CHARS},
            {"{\"token\": 5, \"text\": \"" + "x".repeat(DemoDocsHandler.MAX_BODY_BYTES) + "\"}", "larger than"},
            // found by a probe: the first value was taken, and a lone surrogate stored as ?
            {"{\"token\": 5} trailing", "must be a JSON object"},
            {"{\"token\": 5}{\"token\": 1}", "must be a JSON object"},
            {"{\"token\": 5, \"text\": \"a\\ud800\"}", "unpaired surrogate"},
            // found by review: the last of two was taken (the endpoint refuses them in frames)
            {"{\"token\": 5, \"token\": 9007199254}", "the body names a field twice: field 'token'"},
            {"{\"token\": 5, \"text\": \"a\", \"text\": \"b\"}", "the body names a field twice: field 'text'"},
        };
        String before = HTTP.send(HttpRequest.newBuilder(node1.pageUri().resolve("/demo/docs/doc-7")).timeout(Await.seconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        for (String[] c : cases) {
            HttpResponse<String> response = put(node1, "doc-7", c[0]);
            assertThat(response.statusCode()).as(c[0].length() > 60 ? c[0].substring(0, 60) : c[0]).isEqualTo(400);
            assertThat(json(response).get("error").asText()).isEqualTo("BAD_REQUEST");
            assertThat(json(response).get("message").asText()).contains(c[1]);
            assertThat(response.body()).doesNotContain("Exception").doesNotContain("\tat ");
        }
        assertThat(HTTP.send(HttpRequest.newBuilder(node1.pageUri().resolve("/demo/docs/doc-7")).timeout(Await.seconds(10)).build(),
                HttpResponse.BodyHandlers.ofString()).body()).as("nothing saved").isEqualTo(before);
        HttpResponse<String> notUtf8 = HTTP.send(HttpRequest.newBuilder(node1.pageUri().resolve("/demo/docs/doc-7"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[] {'{', '"', 't', 'o', 'k', 'e', 'n', '"', ':', '5', ',', '"', 't', 'e',
                    'x', 't', '"', ':', '"', (byte) 0xff, '"', '}'}))
                .timeout(Await.seconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(notUtf8.statusCode()).isEqualTo(400);
        assertThat(json(notUtf8).get("message").asText()).isEqualTo("the body is not UTF-8");
        // The id is read decoded: doc%2d7 is doc-7 (it was 404 "no document 'doc%2d7'").
        assertThat(put(node1, "doc%2d7", "{\"token\": 5}").statusCode()).isIn(200, 409);
        HttpResponse<String> unknown = put(node1, "doc-99", "{\"token\": 5, \"text\": \"x\"}");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(json(unknown).get("message").asText()).contains("no document 'doc-99'").contains("doc-42");

        HttpResponse<String> post = HTTP.send(HttpRequest.newBuilder(node1.pageUri().resolve("/demo/docs"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).timeout(Await.seconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    }

    @Test
    void theDemoFilesAreStillServedBesideTheStore() throws Exception {
        assertThat(get(node1, "/demo/demo.js").statusCode()).isEqualTo(200);
        assertThat(get(node1, "/demo/nothing.js").statusCode()).isEqualTo(404);
    }

    @Test
    void thePageSaysWhetherTheServerAllowsSteal() throws Exception {
        assertThat(get(node1, "/").body()).contains("data-allow-steal=\"false\"");
        assertThat(get(node2, "/").body()).contains("data-allow-steal=\"true\"");
    }

    private static HttpResponse<String> put(DistLockServer node, String id, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(node.pageUri().resolve("/demo/docs/" + id))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body)).timeout(Await.seconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(DistLockServer node, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(node.pageUri().resolve(path)).timeout(Await.seconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        return JSON.readTree(response.body());
    }
}
