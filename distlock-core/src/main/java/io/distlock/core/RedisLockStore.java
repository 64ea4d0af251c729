package io.distlock.core;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

import org.redisson.api.BatchOptions;
import org.redisson.api.RBatch;
import org.redisson.api.RFuture;
import org.redisson.api.RScript;
import org.redisson.api.RScript.Mode;
import org.redisson.api.RScript.ReturnType;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;

/**
 * Every Redis command the core sends. One lock is one hash, {@code <prefix>:lock:<name>}:
 *
 * <ul>
 *   <li>{@code owner}: the holding session's id (absent when free),</li>
 *   <li>{@code holder}: the holding session's name, for {@code Waiting},</li>
 *   <li>{@code token}: the last fencing token granted,</li>
 *   <li>{@code w}: present if someone was told to wait, so the release must be published.</li>
 * </ul>
 *
 * While held the key expires after the lease; once released it keeps only {@code token}
 * and expires after the token memory. A release that somebody waits for is published on
 * {@code <prefix>:released} as {@code <token>:<release time, µs of the Redis clock>:<name>}.
 *
 * <p>Each operation is one Lua script, so that the grant and its token, the refusal and
 * the holder's name, the all-or-nothing multi-lock and the publish-on-release are atomic.
 * Why not Redisson's {@code RLock} or {@code RFencedLock}: they count re-entries (the
 * protocol's re-lock is not counted), cannot say who holds a lock, leave one token key per
 * name forever, and need several round trips for a multi-lock.
 */
final class RedisLockStore {

    /** Lock: {@code {1, token}} or {@code {0, holder, token, pttl}}. */
    private static final Script LOCK = new Script("""
            local cur = redis.call('HMGET', KEYS[1], 'owner', 'token', 'holder')
            if cur[1] == ARGV[1] then
              redis.call('PEXPIRE', KEYS[1], ARGV[3])
              return {1, cur[2]}
            end
            if cur[1] then
              redis.call('HSET', KEYS[1], 'w', '1')
              return {0, cur[3], cur[2], redis.call('PTTL', KEYS[1])}
            end
            local now = redis.call('TIME')
            local token = string.format('%.0f', math.max((tonumber(cur[2]) or 0) + 1, now[1] * 1000000 + now[2]))
            redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'holder', ARGV[2], 'token', token)
            redis.call('PEXPIRE', KEYS[1], ARGV[3])
            return {1, token}
            """);

    /** Lock all: {@code {1, token...}} in key order, or {@code {0, (index, holder, token, pttl)...}}. */
    private static final Script LOCK_ALL = new Script("""
            local conflicts = {}
            for i, key in ipairs(KEYS) do
              local cur = redis.call('HMGET', key, 'owner', 'token', 'holder')
              if cur[1] and cur[1] ~= ARGV[1] then
                redis.call('HSET', key, 'w', '1')
                table.insert(conflicts, i)
                table.insert(conflicts, cur[3])
                table.insert(conflicts, cur[2])
                table.insert(conflicts, redis.call('PTTL', key))
              end
            end
            if #conflicts > 0 then
              table.insert(conflicts, 1, 0)
              return conflicts
            end
            local now = redis.call('TIME')
            local clock = now[1] * 1000000 + now[2]
            local result = {1}
            for i, key in ipairs(KEYS) do
              local cur = redis.call('HMGET', key, 'owner', 'token')
              local token = cur[2]
              if cur[1] ~= ARGV[1] then
                token = string.format('%.0f', math.max((tonumber(cur[2]) or 0) + 1, clock))
                redis.call('HSET', key, 'owner', ARGV[1], 'holder', ARGV[2], 'token', token)
              end
              redis.call('PEXPIRE', key, ARGV[3])
              table.insert(result, token)
            end
            return result
            """);

    /** Unlock: 1, or 0 if not the owner (nothing changed). */
    private static final Script UNLOCK = new Script("""
            local cur = redis.call('HMGET', KEYS[1], 'owner', 'token', 'w')
            if cur[1] ~= ARGV[1] then
              return 0
            end
            redis.call('HDEL', KEYS[1], 'owner', 'holder', 'w')
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            if cur[3] then
              local now = redis.call('TIME')
              redis.call('PUBLISH', ARGV[3], cur[2] .. ':' .. now[1] .. string.format('%06d', now[2]) .. ':' .. ARGV[4])
            end
            return 1
            """);

