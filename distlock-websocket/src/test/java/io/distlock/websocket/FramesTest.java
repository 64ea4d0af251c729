package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.time.Duration;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.distlock.core.LockMode;
import io.distlock.core.LockOptions;
import io.distlock.core.LockState;

/** Reading requests and writing replies, without a server. */
class FramesTest {

    private static BadRequest refused(String frame) {
        return refused(frame, 1);
    }

    private static BadRequest refused(String frame, int version) {
        BadRequest e = catchThrowableOfType(BadRequest.class, () -> Frames.parse(frame, version));
        assertThat(e).as("refusal of %s in version %d", frame, version).isNotNull();
        return e;
    }

    /** A BAD_REQUEST that echoes the frame's id and action, with a message naming {@code field}. */
    private static void badRequest(String frame, int version, String field) {
        BadRequest e = refused(frame, version);
        assertThat(e.code).as("code for %s", frame).isEqualTo(FailCode.BAD_REQUEST);
        assertThat(e.getMessage()).as("message for %s", frame).contains("'" + field + "'");
        assertThat(e.id).as("id echoed for %s", frame).isNotNull();
        assertThat(e.action).as("action echoed for %s", frame).isNotNull();
    }

    private static LockOptions options(String frame) throws BadRequest {
        return Frames.parse(frame, 2).options();
    }

    @Test
    void readsParamAndParams() throws BadRequest {
        assertThat(Frames.parse("{\"action\":\"lock\",\"param\":\"a\"}").names()).containsExactly("a");
        assertThat(Frames.parse("{\"action\":\"lock\",\"params\":[\"a\"]}").names()).containsExactly("a");
        assertThat(Frames.parse("{\"action\":\"mlock\",\"params\":[\"a\",\"b\",\"a\"]}").names()).containsExactly("a", "b", "a");
        assertThat(Frames.parse("{\"action\":\"lock\",\"param\":\"a\",\"params\":[\"a\"]}").names()).containsExactly("a");
        assertThat(Frames.parse("{\"action\":\"close\"}").names()).isEmpty();
        assertThat(Frames.parse("{\"action\":\"close\",\"params\":[]}").names()).isEmpty();
        assertThat(Frames.parse("{\"action\":\"connect\",\"param\":\"\"}").names()).containsExactly("");
    }

    @Test
    void readsIdsAndIgnoresUnknownFields() throws BadRequest {
        Request r = Frames.parse("{\"action\":\"unlock\",\"param\":\"a\",\"id\":12345678901234567890,\"time\":1.5,\"other\":{}}");
        assertThat(r.action()).isEqualTo(Action.UNLOCK);
        assertThat(r.id().bigIntegerValue().toString()).isEqualTo("12345678901234567890");
        assertThat(Frames.parse("{\"action\":\"unlock\",\"param\":\"a\",\"id\":\"x\"}").id().asText()).isEqualTo("x");
        assertThat(Frames.parse("{\"action\":\"unlock\",\"param\":\"a\",\"id\":null}").id()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "{", "[]", "1", "\"s\"", "true", "null", "{} {}", "{\"action\":\"lock\",\"param\":\"a\"}x",
        "{\"action\":\"lock\",\"param\":\"a\",\"param\":\"b\"}"})
    void refusesWhatIsNotOneJsonObject(String frame) {
        BadRequest e = refused(frame);
        assertThat(e.code).isEqualTo(FailCode.BAD_REQUEST);
        assertThat(e.id).isNull();
    }

    @Test
    void refusesIllTypedFieldsEchoingWhatItCan() {
        BadRequest e = refused("{\"action\":\"lock\",\"params\":[1],\"id\":7}");
        assertThat(e.code).isEqualTo(FailCode.BAD_REQUEST);
        assertThat(e.id.asInt()).isEqualTo(7);
        assertThat(e.action).isEqualTo("lock");
        assertThat(refused("{\"action\":\"lock\",\"param\":\"a\",\"id\":\"" + "x".repeat(65) + "\"}").id).isNull();
        assertThat(refused("{\"action\":\"lock\",\"param\":\"a\",\"id\":2.0}").code).isEqualTo(FailCode.BAD_REQUEST);
        assertThat(refused("{\"action\":\"lock\",\"param\":\"a\",\"params\":[\"b\"]}").getMessage()).contains("disagree");
        assertThat(refused("{\"action\":\"lock\",\"param\":\"a\",\"params\":[\"a\",\"a\"]}").code).isEqualTo(FailCode.BAD_REQUEST);
        assertThat(refused("{\"action\":[\"lock\"]}").action).isNull();
    }

