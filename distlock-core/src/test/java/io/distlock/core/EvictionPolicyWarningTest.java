package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.distlock.testing.RedisProcess;

/**
 * A node warns once as it starts (before it serves) when Redis may evict lock keys under its memory limit (every lock
 * key has an expiry, so any policy but noeviction can pick one), and says nothing otherwise.
 */
class EvictionPolicyWarningTest {

    private final List<LogRecord> warnings = new CopyOnWriteArrayList<>();
    private final Logger serviceLog = Logger.getLogger(LockService.class.getName());
    private final Handler recording = new Handler() {
        @Override
        public void publish(LogRecord record) {
            if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                warnings.add(record);
            }
        }

        @Override
        public void flush() { }

        @Override
        public void close() { }
    };

    @BeforeEach
    void listen() {
        serviceLog.addHandler(recording);
    }

    @AfterEach
    void stopListening() {
        serviceLog.removeHandler(recording);
    }

    @Test
    void aPolicyThatMayEvictLockKeysIsWarnedOfAtStart() throws Exception {
        for (String policy : List.of("allkeys-lru", "volatile-ttl")) {
            warnings.clear();
            try (RedisProcess redis = RedisProcess.start("--maxmemory", "64mb", "--maxmemory-policy", policy);
                 LockService service = LockService.connect(redis.url(), LockConfig.defaults())) {
                assertThat(warnings).as(policy).singleElement().satisfies(w -> assertThat(w.getMessage())
                        .contains("maxmemory 67108864 with maxmemory-policy " + policy, "noeviction", "docs/safety.md"));
            }
        }
    }

    @Test
    void noevictionOrNoLimitIsNotWarnedOf() throws Exception {
        for (String[] args : List.of(new String[] {"--maxmemory", "64mb", "--maxmemory-policy", "noeviction"},
                new String[] {"--maxmemory", "0", "--maxmemory-policy", "allkeys-lru"})) {
            warnings.clear();
            try (RedisProcess redis = RedisProcess.start(args);
                 LockService service = LockService.connect(redis.url(), LockConfig.defaults())) {
                assertThat(warnings).as(String.join(" ", args)).isEmpty();
            }
        }
    }
}