    /** Unlock all: 1, or 0 if any is not owned (nothing changed). ARGV[4..] are the names. */
    private static final Script UNLOCK_ALL = new Script("""
            for i, key in ipairs(KEYS) do
              if redis.call('HGET', key, 'owner') ~= ARGV[1] then
                return 0
              end
            end
            local now = redis.call('TIME')
            local releasedAt = now[1] .. string.format('%06d', now[2])
            for i, key in ipairs(KEYS) do
              local cur = redis.call('HMGET', key, 'token', 'w')
              redis.call('HDEL', key, 'owner', 'holder', 'w')
              redis.call('PEXPIRE', key, ARGV[2])
              if cur[2] then
                redis.call('PUBLISH', ARGV[3], cur[1] .. ':' .. releasedAt .. ':' .. ARGV[3 + i])
              end
            end
            return 1
            """);

    /** Renew: 1, or 0 if this owner no longer holds the lock. */
    private static final String RENEW = """
            if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
              return 1
            end
            return 0
            """;

    /** Peek: {@code {owner or '', token or '', pttl}}. */
    private static final Script PEEK = new Script("""
            local cur = redis.call('HMGET', KEYS[1], 'owner', 'token')
            return {cur[1] or '', cur[2] or '', redis.call('PTTL', KEYS[1])}
            """);

    /** What a lock looks like in Redis: {@code owner} is empty when the lock is free. */
    record LockState(String owner, long token, long pttlMillis) {
        boolean free() {
            return owner.isEmpty();
        }
    }

    /** One lock held by another session, as seen by a lock attempt. */
    record Conflict(String lock, String holder, long token, long pttlMillis) { }

    /** The answer of a lock attempt: tokens if granted, otherwise the conflicts. */
    record Attempt(List<Long> tokens, List<Conflict> conflicts) {
        boolean granted() {
            return conflicts.isEmpty();
        }
    }

    private final RedissonClient redisson;
    private final RScript script;
    private final String lockKeyPrefix;
    private final String channel;
    private final String leaseMillis;
    private final String tokenMemoryMillis;

    RedisLockStore(RedissonClient redisson, LockConfig config) {
        this.redisson = redisson;
        this.script = redisson.getScript(StringCodec.INSTANCE);
        this.lockKeyPrefix = config.keyPrefix() + ":lock:";
        this.channel = config.keyPrefix() + ":released";
        this.leaseMillis = Long.toString(config.lease().toMillis());
        this.tokenMemoryMillis = Long.toString(config.tokenMemory().toMillis());
    }

    /** The pub/sub channel that carries {@code <token>:<released at µs>:<name>} for every release somebody waits for. */
    String channel() {
        return channel;
    }

    String key(String lock) {
        return lockKeyPrefix + lock;
    }

    CompletionStage<Attempt> lock(String owner, String holder, String lock) {
        return this.<List<Object>>eval(LOCK, ReturnType.LIST, List.of(key(lock)), owner, holder, leaseMillis)
                .thenApply(r -> asLong(r.get(0)) == 1
                        ? new Attempt(List.of(asLong(r.get(1))), List.of())
                        : new Attempt(List.of(), List.of(new Conflict(lock, asString(r.get(1)), asLong(r.get(2)), asLong(r.get(3))))));
    }

    CompletionStage<Attempt> lockAll(String owner, String holder, List<String> locks) {
        return this.<List<Object>>eval(LOCK_ALL, ReturnType.LIST, keys(locks), owner, holder, leaseMillis)
                .thenApply(r -> {
                    if (asLong(r.get(0)) == 1) {
                        List<Long> tokens = new ArrayList<>(locks.size());
                        for (int i = 1; i < r.size(); i++) {
                            tokens.add(asLong(r.get(i)));
                        }
                        return new Attempt(tokens, List.of());
                    }
                    List<Conflict> conflicts = new ArrayList<>();
                    for (int i = 1; i + 3 < r.size(); i += 4) {
                        String lock = locks.get((int) asLong(r.get(i)) - 1);
                        conflicts.add(new Conflict(lock, asString(r.get(i + 1)), asLong(r.get(i + 2)), asLong(r.get(i + 3))));
                    }
                    return new Attempt(List.of(), conflicts);
                });
    }

    /** True if released, false if this owner did not hold it (nothing changed). */
    CompletionStage<Boolean> unlock(String owner, String lock) {
        return this.<Long>eval(UNLOCK, ReturnType.LONG, List.of(key(lock)), owner, tokenMemoryMillis, channel, lock)
                .thenApply(r -> r == 1L);
    }