    @Test
    void anIdIsCountedInCodePoints() throws BadRequest {
        String emoji = "\uD83D\uDE00"; // one character, two UTF-16 units
        assertThat(Frames.parse("{\"action\":\"lock\",\"param\":\"a\",\"id\":\"" + emoji.repeat(64) + "\"}").id().asText())
                .isEqualTo(emoji.repeat(64));
        assertThat(refused("{\"action\":\"lock\",\"param\":\"a\",\"id\":\"" + emoji.repeat(65) + "\"}").code)
                .isEqualTo(FailCode.BAD_REQUEST);
    }

    @Test
    void anInfoOthersWouldSeeChangedIsRefused() throws BadRequest {
        // Found by a probe (2026-12-04): these were stored as ? and "Infinity", and shown so to others.
        for (String info : new String[] {"{\"k\":\"\\ud800\"}", "{\"\\udc00\":1}", "{\"a\":[{\"b\":\"x\\ud800\"}]}",
                "{\"n\":1e309}", "{\"n\":-1e309}", "{\"n\":[1, 2e400]}"}) {
            BadRequest e = refused("{\"action\":\"connect\",\"param\":\"a\",\"version\":2,\"info\":" + info + ",\"id\":3}");
            assertThat(e.code).as(info).isEqualTo(FailCode.BAD_REQUEST);
            assertThat(e.getMessage()).as(info).contains("'info'");
            assertThat(e.id.asInt()).isEqualTo(3);
        }
        String fine = "{\"avatar\":\"\\ud83d\\ude00\",\"n\":1.5,\"big\":123456789012345678901234567890,\"list\":[true,null,\"\\u0001\"]}";
        assertThat(Frames.parse("{\"action\":\"connect\",\"param\":\"a\",\"version\":2,\"info\":" + fine + "}").session().info())
                .isEqualTo("{\"avatar\":\"\uD83D\uDE00\",\"n\":1.5,\"big\":123456789012345678901234567890,\"list\":[true,null,\"\\u0001\"]}");
    }

    @Test
    void unknownActionsAreCaseSensitiveAndEchoed() {
        BadRequest e = refused("{\"action\":\"Lock\",\"param\":\"a\",\"id\":\"i\"}");
        assertThat(e.code).isEqualTo(FailCode.UNKNOWN_ACTION);
        assertThat(e.action).isEqualTo("Lock");
        assertThat(e.id.asText()).isEqualTo("i");
        assertThat(refused("{\"action\":\"" + "z".repeat(500) + "\"}").getMessage()).hasSizeLessThan(100);
    }

    @Test
    void arityPerAction() {
        for (String frame : List.of("{\"action\":\"connect\"}", "{\"action\":\"lock\"}", "{\"action\":\"unlock\",\"params\":[]}",
                "{\"action\":\"mlock\",\"params\":[]}", "{\"action\":\"munlock\"}", "{\"action\":\"lock\",\"params\":[\"a\",\"b\"]}",
                "{\"action\":\"connect\",\"params\":[\"a\",\"b\"]}", "{\"action\":\"close\",\"params\":[\"a\",\"b\"]}")) {
            assertThat(refused(frame).code).as(frame).isEqualTo(FailCode.BAD_REQUEST);
        }
        // An action that takes no name says so (review 2026-12-07: "ping takes at most one name").
        assertThat(refused("{\"action\":\"ping\",\"param\":\"x\"}", 2).getMessage()).isEqualTo("ping takes no name");
        assertThat(refused("{\"action\":\"lock\",\"params\":[\"a\",\"b\"]}").getMessage()).isEqualTo("lock takes at most one name");
    }

