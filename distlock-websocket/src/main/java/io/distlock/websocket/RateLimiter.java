package io.distlock.websocket;

import java.util.concurrent.TimeUnit;

/**
 * A token bucket for one connection's requests: {@code perSecond} sustained, {@code burst}
 * at once. A client that keeps sending once refused is flooding: more refusals than the
 * burst within one second. Time is passed in, so tests move it instead of sleeping.
 */
final class RateLimiter {

    enum Verdict { ALLOWED, LIMITED, FLOOD }

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private final double tokensPerNano;
    private final int burst;
    private double tokens; // guarded by this
    private long lastNanos; // guarded by this
    private long windowStartNanos; // guarded by this
    private int refusedInWindow; // guarded by this

    RateLimiter(int perSecond, int burst, long nowNanos) {
        this.tokensPerNano = perSecond / (double) SECOND;
        this.burst = burst;
        this.tokens = burst;
        this.lastNanos = nowNanos;
        this.windowStartNanos = nowNanos;
    }

    synchronized Verdict acquire(long nowNanos) {
        long elapsed = Math.max(0, nowNanos - lastNanos);
        tokens = Math.min(burst, tokens + elapsed * tokensPerNano);
        lastNanos = nowNanos;
        if (tokens >= 1) {
            tokens -= 1;
            return Verdict.ALLOWED;
        }
        if (nowNanos - windowStartNanos >= SECOND) {
            windowStartNanos = nowNanos;
            refusedInWindow = 0;
        }
        refusedInWindow++;
        return refusedInWindow > burst ? Verdict.FLOOD : Verdict.LIMITED;
    }
}
