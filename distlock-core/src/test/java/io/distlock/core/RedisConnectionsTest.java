package io.distlock.core;

import static io.distlock.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;

import org.junit.jupiter.api.Test;

import io.distlock.testing.Pushes;
import io.distlock.testing.RedisProcess;

/** How many connections a node started with {@link LockService#connect} keeps to Redis. */
class RedisConnectionsTest {

    /** Two per Netty thread (see {@link LockService#redissonConfig}). */
    private static final int POOL = 2 * Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    /** The release subscription's connection, and a spare for Redisson's own use. */
    private static final int BESIDE_THE_POOL = 2;

    @Test
    void aNodeOpensItsPoolAtStartAndNoMoreUnderLoad() {
        try (RedisProcess redis = RedisProcess.start().markInService("distlock")) {
            int before = clients(redis);
            try (LockService service = LockService.connect(redis.url(), LockConfig.defaults())) {
                assertThat(clients(redis) - before).as("connections once started")
                        .isBetween(POOL, POOL + BESIDE_THE_POOL);

                // Many more requests in flight than connections: they share the pool's connections.
                List<LockSession> sessions = new ArrayList<>();
                List<CompletionStage<LockResult>> locks = new ArrayList<>();
                for (int i = 0; i < 8 * POOL; i++) {
                    LockSession s = service.openSession("s" + i, new Pushes());
                    sessions.add(s);
                    locks.add(s.lock("doc-" + i));
                }
                for (CompletionStage<LockResult> lock : locks) {
                    assertThat(result(lock)).isInstanceOf(LockResult.Locked.class);
                }
                assertThat(clients(redis) - before).as("connections after %d locks at once", locks.size())
                        .isBetween(POOL, POOL + BESIDE_THE_POOL);
                sessions.forEach(LockSession::close);
            }
        }
    }

    private static int clients(RedisProcess redis) {
        String list = String.valueOf(redis.command("CLIENT", "LIST"));
        return (int) list.lines().filter(line -> line.startsWith("id=")).count() - 1; // not the CLIENT LIST's own
    }
}
