package io.distlock.testing;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Waits for stages with a deadline, scaled by {@code -Ddistlock.test.timeScale} for slow machines. */
public final class Await {

    private static final double SCALE = Double.parseDouble(System.getProperty("distlock.test.timeScale", "1"));

    private Await() { }

    /** A test time budget, scaled for slow machines. */
    public static Duration budget(Duration d) {
        return Duration.ofMillis((long) (d.toMillis() * SCALE));
    }

    public static Duration seconds(long s) {
        return budget(Duration.ofSeconds(s));
    }

    /** The stage's value, or an AssertionError if it fails or takes longer than 10 s. */
    public static <T> T result(CompletionStage<T> stage) {
        try {
            return stage.toCompletableFuture().get(seconds(10).toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (ExecutionException e) {
            throw new AssertionError("stage failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("stage did not complete in time", e);
        }
    }
}