    /** True if all released, false if any was not held by this owner (nothing changed). */
    CompletionStage<Boolean> unlockAll(String owner, List<String> locks) {
        Object[] args = new Object[3 + locks.size()];
        args[0] = owner;
        args[1] = tokenMemoryMillis;
        args[2] = channel;
        for (int i = 0; i < locks.size(); i++) {
            args[3 + i] = locks.get(i);
        }
        return this.<Long>eval(UNLOCK_ALL, ReturnType.LONG, keys(locks), args).thenApply(r -> r == 1L);
    }

    CompletionStage<LockState> peek(String lock) {
        return this.<List<Object>>eval(PEEK, ReturnType.LIST, List.of(key(lock)))
                .thenApply(r -> {
                    String token = asString(r.get(1));
                    return new LockState(asString(r.get(0)), token.isEmpty() ? 0 : Long.parseLong(token), asLong(r.get(2)));
                });
    }

    /**
     * Renews many locks in one pipelined round trip per Redis node (Redisson splits a batch
     * by node in a cluster). Each stage answers whether the lock was still this owner's.
     */
    List<CompletionStage<Boolean>> renew(List<String> owners, List<String> locks) {
        RBatch batch = redisson.createBatch(BatchOptions.defaults());
        List<CompletionStage<Boolean>> results = new ArrayList<>(locks.size());
        for (int i = 0; i < locks.size(); i++) {
            RFuture<Long> renewed = batch.getScript(StringCodec.INSTANCE)
                    .evalAsync(Mode.READ_WRITE, RENEW, ReturnType.LONG, List.of(key(locks.get(i))), owners.get(i), leaseMillis);
            results.add(renewed.handle((r, e) -> {
                if (e != null) {
                    throw backendFailure(e);
                }
                return r == 1L;
            }));
        }
        batch.executeAsync();
        return results;
    }

    /**
     * Releases many locks of one or more owners in one pipelined round trip per node,
     * not all-or-nothing: for closing sessions.
     */
    CompletionStage<Void> releaseAll(String owner, List<String> locks) {
        if (locks.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        RBatch batch = redisson.createBatch(BatchOptions.defaults());
        for (String lock : locks) {
            batch.getScript(StringCodec.INSTANCE).evalAsync(Mode.READ_WRITE, UNLOCK.text, ReturnType.LONG,
                    List.of(key(lock)), owner, tokenMemoryMillis, channel, lock);
        }
        return batch.executeAsync().handle((r, e) -> {
            if (e != null) {
                throw backendFailure(e);
            }
            return null;
        });
    }

    private List<Object> keys(List<String> locks) {
        List<Object> keys = new ArrayList<>(locks.size());
        for (String lock : locks) {
            keys.add(key(lock));
        }
        return keys;
    }

    /** EVALSHA, falling back to EVAL (which caches the script) after a Redis restart emptied its script cache. */
    private <R> CompletionStage<R> eval(Script s, ReturnType type, List<Object> keys, Object... args) {
        CompletableFuture<R> result = new CompletableFuture<>();
        script.<R>evalShaAsync(Mode.READ_WRITE, s.sha, type, keys, args).whenComplete((r, e) -> {
            if (e == null) {
                result.complete(r);
            } else if (isNoScript(e)) {
                script.<R>evalAsync(Mode.READ_WRITE, s.text, type, keys, args).whenComplete((r2, e2) -> {
                    if (e2 == null) {
                        result.complete(r2);
                    } else {
                        result.completeExceptionally(backendFailure(e2));
                    }
                });
            } else {
                result.completeExceptionally(backendFailure(e));
            }
        });
        return result;
    }

    private static boolean isNoScript(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("NOSCRIPT")) {
                return true;
            }
        }
        return false;
    }

    static BackendUnavailableException backendFailure(Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof BackendUnavailableException b) {
            return b;
        }
        return new BackendUnavailableException("Redis did not answer: " + cause.getMessage(), cause);
    }

    private static long asLong(Object o) {
        return o instanceof Long l ? l : Long.parseLong(String.valueOf(o));
    }

    private static String asString(Object o) {
        return o == null ? "" : String.valueOf(o);
    }

    private static final class Script {
        final String text;
        final String sha;

        Script(String text) {
            this.text = text;
            this.sha = sha1(text);
        }

        private static String sha1(String text) {
            try {
                byte[] digest = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
                return HexFormat.of().formatHex(digest);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-1 is required of every JVM", e);
            }
        }
    }
}
