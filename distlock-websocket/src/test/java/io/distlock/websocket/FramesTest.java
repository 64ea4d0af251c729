package io.distlock.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

/** Reading requests and writing replies, without a server. */
class FramesTest {

    private static BadRequest refused(String frame) {
        BadRequest e = catchThrowableOfType(BadRequest.class, () -> Frames.parse(frame));
        assertThat(e).as("refusal of %s", frame).isNotNull();
        return e;
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
}
