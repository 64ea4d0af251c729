package io.distlock.server;

import static io.distlock.testing.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distlock.testing.RedisProcess;

import org.junit.jupiter.api.Test;
import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/** {@code /health}'s question to a real Redis, on a ticker the test moves: shared, reused for {@link HealthCheck#REUSE}, no longer. */
class HealthCheckTest {

    /** The scripts Redis has run ({@code EVAL}, {@code EVALSHA} and their read-only forms), from {@code INFO commandstats}. */
    static long scripts(RedisProcess redis) {
        Matcher m = Pattern.compile("cmdstat_eval[a-z_]*:calls=(\\d+)").matcher(String.valueOf(redis.command("INFO", "commandstats")));
        long calls = 0;
        while (m.find()) {
            calls += Long.parseLong(m.group(1));
        }
        return calls;
    }

    @Test
    void anAnswerIsReusedForItsWindowOnlyThenRedisIsAskedAgain() {
        AtomicLong now = new AtomicLong();
        try (RedisProcess redis = RedisProcess.start()) {
            Config config = new Config();
            config.useSingleServer().setAddress(redis.url()).setRetryAttempts(0); // every question sent once: counted below
            RedissonClient redisson = Redisson.create(config);
            try {
                HealthCheck health = new HealthCheck(redisson, "health-test", () -> false, now::get);
                assertThat(result(health.check())).isTrue();
                long before = scripts(redis); // after the question (Redisson may send it twice: EVALSHA, then EVAL)
                now.addAndGet(HealthCheck.REUSE.toNanos() - 1);
                for (int i = 0; i < 10; i++) {
                    assertThat(result(health.check())).isTrue();
                }
                assertThat(scripts(redis) - before).as("no question for ten checks within the window").isZero();

                redis.pause();
                try {
                    assertThat(result(health.check())).as("still within the window: the answer Redis gave").isTrue();
                    now.addAndGet(1); // the window is over: asked again, and Redis does not answer
                    CompletableFuture<Boolean> first = health.check();
                    CompletableFuture<Boolean> second = health.check(); // while the question is out: shares it
                    assertThat(result(first)).isFalse();
                    assertThat(result(second)).isFalse();
                } finally {
                    redis.resume();
                }
                now.addAndGet(HealthCheck.REUSE.toNanos());
                assertThat(result(health.check())).as("Redis answers again").isTrue();
                // Both questions were in Redis's socket when it resumed: two scripts if the checks during the pause shared one.
                assertThat(scripts(redis) - before).as("the question during the pause, shared, and the last").isEqualTo(2);
            } finally {
                redisson.shutdown();
            }
        }
    }
}
