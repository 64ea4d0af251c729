package io.distlock.bench;

import java.util.Arrays;

/**
 * The grants one session received and when it gave them back, as seen by the bench: a grant
 * is stamped when its {@code LOCKED} reply arrives, its release when the {@code unlock} is
 * sent. Both stamps lie inside the time the server really held the lock for the session
 * (the grant happened before its reply arrived; the release happens after the unlock is
 * sent), so two of them that overlap prove that two sessions held one lock at once.
 * Not thread-safe: one session's callbacks run one at a time.
 */
final class History {

    /** A grant not given back when the run ended. */
    static final long NEVER = Long.MAX_VALUE;

    private int size;
    private int[] names = new int[256];
    private long[] tokens = new long[256];
    private long[] granted = new long[256];
    private long[] released = new long[256];
    private int openFrom = -1;
    private int openCount;

    /** The session got {@code nameIds} with {@code tokens} (0: the target has no tokens) at {@code atNanos}. */
    void grant(int[] nameIds, long[] grantTokens, long atNanos) {
        if (openCount > 0) {
            release(atNanos); // not expected: a session holds one acquisition at a time
        }
        openFrom = size;
        openCount = nameIds.length;
        for (int i = 0; i < nameIds.length; i++) {
            add(nameIds[i], grantTokens[i], atNanos);
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

    long granted(int i) {
        return granted[i];
    }

    long released(int i) {
        return released[i];
    }

    private void add(int name, long token, long at) {
        if (size == names.length) {
            int n = size * 2;
            names = Arrays.copyOf(names, n);
            tokens = Arrays.copyOf(tokens, n);
            granted = Arrays.copyOf(granted, n);
            released = Arrays.copyOf(released, n);
        }
        names[size] = name;
        tokens[size] = token;
        granted[size] = at;
        released[size] = NEVER;
        size++;
    }
}
