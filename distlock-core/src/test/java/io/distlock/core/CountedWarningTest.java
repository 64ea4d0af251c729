package io.distlock.core;

import static io.distlock.testing.Await.seconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.lang.System.Logger.Level;
import java.text.MessageFormat;
import java.time.Duration;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

import io.distlock.testing.LogRecorder;

/** The counted warning's lines: the 1st, 2nd, 4th, 8th... occurrence, and starting over. */
class CountedWarningTest {

    private static final Duration QUIET = Duration.ofMinutes(1);

    @Test
    void logsThePowersOfTwoAndStartsOverAfterAQuietTime() {
        AtomicLong now = new AtomicLong(1_000);
        try (LogRecorder log = LogRecorder.of(CountedWarningTest.class)) {
            CountedWarning warning = new CountedWarning(System.getLogger(CountedWarningTest.class.getName()), Level.INFO,
                    now::get, QUIET, "first: {0}", "{0} so far: {1}");
            for (int i = 1; i <= 8; i++) {
                warning.happened("e" + i);
                now.addAndGet(QUIET.toNanos()); // exactly the quiet time apart: still the same trouble
            }
            assertThat(log.messages(java.util.logging.Level.INFO)).containsExactly("first: e1", "2 so far: e2", "4 so far: e4",
                    "8 so far: e8");

            now.addAndGet(1); // one more than the quiet time since the last
            warning.happened("later");
            assertThat(log.messages(java.util.logging.Level.INFO)).last().isEqualTo("first: later");
        }
    }

    @Test
    void withoutATickerOnlyResetStartsOver() {
        try (LogRecorder log = LogRecorder.of(CountedWarningTest.class)) {
            CountedWarning warning = new CountedWarning(System.getLogger(CountedWarningTest.class.getName()),
                    "first: {0}", "{0} so far: {1}");
            warning.happened("a");
            warning.happened("b");
            warning.reset();
            warning.happened("c");
            assertThat(log.messages(java.util.logging.Level.WARNING)).containsExactly("first: a", "2 so far: b", "first: c");
        }
    }

    /**
     * Found by a flaky ResumeTest.recordsRedisLostAreLoggedOnceForMany (2026-12-07): a renewal tick finds every lost
     * record at once, on several of Redisson's threads; the 8th occurrence's line was written while the 4th's was
     * still on its way, so the last line said "4 so far". Here the 4th's line is held until the thread with the 5th to
     * 8th has finished, or waits for it.
     */
    @Test
    void linesComeInTheOrderOfTheirCounts() throws InterruptedException {
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread[] others = new Thread[1];
        CountedWarning[] warning = new CountedWarning[1];
        System.Logger logger = new System.Logger() {
            @Override
            public String getName() {
                return "test";
            }

            @Override
            public boolean isLoggable(Level level) {
                return true;
            }

            @Override
            public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
                lines.add(msg);
            }

            @Override
            public void log(Level level, ResourceBundle bundle, String format, Object... params) {
                if (Long.valueOf(4).equals(params[0])) {
                    others[0] = new Thread(() -> {
                        for (int i = 5; i <= 8; i++) {
                            warning[0].happened("e" + i);
                        }
                    });
                    others[0].start();
                    await().atMost(seconds(5)).until(() -> others[0].getState() == Thread.State.BLOCKED
                            || others[0].getState() == Thread.State.TERMINATED);
                }
                lines.add(MessageFormat.format(format, params));
            }
        };
        warning[0] = new CountedWarning(logger, Level.INFO, () -> 1_000, QUIET, "first: {0}", "{0} so far: {1}");
        for (int i = 1; i <= 4; i++) {
            warning[0].happened("e" + i);
        }
        others[0].join(seconds(5).toMillis());
        assertThat(lines).containsExactly("first: e1", "2 so far: e2", "4 so far: e4", "8 so far: e8");
    }
}
