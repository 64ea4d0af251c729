package io.distlock.bench;

import java.util.Arrays;

/**
 * The grants one session received and when it gave them back, as seen by the bench. Each
 * grant carries four stamps, every one on the safe side of what happened on the server:
 *
 * <ul>
 *   <li>{@code sent}: when the request that was answered with the grant was sent: the grant (and,
 *       for a queued request, its joining the queue) happened after it;</li>
 *   <li>{@code queued}: for a request answered {@code QUEUED}, when that reply arrived: it joined
 *       the queue before (only when {@code position} is above 0);</li>
 *   <li>{@code granted}: when the {@code LOCKED} reply or {@code GRANTED} push arrived: the grant
 *       happened before;</li>
 *   <li>{@code released}: when the {@code unlock} was sent: the lock was held at least until then.</li>
 * </ul>
 *
 * <p>So {@code [granted, released]} lies inside the time the server really held the lock for the
 * session, and two of them that overlap prove that two sessions held one lock at once; see
 * {@link Violations} for what else the stamps prove. (The Redisson target answers a lock taken
 * while waiting at the next request, so its {@code sent} stamps may be late; it has neither
 * queue positions nor tokens, and only its overlaps are checked.)
 * Not thread-safe: one session's callbacks run one at a time.
 */
final class History {

    /** A grant not given back when the run ended. */
    static final long NEVER = Long.MAX_VALUE;

    private int size;
    private int[] names = new int[256];
    private long[] tokens = new long[256];
    private boolean[] shared = new boolean[256];
    private long[] sent = new long[256];
    private long[] queued = new long[256];
    private int[] positions = new int[256];
    private long[] granted = new long[256];
    private long[] released = new long[256];
    private int openFrom = -1;
    private int openCount;

    /** An exclusive grant of a request sent at {@code atNanos} and answered at once. */
    void grant(int[] nameIds, long[] grantTokens, long atNanos) {
        grant(nameIds, grantTokens, false, atNanos, 0, 0, atNanos);
    }

    /**
     * The session got {@code nameIds} with {@code tokens} (0: the target has no tokens) at {@code atNanos}.
     *
     * @param isShared   granted in shared mode
     * @param sentNanos  when the request that was granted was sent
     * @param queuedNanos when its {@code QUEUED} reply arrived (ignored unless {@code position > 0})
     * @param position   the {@code QUEUED} reply's position (1: next), 0 if the request was granted at once
     */
    void grant(int[] nameIds, long[] grantTokens, boolean isShared, long sentNanos, long queuedNanos, int position,
               long atNanos) {
        if (openCount > 0) {
            release(atNanos); // not expected: a session holds one acquisition at a time
        }
        openFrom = size;
        openCount = nameIds.length;
        for (int i = 0; i < nameIds.length; i++) {
            add(nameIds[i], grantTokens[i], isShared, sentNanos, queuedNanos, position, atNanos);
        }
    }

    /** The session gives back what it was granted last, at {@code atNanos}. */
    void release(long atNanos) {
        for (int i = openFrom; i < openFrom + openCount; i++) {
            released[i] = atNanos;
        }
        openCount = 0;
    }

    int size() {
        return size;
    }

    int name(int i) {
        return names[i];
    }

    long token(int i) {
        return tokens[i];
    }

    boolean shared(int i) {
        return shared[i];
    }

    long sent(int i) {
        return sent[i];
    }

    /** When the {@code QUEUED} reply arrived; meaningful only if {@link #position} is above 0. */
    long queued(int i) {
        return queued[i];
    }

    /** The {@code QUEUED} reply's position, or 0 for a grant answered at once. */
    int position(int i) {
        return positions[i];
    }

    long granted(int i) {
        return granted[i];
    }

    long released(int i) {
        return released[i];
    }

    private void add(int name, long token, boolean isShared, long sentAt, long queuedAt, int position, long at) {
        if (size == names.length) {
            int n = size * 2;
            names = Arrays.copyOf(names, n);
            tokens = Arrays.copyOf(tokens, n);
            shared = Arrays.copyOf(shared, n);
            sent = Arrays.copyOf(sent, n);
            queued = Arrays.copyOf(queued, n);
            positions = Arrays.copyOf(positions, n);
            granted = Arrays.copyOf(granted, n);
            released = Arrays.copyOf(released, n);
        }
        names[size] = name;
        tokens[size] = token;
        shared[size] = isShared;
        sent[size] = sentAt;
        queued[size] = queuedAt;
        positions[size] = position;
        granted[size] = at;
        released[size] = NEVER;
        size++;
    }
}
