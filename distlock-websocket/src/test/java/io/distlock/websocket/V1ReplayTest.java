package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.opentest4j.TestAbortedException;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.RedisProcess;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * A version 1 conversation replayed frame by frame against a golden transcript, compared byte
 * for byte: field order, escapes, messages, every field. Only what changes from run to run is
 * masked: {@code time}, the session id, token values (and {@code since} in version 2's states). The transcript
 * ({@code v1-conversation.txt}) was recorded on the endpoint as it was before protocol
 * version 2 (commit c7c4e6f), so this test holds version 1 sessions to exactly what they were.
 *
 * <p>Format: {@code A> frame} is sent by client {@code A}; {@code A< frame} is the next frame
 * {@code A} must receive. With {@code -Ddistlock.record=true} the received frames are written
 * to {@code target/v1-conversation.<container>.recorded.txt} instead of compared (to record a new transcript:
 * only ever on purpose, since version 1 must not change).
 */
class V1ReplayTest {

    private static final String TRANSCRIPT = "v1-conversation.txt";
    private static final Pattern TIME = Pattern.compile("\"time\":\\d+");
    private static final Pattern SESSION = Pattern.compile("\"session\":\"[^\"]*\"");
    private static final Pattern TOKEN = Pattern.compile("\"token\":\\d+");
    private static final Pattern TOKENS = Pattern.compile("\"tokens\":\\{[^}]*\\}");
    private static final Pattern TOKENS_VALUE = Pattern.compile(":\\d+");
    private static final Pattern SINCE = Pattern.compile("\"since\":\\d+");

    @ParameterizedTest
    @ValueSource(strings = {"tyrus", "jetty"})
    void aVersion1ConversationIsByteForByteWhatItWas(String container) throws IOException {
        replay(container, TRANSCRIPT);
    }

    /** Replays {@code transcript} (a resource next to this class) on {@code container}: see the class comment. */
    static void replay(String container, String transcript) throws IOException {
        Function<List<ServerEndpointConfig>, TestServer> start = container.equals("tyrus") ? TestServer::tyrus : TestServer::jetty;
        boolean record = Boolean.getBoolean("distlock.record");
        List<String> lines = transcript(transcript);
        List<String> recorded = new ArrayList<>();
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.builder().lease(Duration.ofSeconds(5)).build());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.defaults());
             TestServer server = start.apply(List.of(endpoint.config()))) {
            Map<String, WsClient> clients = new LinkedHashMap<>();
            try {
                int lineNo = 0;
                for (String line : lines) {
                    lineNo++;
                    if (line.isBlank() || line.startsWith("#")) {
                        recorded.add(line);
                        continue;
                    }
                    String who = line.substring(0, 1);
                    char direction = line.charAt(1);
                    String frame = line.length() > 3 ? line.substring(3) : "";
                    WsClient c = clients.computeIfAbsent(who, k -> WsClient.open(server.uri("/distlock/lock")));
                    if (direction == '>') {
                        c.sendRaw(frame);
                        recorded.add(line);
                    } else {
                        String received;
                        try {
                            received = normalize(c.nextText());
                        } catch (AssertionError e) {
                            if (!record) {
                                throw new AssertionError(container + ", line " + lineNo + " of " + transcript + ": " + e.getMessage(), e);
                            }
                            received = "(nothing)";
                        }
                        recorded.add(who + "< " + received);
                        if (!record) {
                            assertThat(received).as("%s, line %d of %s", container, lineNo, transcript).isEqualTo(frame);
                        }
                    }
                }
                // Nothing beyond the transcript (a stray push would come within this window).
                clients.values().forEach(c -> c.expectNone(Duration.ofMillis(300)));
            } finally {
                clients.values().forEach(WsClient::close);
                if (record) {
                    Path out = Path.of("target", transcript.replace(".txt", "." + container + ".recorded.txt"));
                    Files.writeString(out, String.join("\n", recorded) + "\n", StandardCharsets.UTF_8);
                }
            }
        }
        if (record) { // compared nothing: not a pass
            throw new TestAbortedException("recorded to target/, compared nothing (-Ddistlock.record=true)");
        }
    }

    /** Masks what differs from run to run: times, session ids, token values, the {@code since} of version 2's states. */
    static String normalize(String frame) {
        String s = TIME.matcher(frame).replaceAll("\"time\":0");
        s = SESSION.matcher(s).replaceAll("\"session\":\"S\"");
        s = TOKEN.matcher(s).replaceAll("\"token\":0");
        s = SINCE.matcher(s).replaceAll("\"since\":0");
        Matcher tokens = TOKENS.matcher(s);
        StringBuilder out = new StringBuilder();
        while (tokens.find()) {
            tokens.appendReplacement(out, Matcher.quoteReplacement(TOKENS_VALUE.matcher(tokens.group()).replaceAll(":0")));
        }
        tokens.appendTail(out);
        return out.toString();
    }

    private static List<String> transcript(String name) {
        try (InputStream in = V1ReplayTest.class.getResourceAsStream(name)) {
            assertThat(in).as("the transcript %s", name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
