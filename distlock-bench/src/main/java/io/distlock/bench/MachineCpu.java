package io.distlock.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's CPU time so far, from the first line of Linux's {@code /proc/stat}: how busy the
 * machine was during a phase, to tell apart from what the benchmark's own processes used.
 *
 * <p>Busy is user, nice and system time: what processes use. Interrupt time is left out, as the
 * processes' own CPU times leave it out (the kernel's work for loopback traffic lands there).
 * Steal is what the hypervisor gave to other machines: on a shared host the other tenants.
 *
 * @param busySeconds  CPU seconds spent in processes, all cores together; NaN where unknown
 * @param stealSeconds CPU seconds stolen by the hypervisor; NaN where unknown
 */
record MachineCpu(double busySeconds, double stealSeconds) {

    static final MachineCpu UNKNOWN = new MachineCpu(Double.NaN, Double.NaN);
    /** {@code /proc/stat} counts in USER_HZ, 100 per second in Linux's ABI on every architecture it runs the JDK on. */
    private static final double TICKS_PER_SECOND = 100;
    private static final Path PROC_STAT = Path.of("/proc/stat");

    /** Now; {@link #UNKNOWN} where there is no {@code /proc/stat}. */
    static MachineCpu read() {
        try {
            return Files.isReadable(PROC_STAT) ? parse(Files.readAllLines(PROC_STAT).get(0)) : UNKNOWN;
        } catch (IOException | UncheckedIOException e) {
            return UNKNOWN;
        }
    }

    /** {@code cpu  user nice system idle iowait irq softirq steal ...}; {@link #UNKNOWN} for anything else. */
    static MachineCpu parse(String line) {
        String[] f = line.trim().split("\\s+");
        if (f.length < 9 || !f[0].equals("cpu")) {
            return UNKNOWN;
        }
        try {
            long busy = Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3]);
            return new MachineCpu(busy / TICKS_PER_SECOND, Long.parseLong(f[8]) / TICKS_PER_SECOND);
        } catch (NumberFormatException e) {
            return UNKNOWN;
        }
    }

    /** What was used between {@code before} and this reading. */
    MachineCpu since(MachineCpu before) {
        return new MachineCpu(busySeconds - before.busySeconds, stealSeconds - before.stealSeconds);
    }
}
