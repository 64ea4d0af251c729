package io.distlock.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import io.distlock.core.CancelReason;
import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockMode;
import io.distlock.core.LockOptions;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.core.MultiLockResult;
import io.distlock.core.Refused;

/**
 * {@code --direct}: the core's {@link LockService} in this JVM, set up as the runnable server
 * sets up its own ({@link LockService#connect} with the default config, or watching off with
 * {@code --no-watching}): the same Redis
 * scripts, threads and ordering, without the WebSocket, the JSON and the network hop to the
 * server. A request that neither queues nor is shared takes version 1's calls
 * ({@code lock(name)}, {@code lockAll(names)}); the others {@code lock(name, LockOptions)} and
 * {@code lockAll(names, mode)}.
 */
final class ServiceTarget implements Target {

    private final LockService service;

    ServiceTarget(String redisUrl, boolean watching) {
        this.service = LockService.connect(redisUrl, LockConfig.builder().watching(watching).build());
    }

    @Override
    public String label() {
        return "direct";
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
        LockSession session = service.openSession(name, new LockListener() {
            @Override
            public void retry(String lock) {
                pushes.retry(lock);
            }

            @Override
            public void lost(String lock) {
                pushes.lost(lock);
            }

            @Override
            public void granted(String lock, long token, LockMode mode) {
                pushes.granted(lock, token, mode == LockMode.SHARED, -1);
            }

            @Override
            public void cancelled(String lock, CancelReason reason) {
                pushes.cancelled(lock, reason.reason());
            }
        });
        return CompletableFuture.completedFuture(new Session() {
            @Override
            public CompletionStage<Reply> lock(List<String> names, boolean shared, boolean wait) {
                if (names.size() == 1) {
                    if (!shared && !wait) {
                        return session.lock(names.get(0)).thenApply(ServiceTarget::reply);
                    }
                    LockOptions options = shared ? LockOptions.shared() : LockOptions.exclusive();
                    return session.lock(names.get(0), wait ? options.queue() : options).thenApply(ServiceTarget::reply);
                }
                return (shared ? session.lockAll(names, LockMode.SHARED) : session.lockAll(names)).thenApply(ServiceTarget::reply);
            }

            @Override
            public CompletionStage<Reply> unlock(List<String> names) {
                return (names.size() == 1 ? session.unlock(names.get(0)) : session.unlockAll(names))
                        .thenApply(r -> r instanceof Refused refused ? Reply.fail(refused.reason().name()) : Reply.OK);
            }

            @Override
            public CompletionStage<Void> close() {
                return session.closeAsync();
            }
        });
    }

    private static Reply reply(LockResult result) {
        if (result instanceof LockResult.Locked locked) {
            return Reply.locked(locked.token());
        }
        if (result instanceof LockResult.Waiting) {
            return Reply.WAIT;
        }
        if (result instanceof LockResult.Queued queued) {
            return Reply.queued(queued.position());
        }
        return Reply.fail(((Refused) result).reason().name());
    }

    private static Reply reply(MultiLockResult result) {
        if (result instanceof MultiLockResult.Locked locked) {
            return Reply.locked(new LinkedHashMap<String, Long>(locked.tokens()));
        }
        if (result instanceof MultiLockResult.Waiting) {
            return Reply.WAIT;
        }
        return Reply.fail(((Refused) result).reason().name());
    }

    @Override
    public void close() {
        service.close();
    }
}
