package io.distlock.websocket;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A warning that can happen again and again (an application's authorizer or authenticator that
 * throws on what a client sent, sessions closed while Redis does not answer): the first is logged
 * with its stack trace or detail, later ones only at the 2nd, 4th, 8th... time, with the count, so
 * that a client repeating a request, or a node closing all its connections, cannot flood the log
 * (found by review 2026-12-05: one stack trace per refused request, 200 a second from one
 * connection; one line per session closed without Redis, 10,000 for 10,000 connections).
 */
final class RepeatedWarning {

    private final Logger log;
    private final String message;
    private final AtomicLong count = new AtomicLong();

    RepeatedWarning(Logger log, String message) {
        this.log = log;
        this.message = message;
    }

    void happened(Throwable e) {
        long n = count.incrementAndGet();
        if (n == 1) {
            log.log(Level.WARNING, message, e);
        } else if ((n & (n - 1)) == 0) {
            log.log(Level.WARNING, message + " (" + n + " times so far; the first was logged with its stack trace; this time: "
                    + e.getClass().getName() + ")");
        }
    }

    /** As {@link #happened(Throwable)}, for a warning told in one line: {@code detail}, of this time. */
    void happened(String detail) {
        long n = count.incrementAndGet();
        if (n == 1) {
            log.log(Level.WARNING, message + ": " + detail);
        } else if ((n & (n - 1)) == 0) {
            log.log(Level.WARNING, message + " (" + n + " times so far; this time: " + detail + ")");
        }
    }

    /** Starts over (the trouble ended), so that the next time is logged as a first. */
    void reset() {
        if (count.get() != 0) {
            count.set(0);
        }
    }
}
