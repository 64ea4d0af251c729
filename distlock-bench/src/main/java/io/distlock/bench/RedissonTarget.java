package io.distlock.bench;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

import org.redisson.Redisson;
import org.redisson.api.RLock;
import org.redisson.api.RReadWriteLock;
import org.redisson.api.RedissonClient;
import org.redisson.config.Config;

/**
 * {@code --redisson}: Redisson's own {@link RLock}, the floor under the core: {@code
 * tryLockAsync(threadId)} and {@code unlockAsync(threadId)} with one thread id per session
 * (so one logical owner acts from any thread, as a session does), the watchdog keeping the
 * lease; an {@code mlock} is a {@code RedissonMultiLock}. Redisson has no {@code WAIT} with a
 * later {@code RETRY}: a failed try answers {@code WAIT} and starts Redisson's own waiting
 * {@code lockAsync(threadId)} (a pub/sub subscription and re-tries); when that acquires the
 * lock the session is pushed {@code RETRY}, and its next {@code lock} answers {@code LOCKED}
 * at once. Redisson gives no fencing tokens: grants are checked for overlap only. The
 * client is configured as the core's {@code LockService.connect} configures its own.
 *
 * <p>With {@code readWrite} (the shared scenario) every name is a {@link RReadWriteLock}: shared
 * requests take its read lock, exclusive ones its write lock. Phases that queue ({@code --wait})
 * run Redisson the same way: its {@code lockAsync} already is a wait in its own queue of
 * subscribers, the baseline a queued grant is compared with.
 */
final class RedissonTarget implements Target {

    private static final AtomicLong OWNERS = new AtomicLong(1L << 40);

    private final RedissonClient redisson;
    private final boolean readWrite;

    /** @param readWrite every name a {@link RReadWriteLock} (for shared requests), rather than an {@link RLock} */
    RedissonTarget(String redisUrl, boolean readWrite) {
        this.readWrite = readWrite;
        Config config = new Config();
        int cores = Runtime.getRuntime().availableProcessors();
        config.setNettyThreads(Math.max(4, 2 * cores));
        config.setThreads(Math.max(2, cores));
        config.useSingleServer().setAddress(redisUrl);
        this.redisson = Redisson.create(config);
    }

    @Override
    public String label() {
        return "redisson";
    }

    @Override
    public int nodes() {
        return 1;
    }

    @Override
    public int nodeOf(int index) {
        return 0;
    }

    @Override
    public CompletionStage<Session> open(int index, String name, Pushes pushes) {
        return CompletableFuture.completedFuture(new RedissonSession(OWNERS.incrementAndGet(), pushes));
    }

    @Override
    public void close() {
        redisson.shutdown();
    }

    private final class RedissonSession implements Session {
        private final long threadId;
        private final Pushes pushes;
        private final Map<String, RLock> locks = new HashMap<>();
        private volatile List<String> acquiredWhileWaiting;
        private volatile boolean lastShared; // the mode of the last lock request, for its unlock

        RedissonSession(long threadId, Pushes pushes) {
            this.threadId = threadId;
            this.pushes = pushes;
        }

        private synchronized RLock lockOf(List<String> names, boolean shared) {
            if (names.size() == 1) {
                return part(names.get(0), shared);
            }
            RLock[] parts = new RLock[names.size()];
            for (int i = 0; i < parts.length; i++) {
                parts[i] = part(names.get(i), shared);
            }
            return redisson.getMultiLock(parts);
        }

        private RLock part(String name, boolean shared) {
            if (!readWrite) {
                return locks.computeIfAbsent(name, redisson::getLock);
            }
            return locks.computeIfAbsent((shared ? "r:" : "w:") + name, k -> {
                RReadWriteLock rw = redisson.getReadWriteLock(name);
                return shared ? rw.readLock() : rw.writeLock();
            });
        }

        @Override
        public CompletionStage<Reply> lock(List<String> names, boolean shared, boolean wait) {
            List<String> acquired = acquiredWhileWaiting;
            if (acquired != null && acquired.equals(names)) {
                acquiredWhileWaiting = null;
                lastShared = shared;
                return CompletableFuture.completedFuture(locked(names));
            }
            lastShared = shared;
            RLock lock = lockOf(names, shared);
            return lock.tryLockAsync(threadId).thenApply(ok -> {
                if (ok) {
                    return locked(names);
                }
                lock.lockAsync(threadId).whenComplete((v, e) -> {
                    if (e == null) {
                        acquiredWhileWaiting = names;
                    }
                    pushes.retry(names.get(0));
                });
                return Reply.WAIT;
            });
        }

        @Override
        public CompletionStage<Reply> unlock(List<String> names) {
            return lockOf(names, lastShared).unlockAsync(threadId).handle((v, e) -> e == null ? Reply.OK : Reply.fail("NOT_OWNER"));
        }

        @Override
        public CompletionStage<Void> close() {
            return CompletableFuture.completedFuture(null);
        }

        private Reply locked(List<String> names) {
            if (names.size() == 1) {
                return Reply.locked(0);
            }
            Map<String, Long> tokens = new HashMap<>();
            names.forEach(n -> tokens.put(n, 0L));
            return Reply.locked(tokens);
        }
    }
}
