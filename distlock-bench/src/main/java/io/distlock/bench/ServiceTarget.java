package io.distlock.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

import io.distlock.core.LockConfig;
import io.distlock.core.LockListener;
import io.distlock.core.LockResult;
import io.distlock.core.LockService;
import io.distlock.core.LockSession;
import io.distlock.core.MultiLockResult;
import io.distlock.core.Refused;

/**
 * {@code --direct}: the core's {@link LockService} in this JVM, set up as the runnable server
 * sets up its own ({@link LockService#connect} with the default config): the same Redis
 * scripts, threads and ordering, without the WebSocket, the JSON and the network hop to the
 * server.
 */
final class ServiceTarget implements Target {

    private final LockService service;

    ServiceTarget(String redisUrl) {
        this.service = LockService.connect(redisUrl, LockConfig.defaults());
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
        });
        return CompletableFuture.completedFuture(new Session() {
            @Override
            public CompletionStage<Reply> lock(List<String> names) {
                if (names.size() == 1) {
                    return session.lock(names.get(0)).thenApply(ServiceTarget::reply);
                }
                return session.lockAll(names).thenApply(ServiceTarget::reply);
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
