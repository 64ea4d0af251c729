package io.distlock.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The answer to {@link LockSession#lockAll(java.util.Collection)}: all of the locks or none.
 */
public sealed interface MultiLockResult permits MultiLockResult.Locked, MultiLockResult.Waiting, Refused {

    /**
     * The session holds every requested lock.
     *
     * @param tokens each lock's fencing token, in request order
     */
    record Locked(Map<String, Long> tokens) implements MultiLockResult {
        public Locked {
            tokens = Collections.unmodifiableMap(new LinkedHashMap<>(tokens));
        }
    }

    /**
     * At least one lock is held by another session, so none was taken. The session will be
     * told {@link LockListener#retry(String)} once for each of these locks.
     *
     * @param holders the locks held by others, with their holders' names; during the quarantine
     *                after a possible loss of Redis data, the free locks requested, with the
     *                holder {@link LockResult.Waiting#RECOVERING}
     */
    record Waiting(Map<String, String> holders) implements MultiLockResult {
        public Waiting {
            holders = Collections.unmodifiableMap(new LinkedHashMap<>(holders));
        }
    }
}
