package io.distlock.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@link TcpProxy#capture} and {@link TcpProxy#replayCaptured}, against a real Redis. */
class TcpProxyCaptureTest {

    private RedisProcess redis;
    private TcpProxy proxy;

    @BeforeEach
    void start() {
        redis = RedisProcess.start();
        proxy = TcpProxy.start(redis.port());
    }

    @AfterEach
    void stop() {
        proxy.close();
        redis.close();
    }

    @Test
    void replaysExactlyTheCommandsSentWhileCapturingAndLetsThemBeRewritten() {
        try (RespConnection client = new RespConnection("127.0.0.1", proxy.port())) {
            assertThat(client.command("SET", "before", "1")).isEqualTo("OK");
            proxy.capture(true);
            assertThat(client.command("SET", "during", "héllo\r\nworld")).isEqualTo("OK");
            assertThat(client.command("SET", "also", "x")).isEqualTo("OK");
            proxy.capture(false);
            assertThat(client.command("SET", "after", "1")).isEqualTo("OK");
        }
        redis.command("FLUSHALL");

        List<List<String>> seen = new ArrayList<>();
        int sent = proxy.replayCaptured(args -> {
            seen.add(args);
            return args.get(1).equals("also") ? null : args;
        });

        assertThat(seen).containsExactly(List.of("SET", "during", "héllo\r\nworld"), List.of("SET", "also", "x"));
        assertThat(sent).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> "héllo\r\nworld".equals(redis.command("GET", "during")));
        assertThat(redis.command("EXISTS", "before")).isEqualTo(0L);
        assertThat(redis.command("EXISTS", "also")).isEqualTo(0L);
        assertThat(redis.command("EXISTS", "after")).isEqualTo(0L);
        assertThat(proxy.replayCaptured(args -> args)).isZero(); // nothing is replayed twice
    }
}
