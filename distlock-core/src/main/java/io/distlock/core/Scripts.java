package io.distlock.core;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

import org.redisson.api.RScript;
import org.redisson.api.RScript.Mode;
import org.redisson.api.RScript.ReturnType;

/**
 * Runs {@link LuaScript}s: EVALSHA, and what to do when Redis does not know the script
 * (NOSCRIPT, after a restart emptied its script cache): EVAL for a lone script, SCRIPT LOAD then
 * the batch again for a batch. Failures become {@link BackendUnavailableException}s.
 */
final class Scripts {

    private final RScript script;
    private final boolean cluster;

    Scripts(RScript script, boolean cluster) {
        this.script = script;
        this.cluster = cluster;
    }

    /**
     * Runs a batch, and once more after loading {@code scripts} if it failed with NOSCRIPT.
     *
     * <p>Batched scripts need this; lone ones fall back to EVAL ({@link #eval}). A batch sends
     * EVALSHA, never EVAL: for an EVAL in a batch, Redisson 4.7 first sends SCRIPT LOAD in a batch
     * of its own with the client's defaults (3 s, resent 4 times), whatever the batch's options
     * say, so a silent Redis held such a batch for ~20 s instead of the service's command timeout
     * (found 2026-12-04: a failed lock's undo, and so its {@code FAIL}, came 20 s late). Redisson 4.7
     * remembers which scripts a Redis has loaded in one map per JVM, by address, and forgets an
     * address only when a connection of a running client to it drops. A Redis started anew at an
     * address while none of this JVM's clients was connected to it (a client that was shut down,
     * a test's Redis on a port an earlier one had) is taken for the old one: Redisson batches
     * EVALSHA without loading the script, and every such batch fails with NOSCRIPT until the
     * script is loaded some other way.
     */
    <T> CompletionStage<T> loadingOnNoScript(Supplier<CompletionStage<T>> batch, List<?> keys, LuaScript... scripts) {
        return againOnNoScript(batch, () -> load(keys, scripts).thenCompose(loaded -> batch.get()));
    }

    /** {@code first}, and if it fails with NOSCRIPT, {@code again}; failures become {@link RedisLockStore#backendFailure}s. */
    private static <T> CompletionStage<T> againOnNoScript(Supplier<CompletionStage<T>> first, Supplier<CompletionStage<T>> again) {
        CompletableFuture<T> result = new CompletableFuture<>();
        first.get().whenComplete((r, e) -> {
            if (e == null) {
                result.complete(r);
            } else if (isNoScript(e)) {
                again.get().whenComplete((r2, e2) -> {
                    if (e2 == null) {
                        result.complete(r2);
                    } else {
                        result.completeExceptionally(RedisLockStore.backendFailure(e2));
                    }
                });
            } else {
                result.completeExceptionally(RedisLockStore.backendFailure(e));
            }
        });
        return result;
    }

    /** SCRIPT LOAD of each script on the primary of each of {@code keys} (once per hash slot), not on replicas. */
    CompletionStage<Void> load(List<?> keys, LuaScript... scripts) {
        Set<Integer> slots = new HashSet<>();
        List<CompletableFuture<?>> loads = new ArrayList<>();
        for (Object key : keys) {
            if (slots.add(cluster ? ClusterSlots.slot((String) key) : 0)) {
                for (LuaScript s : scripts) {
                    loads.add(script.scriptLoadAsync((String) key, s.text).toCompletableFuture());
                }
            }
        }
        return CompletableFuture.allOf(loads.toArray(CompletableFuture[]::new));
    }

    /** EVALSHA, falling back to EVAL (which caches the script) after a Redis restart emptied its script cache. */
    <R> CompletionStage<R> eval(LuaScript s, ReturnType type, List<Object> keys, Object... args) {
        return againOnNoScript(() -> script.<R>evalShaAsync(Mode.READ_WRITE, s.sha, type, keys, args),
                () -> script.<R>evalAsync(Mode.READ_WRITE, s.text, type, keys, args));
    }

    static boolean isNoScript(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("NOSCRIPT")) {
                return true;
            }
        }
        return false;
    }
}
