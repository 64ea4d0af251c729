package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The console's one-line format: what a terminal or a log viewer would act on is written out (review 2026-12-07). */
class ConsoleLoggingTest {

    @Test
    void aMessageStaysOneLineAndItsControlSeparatorAndFormatCharactersAreWrittenOut() {
        assertThat(ConsoleLogging.OneLine.oneLine("first\r\n  second\nthird")).isEqualTo("first second third");
        assertThat(ConsoleLogging.OneLine.oneLine("a\u001b[2Jb\u0000c\u0008d")).isEqualTo("a\\u001b[2Jb\\u0000c\\u0008d");
        assertThat(ConsoleLogging.OneLine.oneLine("x\u2028y\u2029z\u202eevil")).isEqualTo("x\\u2028y\\u2029z\\u202eevil");
        assertThat(ConsoleLogging.OneLine.oneLine("doc-42 é 日本 😀")).isEqualTo("doc-42 é 日本 😀");
        assertThat(ConsoleLogging.OneLine.oneLine(null)).isEmpty();
    }
}
