package io.distlock.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Checks the histories of a run for mutual exclusion: per lock name, the grants sorted by
 * the time their reply arrived must each begin after every earlier one was given back
 * ({@link History} explains why an overlap of the bench's stamps is a real one), and a later
 * grant must carry a larger fencing token than the one before it.
 */
final class Violations {

    /** Grants that began while another session still held the lock. */
    final long overlaps;
    /** Grants whose token was not larger than the previous grant's. */
    final long tokenRegressions;
    /** Grants checked. */
    final long grants;

    private Violations(long overlaps, long tokenRegressions, long grants) {
        this.overlaps = overlaps;
        this.tokenRegressions = tokenRegressions;
        this.grants = grants;
    }

    long total() {
        return overlaps + tokenRegressions;
    }

    static Violations check(Collection<History> histories, int nameCount) {
        int total = 0;
        for (History h : histories) {
            total += h.size();
        }
        // Sort (name, grant time) keys with an index, without an object per grant.
        int[] perName = new int[nameCount + 1];
        for (History h : histories) {
            for (int i = 0; i < h.size(); i++) {
                perName[h.name(i) + 1]++;
            }
        }
        for (int n = 0; n < nameCount; n++) {
            perName[n + 1] += perName[n];
        }
        long[] granted = new long[total];
        long[] released = new long[total];
        long[] tokens = new long[total];
        int[] fill = Arrays.copyOf(perName, nameCount);
        for (History h : histories) {
            for (int i = 0; i < h.size(); i++) {
                int at = fill[h.name(i)]++;
                granted[at] = h.granted(i);
                released[at] = h.released(i);
                tokens[at] = h.token(i);
            }
        }
        long overlaps = 0;
        long regressions = 0;
        for (int n = 0; n < nameCount; n++) {
            int from = perName[n];
            int to = perName[n + 1];
            if (to - from < 2) {
                continue;
            }
            Integer[] order = new Integer[to - from];
            for (int i = 0; i < order.length; i++) {
                order[i] = from + i;
            }
            Arrays.sort(order, (a, b) -> Long.compare(granted[a], granted[b]));
            long heldUntil = released[order[0]];
            long lastToken = tokens[order[0]];
            for (int k = 1; k < order.length; k++) {
                int i = order[k];
                if (granted[i] < heldUntil) {
                    overlaps++;
                } else if (tokens[i] != 0 && lastToken != 0 && tokens[i] <= lastToken) {
                    regressions++;
                }
                heldUntil = Math.max(heldUntil, released[i]);
                lastToken = tokens[i];
            }
        }
        return new Violations(overlaps, regressions, total);
    }
}
