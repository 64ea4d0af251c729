package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.logging.Level;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.LogRecorder;
import io.distlock.testing.RedisProcess;

/**
 * A node warns once as it starts (before it serves) when Redis may evict lock keys under its memory limit (every lock
 * key has an expiry, so any policy but noeviction can pick one), and says nothing otherwise.
 */
class EvictionPolicyWarningTest {

    private LogRecorder log;

    @BeforeEach
    void listen() {
        log = LogRecorder.of(LockService.class);
    }

    @AfterEach
    void stopListening() {
        log.close();
    }

    @Test
    void aPolicyThatMayEvictLockKeysIsWarnedOfAtStart() throws Exception {
        for (String policy : List.of("allkeys-lru", "volatile-ttl")) {
            log.clear();
            try (RedisProcess redis = RedisProcess.start("--maxmemory", "64mb", "--maxmemory-policy", policy);
                 LockService service = LockService.connect(redis.url(), LockConfig.defaults())) {
                assertThat(log.messages(Level.WARNING)).as(policy).singleElement().asString().contains("maxmemory 67108864 with maxmemory-policy " + policy, "noeviction", "docs/safety.md");
            }
        }
    }

    @Test
    void noevictionOrNoLimitIsNotWarnedOf() throws Exception {
        for (String[] args : List.of(new String[] {"--maxmemory", "64mb", "--maxmemory-policy", "noeviction"},
                new String[] {"--maxmemory", "0", "--maxmemory-policy", "allkeys-lru"})) {
            log.clear();
            try (RedisProcess redis = RedisProcess.start(args);
                 LockService service = LockService.connect(redis.url(), LockConfig.defaults())) {
                assertThat(log.messages(Level.WARNING)).as(String.join(" ", args)).isEmpty();
            }
        }
    }
}
