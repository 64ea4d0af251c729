package io.distlock.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class NamesTest {

    @Test
    void lengthIsCountedInCharactersNotUtf16Units() {
        String emoji = "🔒".repeat(10); // 20 UTF-16 units, 10 characters
        assertThat(Names.problem("lock name", emoji, 10)).isEmpty();
        assertThat(Names.problem("lock name", emoji + "x", 10)).hasValue("lock name is longer than 10 characters");
    }

    @Test
    void controlCharactersAndBrokenSurrogatesAreRefused() {
        assertThat(Names.problem("lock name", "a\u0000", 10)).hasValue("lock name contains a control character");
        assertThat(Names.problem("lock name", "a\u009f", 10)).hasValue("lock name contains a control character");
        assertThat(Names.problem("lock name", "a\udc00", 10)).hasValue("lock name contains an unpaired surrogate");
        assertThat(Names.problem("lock name", null, 10)).hasValue("lock name is empty");
    }

    @Test
    void ordinaryNamesPass() {
        assertThat(Names.problem("session", "user-1 (Zoë)", 128)).isEmpty();
        assertThat(Names.problem("lock name", "{doc-42}:section/3", 256)).isEmpty();
    }
}