    @Test
    void repliesAreAsciiAndCarryTheCommonFields() throws Exception {
        String push = Frames.push(Status.RETRY, "dé\ud800");
        assertThat(push.chars().allMatch(c -> c < 128)).isTrue();
        JsonNode node = WsClient.JSON.readTree(push);
        assertThat(node.path("status").asText()).isEqualTo("RETRY");
        assertThat(node.path("message").asText()).isEqualTo("dé\ud800");
        assertThat(node.path("lock").asText()).isEqualTo("dé\ud800");
        assertThat(node.path("time").asLong()).isPositive();
        assertThat(node.has("id")).isFalse();
    }

    @Test
    void measuresFramesInUtf8Bytes() {
        assertThat(Frames.longerThan("a".repeat(10), 10)).isFalse();
        assertThat(Frames.longerThan("a".repeat(11), 10)).isTrue();
        assertThat(Frames.longerThan("é".repeat(5), 10)).isFalse();
        assertThat(Frames.longerThan("é".repeat(6), 10)).isTrue();
        assertThat(Frames.longerThan("€".repeat(4), 12)).isFalse();
        assertThat(Frames.longerThan("€".repeat(5), 12)).isTrue();
    }

    // ---- version 2 ----

    @Test
    void connectAsksForAVersion() throws BadRequest {
        assertThat(Frames.parse("{\"action\":\"connect\",\"param\":\"a\"}").version()).isEqualTo(1);
        assertThat(Frames.parse("{\"action\":\"connect\",\"param\":\"a\",\"version\":null}").version()).isEqualTo(1);
        assertThat(Frames.parse("{\"action\":\"connect\",\"param\":\"a\",\"version\":1}").version()).isEqualTo(1);
        assertThat(Frames.parse("{\"action\":\"connect\",\"param\":\"a\",\"version\":2}").version()).isEqualTo(2);
        // Whichever version the connection's previous session spoke.
        assertThat(Frames.parse("{\"action\":\"connect\",\"param\":\"a\",\"version\":1}", 2).version()).isEqualTo(1);
        // Other actions ask for nothing: a version field there is an unknown field, ignored.
        assertThat(Frames.parse("{\"action\":\"lock\",\"param\":\"a\",\"version\":7}").version()).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "3", "-1", "2.0", "1.5", "1e0", "\"2\"", "true", "[2]", "{}", "99999999999999999999", "-2147483647"})
    void aVersionOtherThan1Or2IsABadRequest(String version) {
        badRequest("{\"action\":\"connect\",\"param\":\"a\",\"id\":1,\"version\":" + version + "}", 1, "version");
    }

    @Test
    void connectOptionsAreReadOnVersion2AndRefusedOnVersion1() throws BadRequest {
        Request r = Frames.parse("{\"action\":\"connect\",\"param\":\"a\",\"version\":2,\"grace\":5000,\"info\":{\"who\":\"ann\"}}");
        assertThat(r.session().grace()).isEqualTo(5000);
        assertThat(r.session().info()).isEqualTo("{\"who\":\"ann\"}");
        assertThat(Frames.parse("{\"action\":\"connect\",\"param\":\"a\",\"version\":2}").session().grace()).isZero();
        for (String field : List.of("\"grace\":0", "\"info\":{}")) {
            String name = field.substring(1, field.indexOf('"', 1));
            badRequest("{\"action\":\"connect\",\"param\":\"a\",\"id\":1,\"version\":1," + field + "}", 1, name);
            badRequest("{\"action\":\"connect\",\"param\":\"a\",\"id\":1," + field + "}", 1, name);
        }
        for (String bad : List.of("\"grace\":-1", "\"grace\":1.5", "\"grace\":\"5\"", "\"grace\":true", "\"grace\":99999999999999999999",
                "\"info\":\"x\"", "\"info\":[1]", "\"info\":7", "\"info\":{\"a\":\"" + "x".repeat(510) + "\"}")) {
            String name = bad.substring(1, bad.indexOf('"', 1));
            badRequest("{\"action\":\"connect\",\"param\":\"a\",\"id\":1,\"version\":2," + bad + "}", 1, name);
        }
        // 512 bytes serialized is the most: multi-byte characters count as bytes.
        String at = "{\"a\":\"" + "x".repeat(512 - 8) + "\"}";
        assertThat(at.length()).isEqualTo(512);
        assertThat(Frames.parse("{\"action\":\"connect\",\"param\":\"a\",\"version\":2,\"info\":" + at + "}").session().info()).isEqualTo(at);
        badRequest("{\"action\":\"connect\",\"param\":\"a\",\"id\":1,\"version\":2,\"info\":{\"a\":\"" + "\u00e9".repeat(253) + "\"}}", 1, "info");
    }

    @Test
    void resumeIsKnownWithoutASessionAndNeedsItsTwoStrings() throws BadRequest {
        Request r = Frames.parse("{\"action\":\"resume\",\"session\":\"abc\",\"resume\":\"s3cret\"}", 1, true);
        assertThat(r.action()).isEqualTo(Action.RESUME);
        assertThat(r.session().id()).isEqualTo("abc");
        assertThat(r.session().toString()).doesNotContain("s3cret");
        // A version 1 session knows nothing of it.
        assertThat(refused("{\"action\":\"resume\",\"session\":\"abc\",\"resume\":\"x\"}").code).isEqualTo(FailCode.UNKNOWN_ACTION);
        for (String bad : List.of("{\"action\":\"resume\",\"id\":1,\"session\":\"abc\"}", "{\"action\":\"resume\",\"id\":1,\"resume\":\"abc\"}",
                "{\"action\":\"resume\",\"id\":1,\"session\":1,\"resume\":\"x\"}", "{\"action\":\"resume\",\"id\":1,\"session\":\"a\",\"resume\":{}}")) {
            BadRequest e = catchThrowableOfType(BadRequest.class, () -> Frames.parse(bad, 1, true));
            assertThat(e.code).as(bad).isEqualTo(FailCode.BAD_REQUEST);
            assertThat(e.getMessage()).contains("'session'").contains("'resume'");
        }
    }

    @Test
    void version1RefusesEveryLockOptionEvenWellFormed() throws BadRequest {
        for (String option : List.of("\"mode\":\"exclusive\"", "\"mode\":\"shared\"", "\"wait\":false", "\"wait\":true",
                "\"timeout\":100", "\"steal\":true", "\"ask\":false", "\"mode\":7")) {
            String field = option.substring(1, option.indexOf('"', 1));
            for (String action : List.of("lock", "mlock")) {
                String frame = "{\"action\":\"" + action + "\",\"param\":\"a\",\"id\":1," + option + "}";
                badRequest(frame, 1, field);
                assertThat(refused(frame, 1).getMessage()).contains("version 2");
            }
        }
        // null is "not sent"; other actions ignore the fields like any unknown field; so does the nested "options" of old.
        assertThat(Frames.parse("{\"action\":\"lock\",\"param\":\"a\",\"mode\":null,\"wait\":null,\"timeout\":null}").options())
                .isEqualTo(LockOptions.DEFAULT);
        assertThat(Frames.parse("{\"action\":\"unlock\",\"param\":\"a\",\"mode\":\"shared\",\"wait\":true}").options())
                .isEqualTo(LockOptions.DEFAULT);
        assertThat(Frames.parse("{\"action\":\"lock\",\"param\":\"a\",\"options\":{\"mode\":\"shared\"}}").options())
                .isEqualTo(LockOptions.DEFAULT);
    }

    @Test
    void version2ReadsModeWaitAndTimeout() throws BadRequest {
        assertThat(options("{\"action\":\"lock\",\"param\":\"a\"}")).isEqualTo(LockOptions.DEFAULT);
        assertThat(options("{\"action\":\"lock\",\"param\":\"a\",\"mode\":\"exclusive\",\"wait\":false}")).isEqualTo(LockOptions.DEFAULT);
        assertThat(options("{\"action\":\"lock\",\"param\":\"a\",\"mode\":\"shared\"}")).isEqualTo(LockOptions.shared());
        assertThat(options("{\"action\":\"lock\",\"param\":\"a\",\"wait\":true}")).isEqualTo(LockOptions.DEFAULT.queue());
        assertThat(options("{\"action\":\"lock\",\"param\":\"a\",\"wait\":true,\"mode\":\"shared\",\"timeout\":1}"))
                .isEqualTo(new LockOptions(LockMode.SHARED, true, Duration.ofMillis(1)));
        assertThat(options("{\"action\":\"lock\",\"param\":\"a\",\"wait\":true,\"timeout\":3600000}").timeout())
                .isEqualTo(Duration.ofHours(1));
        assertThat(options("{\"action\":\"lock\",\"param\":\"a\",\"wait\":true,\"timeout\":null}")).isEqualTo(LockOptions.DEFAULT.queue());
        assertThat(options("{\"action\":\"mlock\",\"params\":[\"a\",\"b\"],\"mode\":\"shared\"}")).isEqualTo(LockOptions.shared());
        assertThat(options("{\"action\":\"mlock\",\"params\":[\"a\"],\"mode\":\"exclusive\"}")).isEqualTo(LockOptions.DEFAULT);
        assertThat(options("{\"action\":\"unlock\",\"param\":\"a\",\"wait\":true}")).isEqualTo(LockOptions.DEFAULT);
    }

    @Test
    void version2RefusesIllTypedAndUnknownOptionValues() {
        String lock = "{\"action\":\"lock\",\"param\":\"a\",\"id\":1,";
        for (String mode : List.of("\"foo\"", "\"Shared\"", "\"EXCLUSIVE\"", "\"\"", "1", "true", "[\"shared\"]", "{}")) {
            badRequest(lock + "\"mode\":" + mode + "}", 2, "mode");
        }
        for (String wait : List.of("\"true\"", "1", "0", "[]", "{}")) {
            badRequest(lock + "\"wait\":" + wait + "}", 2, "wait");
        }
        for (String timeout : List.of("0", "-1", "3600001", "1.5", "1000.0", "1e3", "\"100\"", "true", "[]", "99999999999999999999")) {
            badRequest(lock + "\"wait\":true,\"timeout\":" + timeout + "}", 2, "timeout");
        }
        // A timeout needs wait: true.
        badRequest(lock + "\"timeout\":100}", 2, "timeout");
        badRequest(lock + "\"wait\":false,\"timeout\":100}", 2, "timeout");
        // mlock never queues: neither wait (even false) nor timeout.
        String mlock = "{\"action\":\"mlock\",\"params\":[\"a\",\"b\"],\"id\":1,";
        badRequest(mlock + "\"wait\":true}", 2, "wait");
        badRequest(mlock + "\"wait\":false}", 2, "wait");
        badRequest(mlock + "\"timeout\":100}", 2, "timeout");
        badRequest(mlock + "\"mode\":\"both\"}", 2, "mode");
    }

    @Test
    void stealAndAskAreReadAsBooleansOnLockOnly() throws BadRequest {
        String lock = "{\"action\":\"lock\",\"param\":\"a\",\"id\":1,";
        assertThat(options(lock + "\"steal\":true}")).isEqualTo(LockOptions.DEFAULT.stealing());
        assertThat(options(lock + "\"steal\":true,\"mode\":\"shared\"}")).isEqualTo(LockOptions.shared().stealing());
        assertThat(options(lock + "\"steal\":false,\"wait\":true}")).isEqualTo(LockOptions.DEFAULT.queue());
        assertThat(options(lock + "\"ask\":true,\"wait\":true,\"timeout\":5}"))
                .isEqualTo(LockOptions.DEFAULT.timeout(Duration.ofMillis(5)).asking());
        assertThat(options(lock + "\"ask\":false}")).isEqualTo(LockOptions.DEFAULT);
        for (String value : List.of("\"true\"", "1", "[]", "{}")) {
            badRequest(lock + "\"steal\":" + value + "}", 2, "steal");
            badRequest(lock + "\"wait\":true,\"ask\":" + value + "}", 2, "ask");
        }
        // A steal takes the lock now: never with wait; an ask is made by a request that queues.
        badRequest(lock + "\"steal\":true,\"wait\":true}", 2, "steal");
        badRequest(lock + "\"ask\":true}", 2, "ask");
        badRequest(lock + "\"ask\":true,\"wait\":false}", 2, "ask");
        // Single-lock only: refused on mlock whatever their value.
        for (String option : List.of("\"steal\":true", "\"steal\":false", "\"ask\":true", "\"ask\":false")) {
            String field = option.substring(1, option.indexOf('"', 1));
            badRequest("{\"action\":\"mlock\",\"params\":[\"a\"],\"id\":1," + option + "}", 2, field);
        }
    }

    @Test
    void queryWatchAndUnwatchAreVersion2s() throws BadRequest {
        for (String action : List.of("query", "watch", "unwatch")) {
            BadRequest unknown = refused("{\"action\":\"" + action + "\",\"params\":[\"a\"],\"id\":1}", 1);
            assertThat(unknown.code).isEqualTo(FailCode.UNKNOWN_ACTION);
            assertThat(unknown.action).isEqualTo(action);
        }
        Request query = Frames.parse("{\"action\":\"query\",\"params\":[\"a\",\"b\"]}", 2);
        assertThat(query.action()).isEqualTo(Action.QUERY);
        assertThat(query.names()).containsExactly("a", "b");
        assertThat(query.prefix()).isNull();
        assertThat(refused("{\"action\":\"query\",\"params\":[]}", 2).code).isEqualTo(FailCode.BAD_REQUEST);
        // A long list is read: how many a query may name is the handler's to answer (TOO_MANY_LOCKS).
        assertThat(Frames.parse("{\"action\":\"query\",\"params\":[" + "\"a\",".repeat(99) + "\"a\"]}", 2).names()).hasSize(100);
    }

    @Test
    void watchAndUnwatchTakeNamesOrAPrefixNotBoth() throws BadRequest {
        for (String action : List.of("watch", "unwatch")) {
            String head = "{\"action\":\"" + action + "\",\"id\":1,";
            Request byName = Frames.parse(head + "\"params\":[\"a\",\"b\"]}", 2);
            assertThat(byName.names()).containsExactly("a", "b");
            assertThat(byName.prefix()).isNull();
            Request byPrefix = Frames.parse(head + "\"prefix\":\"doc-\"}", 2);
            assertThat(byPrefix.names()).isEmpty();
            assertThat(byPrefix.prefix()).isEqualTo("doc-");
            // An empty prefix is read: it is the handler's BAD_NAME.
            assertThat(Frames.parse(head + "\"prefix\":\"\"}", 2).prefix()).isEmpty();
            badRequest(head + "\"param\":\"a\",\"prefix\":\"doc-\"}", 2, "prefix");
            badRequest(head + "\"params\":[]}", 2, "prefix");
            badRequest("{\"action\":\"" + action + "\",\"id\":1}", 2, "prefix");
            badRequest(head + "\"prefix\":7}", 2, "prefix");
            assertThat(Frames.parse(head + "\"param\":\"a\",\"prefix\":null}", 2).names()).containsExactly("a");
        }
    }

    @Test
    void cancelIsVersion2sAndTakesOneName() throws BadRequest {
        BadRequest unknown = refused("{\"action\":\"cancel\",\"param\":\"a\",\"id\":1}", 1);
        assertThat(unknown.code).isEqualTo(FailCode.UNKNOWN_ACTION);
        assertThat(unknown.action).isEqualTo("cancel");
        // In version 1 the action is unknown before any other field is looked at, as it always was.
        assertThat(refused("{\"action\":\"cancel\",\"param\":7}", 1).code).isEqualTo(FailCode.UNKNOWN_ACTION);
        Request cancel = Frames.parse("{\"action\":\"cancel\",\"param\":\"a\",\"id\":1}", 2);
        assertThat(cancel.action()).isEqualTo(Action.CANCEL);
        assertThat(cancel.names()).containsExactly("a");
        assertThat(refused("{\"action\":\"cancel\"}", 2).code).isEqualTo(FailCode.BAD_REQUEST);
        assertThat(refused("{\"action\":\"cancel\",\"params\":[\"a\",\"b\"]}", 2).code).isEqualTo(FailCode.BAD_REQUEST);
        assertThat(refused("{\"action\":\"cancel\",\"param\":7}", 2).code).isEqualTo(FailCode.BAD_REQUEST);
    }

    private static List<LockState.Entry> entries(String prefix, int n, LockMode mode) {
        String info = "{\"about\":\"" + "x".repeat(100) + "\"}";
        return IntStream.range(0, n).mapToObj(i -> new LockState.Entry(prefix + i, info, mode, 1_000L + i)).toList();
    }

    private static List<String> names(JsonNode list) {
        return StreamSupport.stream(list.spliterator(), false).map(e -> e.path("name").asText()).toList();
    }

    @Test
    void aStateThatFitsIsWrittenWholeWithoutTotals() {
        LockState state = new LockState(entries("h", 3, LockMode.SHARED), entries("q", 5, LockMode.EXCLUSIVE));
        ObjectNode node = Frames.state(state, false, 16 * 1024);
        assertThat(Frames.write(node)).startsWith("{\"holders\":[{\"name\":\"h0\",\"info\":{\"about\":\"xxx")
                .doesNotContain("Total");
        assertThat(names(node.path("holders"))).containsExactly("h0", "h1", "h2");
        assertThat(names(node.path("queue"))).containsExactly("q0", "q1", "q2", "q3", "q4");
        assertThat(node.path("queue").get(4).path("since").asLong()).isEqualTo(1_004L);
        assertThat(Frames.write(Frames.state(LockState.FREE, false, 0))).isEqualTo("{\"holders\":[],\"queue\":[]}");
    }

    /** A state is cut to what may be written: the earliest entries, a total beside a cut list, never more than asked. */
    @Test
    void aLongStateListsItsEarliestEntriesWithinTheCharsAndTellsTheTotal() {
        LockState state = new LockState(entries("h", 1, LockMode.EXCLUSIVE), entries("q", 10_000, LockMode.EXCLUSIVE));
        for (int max : new int[] {2_000, 16 * 1024, 100_000}) {
            ObjectNode node = Frames.state(state, false, max);
            assertThat(Frames.write(node).length()).as("chars at %d", max)
                    .isLessThanOrEqualTo(max).isGreaterThan(max - 200); // cut where the next entry (~150 chars) would not fit
            assertThat(names(node.path("holders"))).containsExactly("h0");
            assertThat(node.has("holdersTotal")).isFalse();
            List<String> queue = names(node.path("queue"));
            assertThat(queue).hasSizeLessThan(10_000)
                    .isEqualTo(IntStream.range(0, queue.size()).mapToObj(i -> "q" + i).toList());
            assertThat(node.path("queueTotal").asInt()).isEqualTo(10_000);
        }
        // Hidden holders: smaller entries, so more of them in the same chars.
        assertThat(Frames.state(state, true, 16 * 1024).path("queue").size())
                .isGreaterThan(3 * Frames.state(state, false, 16 * 1024).path("queue").size());
    }

    /** However little may be written, a list that has entries lists its first: an empty list always means nobody. */
    @Test
    void aCutListKeepsItsFirstEntry() {
        LockState state = new LockState(entries("h", 300, LockMode.SHARED), entries("q", 2, LockMode.EXCLUSIVE));
        JsonNode none = Frames.state(state, false, 0);
        assertThat(names(none.path("holders"))).containsExactly("h0");
        assertThat(names(none.path("queue"))).containsExactly("q0");
        assertThat(none.path("holdersTotal").asInt()).isEqualTo(300);
        assertThat(none.path("queueTotal").asInt()).isEqualTo(2);
        // Holders that fill the room leave the queue its first entry only.
        JsonNode some = Frames.state(state, false, 4_000);
        assertThat(some.path("holders").size()).isBetween(2, 299);
        assertThat(some.path("holdersTotal").asInt()).isEqualTo(300);
        assertThat(names(some.path("queue"))).containsExactly("q0");
        assertThat(some.path("queueTotal").asInt()).isEqualTo(2);
    }
}
