package io.distlock.faults;

import java.time.Duration;

/**
 * How long the scenarios run: short in every CI build, for minutes with {@code -Psoak}
 * (system property {@code distlock.faults.profile=soak}).
 */
final class FaultProfile {

    private FaultProfile() {
    }

    static boolean soak() {
        return "soak".equals(System.getProperty("distlock.faults.profile"));
    }

    static String name() {
        return soak() ? "soak" : "short";
    }

    /** A scenario's run time under load. */
    static Duration run(Duration shortRun, Duration soakRun) {
        return soak() ? soakRun : shortRun;
    }

    /** How many times a scenario injects its fault. */
    static int cycles(int shortCycles, int soakCycles) {
        return soak() ? soakCycles : shortCycles;
    }
}
