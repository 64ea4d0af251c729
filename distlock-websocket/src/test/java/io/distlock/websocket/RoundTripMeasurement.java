package io.distlock.websocket;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.testing.RedisProcess;
import jakarta.websocket.server.ServerEndpointConfig;

/**
 * Not a test: measures a lock + unlock round trip over the WebSocket on one node, one client
 * sending the pairs one after the other, and prints the percentiles. Run with
 * {@code mvn verify -pl distlock-websocket -Dtest=RoundTripMeasurement -Ddistlock.measure=true}.
 */
@EnabledIfSystemProperty(named = "distlock.measure", matches = "true")
class RoundTripMeasurement {

    private static final int WARMUP = 1000;
    private static final int PAIRS = 2000;

    @Test
    void lockUnlockRoundTrip() {
        measure("Tyrus 2.2", TestServer::tyrus);
        measure("Jetty 12.1", TestServer::jetty);
    }

    private static void measure(String container, Function<List<ServerEndpointConfig>, TestServer> start) {
        try (RedisProcess redis = RedisProcess.start();
             LockService service = LockService.connect(redis.url(), LockConfig.defaults());
             DistLockEndpoints endpoint = DistLockEndpoints.create(service, EndpointOptions.builder().rateLimit(100_000, 100_000).build());
             TestServer server = start.apply(List.of(endpoint.config()));
             WsClient c = WsClient.open(server.uri("/distlock/lock"))) {
            c.request("OK", "action", "connect", "param", "bench");
            String lock = WsClient.json("action", "lock", "param", "bench-lock");
            String unlock = WsClient.json("action", "unlock", "param", "bench-lock");
            long[] nanos = new long[PAIRS];
            for (int i = -WARMUP; i < PAIRS; i++) {
                long start0 = System.nanoTime();
                c.sendRaw(lock);
                c.expectNext("LOCKED");
                c.sendRaw(unlock);
                c.expectNext("OK");
                if (i >= 0) {
                    nanos[i] = System.nanoTime() - start0;
                }
            }
            Arrays.sort(nanos);
            long total = Arrays.stream(nanos).sum();
            System.out.printf("%s: lock+unlock round trip over %d sequential pairs: p50 %d us, p90 %d us, p99 %d us, mean %d us, %.0f pairs/s%n",
                    container, PAIRS, nanos[PAIRS / 2] / 1000, nanos[PAIRS * 9 / 10] / 1000, nanos[PAIRS * 99 / 100] / 1000,
                    total / PAIRS / 1000, PAIRS / (total / 1e9));
        }
    }
}
