package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.text.MessageFormat;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.distlock.testing.Await;
import io.distlock.testing.FakeTime;
import io.distlock.testing.LogRecorder;
import io.distlock.testing.RedisProcess;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import org.junit.jupiter.api.Test;
import org.redisson.client.RedisException;
import org.redisson.client.RedisTimeoutException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Losing Redis and getting it back, as an operator sees it: one WARNING when the node's renewal
 * tick first finds Redis gone (killed: connections refused), none for the failed ticks after it,
 * one more WARNING when it answers again (a new redis-server on the same port) with the outage's length,
 * and {@code distlock.redis.up} 1, 0, 1; on an idle node (only its ticks talk to Redis) and on one that holds a lock.
 * The outage is measured on the service's ticker, which the test moves a minute ahead while Redis
 * is down: the reported length must include that minute, so it is the ticker's, without waiting it.
 */
class RedisReachTest {

    private static final Duration LEASE = Duration.ofSeconds(3);
    private static final Duration JUMP = Duration.ofSeconds(60);
    private static final Pattern AGAIN = Pattern.compile("answers again, after (\\d+\\.\\d) s without an answer");

    @ParameterizedTest(name = "quarantine {0}, a lock held {1}")
    // With the quarantine the tick beats; without it, the tick asks EXISTS, holding a lock or not.
    @CsvSource({"true, false", "true, true", "false, false", "false, true"})
    void oneWarningWhenRedisGoesOneLineWhenItAnswersAgainWithTheOutageLength(boolean quarantine, boolean holding) throws Exception {
        AtomicLong ahead = new AtomicLong();
        Ticker ticker = () -> System.nanoTime() + ahead.get();
        try (RedisProcess redis = RedisProcess.start();
             LogRecorder log = LogRecorder.of(LockService.class);
             LockService service = LockService.connect(redis.url(),
                     LockConfig.builder().lease(LEASE).dataLossQuarantine(quarantine).ticker(ticker).build())) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new LockServiceMetrics(service).bindTo(registry);
            assertThat(registry.get("distlock.redis.up").gauge().value()).isEqualTo(1.0);
            if (holding) {
                assertThat(Await.result(service.openSession("alice", LockListener.NONE).lock("doc")))
                        .isInstanceOf(LockResult.Locked.class);
            }

            long killed = System.nanoTime();
            redis.kill();
            String where = "Redis at 127.0.0.1:" + redis.port();
            await().atMost(Await.seconds(10)).until(() -> !reachLines(log, Level.WARNING).isEmpty());
            assertThat(registry.get("distlock.redis.up").gauge().value()).isEqualTo(0.0);
            // A lease of failed ticks (six) after the first: still the one line.
            long firstSeen = System.nanoTime();
            await().atMost(Await.seconds(10)).until(() -> System.nanoTime() - firstSeen >= LEASE.toNanos());
            List<String> warnings = log.messages(Level.ALL).stream().filter(l -> l.startsWith("Redis at ")).toList();
            assertThat(warnings).hasSize(1);
            // Mostly "Connection refused"; a command out at the kill may fail otherwise, in words all the same.
            assertThat(warnings.get(0)).startsWith(where + " does not answer (")
                    .endsWith("): locks cannot be taken or renewed until it does")
                    .doesNotContain("Unexpected exception");

            ahead.addAndGet(JUMP.toNanos());
            redis.startAgain();
            await().atMost(Await.seconds(30)).until(() -> !reachLines(log, Level.WARNING).stream()
                    .filter(l -> l.contains("answers again")).toList().isEmpty());
            long realOutage = System.nanoTime() - killed;
            assertThat(registry.get("distlock.redis.up").gauge().value()).isEqualTo(1.0);

            List<String> again = reachLines(log, Level.WARNING).stream().filter(l -> l.contains("answers again")).toList();
            assertThat(again).hasSize(1);
            assertThat(again.get(0)).startsWith(where + " answers again, after ")
                    .endsWith(" s without an answer");
            Matcher m = AGAIN.matcher(again.get(0));
            assertThat(m.find()).isTrue();
            double reported = Double.parseDouble(m.group(1));
            // The jump, plus the part of the real outage the ticks saw; at most all of it and a lease (the first
            // command not answered may have gone out before the kill, up to a timeout earlier).
            assertThat(reported).isGreaterThanOrEqualTo(JUMP.toSeconds() + LEASE.toSeconds() - 0.1)
                    .isLessThanOrEqualTo(JUMP.toSeconds() + TimeUnit.NANOSECONDS.toMillis(realOutage) / 1000.0 + LEASE.toSeconds());
            assertThat(reachLines(log, Level.WARNING)).hasSize(2);
            assertThat(log.messages(Level.ALL)).filteredOn(l -> l.startsWith("Redis at ")).hasSize(2);
        }
    }

    /** A paused Redis (SIGSTOP) with a password: the reason is a timeout, and no line shows the password. */
    @Test
    void aPausedRedisIsSaidNotToAnswerWithoutItsPassword() {
        try (RedisProcess redis = RedisProcess.startWithLogin(List.of("s3cret-pw"), "--requirepass", "s3cret-pw");
             LogRecorder log = LogRecorder.of(LockService.class);
             LockService service = LockService.connect("redis://:s3cret-pw@127.0.0.1:" + redis.port(),
                     LockConfig.builder().lease(LEASE).build())) {
            redis.pause();
            try {
                await().atMost(Await.seconds(10)).until(() -> !reachLines(log, Level.WARNING).isEmpty());
                assertThat(service.redisUp()).isFalse();
            } finally {
                redis.resume();
            }
            await().atMost(Await.seconds(10)).until(service::redisUp);
            List<String> lines = reachLines(log, Level.WARNING);
            assertThat(lines).hasSize(2);
            assertThat(lines.get(0)).isEqualTo("Redis at 127.0.0.1:" + redis.port() + " does not answer (no answer within 500 ms: paused, overloaded, or unreachable): locks cannot be taken or renewed until it does");
            assertThat(lines.get(1)).contains(" answers again, after ");
            assertThat(String.join("\n", log.messages(Level.ALL))).doesNotContain("s3cret");
        }
    }

    /** Units: an error answer is a refusal, not silence; a failure older than the last answer says nothing. */
    @Test
    void anErrorAnswerIsARefusalAndAnOldFailureIsNoNews() {
        FakeTime time = new FakeTime();
        try (LogRecorder log = LogRecorder.of(LockService.class)) {
            RedisReach reach = new RedisReach(time, "Redis at h:1", 500);
            reach.answered(time.read());
            time.advance(Duration.ofSeconds(1));
            reach.failed(new RedisException("OOM command not allowed when used memory > 'maxmemory'."), time.read());
            assertThat(reach.up()).isFalse();
            time.advance(Duration.ofSeconds(2));
            long before = time.read();
            time.advance(Duration.ofMillis(100));
            reach.answered(time.read());
            reach.failed(new RedisTimeoutException("timeout"), before); // sent before the answered one
            assertThat(reach.up()).isTrue();
            assertThat(reachLines(log, Level.WARNING)).containsExactly(
                    "Redis at h:1 refuses this node's commands (OOM command not allowed when used memory > 'maxmemory'.): locks cannot "
                            + "be taken or renewed until it does",
                    "Redis at h:1 answers again, after 2.1 s without an answer");
        }
    }

    /** This feature's lines among the service's, at exactly {@code level}: those about Redis at an address. */
    private static List<String> reachLines(LogRecorder log, Level level) {
        return log.records().stream().filter(r -> r.getLevel().equals(level))
                .map(r -> r.getParameters() == null ? r.getMessage() : MessageFormat.format(r.getMessage(), r.getParameters()))
                .filter(l -> l.startsWith("Redis at ")).toList();
    }
}
