package io.distlock.bench;

import java.util.Locale;

import picocli.CommandLine;

/** What the sessions of a bench run do. */
enum Scenario {
    /** Each session locks and unlocks names of its own, one request in flight per session. */
    UNCONTENDED,
    /**
     * Sessions compete for a few hot names: {@code WAIT}, then ask again on {@code RETRY}, as a
     * browser does; with {@code --wait}, {@code QUEUED} and then {@code GRANTED}.
     */
    CONTENDED,
    /** Mostly names of their own, some hot names, some {@code mlock}s of three names. */
    MIXED,
    /** Readers (shared) and writers (exclusive) on a few hot names. */
    SHARED,
    /** Sessions connect, take one lock each and sit: for the server's memory per session. */
    IDLE;

    String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether sessions compete for hot names. */
    boolean hasHotNames() {
        return this == CONTENDED || this == MIXED || this == SHARED;
    }

    /** {@code --scenario uncontended}: the lower-case names, as the issue writes them. */
    static final class Converter implements CommandLine.ITypeConverter<Scenario> {
        @Override
        public Scenario convert(String value) {
            for (Scenario s : values()) {
                if (s.wire().equalsIgnoreCase(value)) {
                    return s;
                }
            }
            throw new CommandLine.TypeConversionException(
                    "'" + value + "' is not a scenario: uncontended, contended, mixed, shared or idle");
        }
    }
}
