package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.System.Logger.Level;
import java.time.Duration;
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
}
