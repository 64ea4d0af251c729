package io.distlock.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import org.junit.jupiter.api.Test;

/** The bench's reader of server frames. */
class ReplyTest {

    @Test
    void readsALockedReply() {
        Reply r = Reply.parse("{\"status\":\"LOCKED\",\"message\":\"doc-42\",\"time\":1764144000001,\"id\":7,"
                + "\"action\":\"lock\",\"lock\":\"doc-42\",\"token\":1764144000000123}");
        assertThat(r.status).isEqualTo(Reply.Status.LOCKED);
        assertThat(r.id).isEqualTo(7);
        assertThat(r.lock).isEqualTo("doc-42");
        assertThat(r.token).isEqualTo(1764144000000123L);
        assertThat(r.tokenOf("doc-42")).isEqualTo(1764144000000123L);
    }

    @Test
    void readsAnMlockReplyWithItsTokensAndSkipsArrays() {
        Reply r = Reply.parse("{ \"status\" : \"LOCKED\", \"message\":\"a, b\", \"locks\":[\"a\",\"b\"],"
                + " \"tokens\":{\"a\":5,\"b\":6}, \"id\":3 }");
        assertThat(r.tokens).isEqualTo(Map.of("a", 5L, "b", 6L));
        assertThat(r.tokenOf("b")).isEqualTo(6);
        assertThat(r.id).isEqualTo(3);
    }

    @Test
    void readsPushesFailuresAndEscapes() {
        Reply retry = Reply.parse("{\"status\":\"RETRY\",\"message\":\"x\",\"time\":1,\"lock\":\"caf\\u00e9 \\\"q\\\"\"}");
        assertThat(retry.status).isEqualTo(Reply.Status.RETRY);
        assertThat(retry.id).isEqualTo(-1);
        assertThat(retry.lock).isEqualTo("café \"q\"");

        Reply fail = Reply.parse("{\"status\":\"FAIL\",\"message\":\"too many requests; slow down\",\"id\":\"s-1\","
                + "\"holders\":{\"a\":\"b\"},\"code\":\"RATE_LIMITED\",\"x\":[1,{\"y\":[true,null]}],\"z\":-1.5e3}");
        assertThat(fail.status).isEqualTo(Reply.Status.FAIL);
        assertThat(fail.code).isEqualTo("RATE_LIMITED");
        assertThat(fail.id).isEqualTo(-1); // string ids are not the bench's

        assertThat(Reply.parse("{\"status\":\"Open\"}").status).isEqualTo(Reply.Status.OTHER);
        assertThat(Reply.parse("{}").status).isEqualTo(Reply.Status.OTHER);
    }

    @Test
    void refusesWhatIsNotAnObject() {
        assertThatThrownBy(() -> Reply.parse("[1]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Reply.parse("{\"status\":\"OK\"")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Reply.parse("{\"status\":\"OK")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void readsVersion2sQueuedGrantedCancelledAndConnect() {
        Reply queued = Reply.parse("{\"status\":\"QUEUED\",\"message\":\"doc-42\",\"time\":1,\"id\":9,\"action\":\"lock\","
                + "\"lock\":\"doc-42\",\"position\":3,\"holder\":\"alice\"}");
        assertThat(queued.status).isEqualTo(Reply.Status.QUEUED);
        assertThat(queued.position).isEqualTo(3);
        assertThat(queued.id).isEqualTo(9);

        Reply granted = Reply.parse("{\"status\":\"GRANTED\",\"message\":\"doc-42\",\"time\":2,\"lock\":\"doc-42\","
                + "\"token\":1764144000000124,\"mode\":\"shared\",\"request\":9}");
        assertThat(granted.status).isEqualTo(Reply.Status.GRANTED);
        assertThat(granted.token).isEqualTo(1764144000000124L);
        assertThat(granted.shared).isTrue();
        assertThat(granted.request).isEqualTo(9);
        assertThat(granted.id).isEqualTo(-1);
        assertThat(Reply.parse("{\"status\":\"GRANTED\",\"lock\":\"a\",\"mode\":\"exclusive\",\"request\":\"r-1\"}"))
                .satisfies(r -> {
                    assertThat(r.shared).isFalse();
                    assertThat(r.request).isEqualTo(-1); // string ids are not the bench's
                });
        assertThat(Reply.parse("{\"status\":\"GRANTED\",\"lock\":\"a\",\"request\":null}").request).isEqualTo(-1);

        Reply cancelled = Reply.parse("{\"status\":\"CANCELLED\",\"lock\":\"doc-42\",\"reason\":\"timeout\"}");
        assertThat(cancelled.status).isEqualTo(Reply.Status.CANCELLED);
        assertThat(cancelled.reason).isEqualTo("timeout");

        Reply connected = Reply.parse("{\"status\":\"OK\",\"message\":\"Open session: b\",\"id\":1,\"session\":\"x\",\"version\":2}");
        assertThat(connected.version).isEqualTo(2);
        assertThat(Reply.parse("{\"status\":\"OK\",\"id\":1}").version).isZero();
    }
}
