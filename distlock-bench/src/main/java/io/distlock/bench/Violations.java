package io.distlock.bench;

import java.util.Arrays;
import java.util.Collection;

/**
 * Checks the histories of a run, per lock name, from the stamps {@link History} describes
 * (each on the safe side of what happened on the server, so every violation counted is proven
 * by what the sessions saw; none is a guess):
 *
 * <ul>
 *   <li><b>Exclusion.</b> Grants sorted by the time their reply arrived must each begin after every
 *       earlier grant they are incompatible with was given back: an exclusive grant after every
 *       earlier grant, a shared one after every earlier exclusive one. Shared grants may overlap.</li>
 *   <li><b>Token order.</b> A grant known to come after another carries a larger fencing token:
 *       of two incompatible grants the one that arrived first came first; of two shared grants,
 *       one given back before the other was asked for came first. (Shared grants handed over
 *       together in one script arrive in any order; nothing is concluded from theirs.)</li>
 *   <li><b>FIFO, by time.</b> A request whose {@code QUEUED} arrived before another request was
 *       sent had joined the queue before that one was made, so that one, queued or answered at
 *       once, must not be granted first. Between incompatible grants the first to arrive was the
 *       first granted; two shared requests may be granted together, and are not compared.</li>
 *   <li><b>FIFO, by position.</b> A request queued at position {@code p} had {@code p - 1}
 *       requests before it, none granted yet when it was sent, every one granted before it or
 *       together with it; so the grants that may have come no later than it number at least
 *       those seen before it was sent plus {@code p - 1}. This catches a request that passed
 *       requests whose times overlapped its own, where the check by time cannot tell who came
 *       first. It holds while nobody leaves a queue without a grant, which in a bench run
 *       happens only at the end (a queued session is granted before it stops).</li>
 * </ul>
 *
 * <p>Beside the checks, a measure of fairness that is no violation: <b>re-takes</b>, exclusive
 * grants that went to the session whose grant of the same name arrived just before (it gave
 * the lock back and took it again while others may have waited). A fair queue has almost none;
 * a lock that lets the releasing session barge in has many, and its pairs per second are those
 * of one session taking turns with itself.
 */
final class Violations {

    /** Grants that began while another session held the lock in an incompatible mode. */
    final long overlaps;
    /** Grants whose token was not larger than that of a grant known to be earlier. */
    final long tokenRegressions;
    /** Queued requests granted after a request made once they were queued. */
    final long outOfOrder;
    /** Queued requests granted before requests that their position put before them. */
    final long misplaced;
    /** Grants checked. */
    final long grants;
    /** Of those, shared ones. */
    final long sharedGrants;
    /** Of those, grants of requests that queued. */
    final long queuedGrants;
    /** Exclusive grants to the session whose grant of the name arrived just before (not a violation). */
    final long retakes;

    Violations(long overlaps, long tokenRegressions, long outOfOrder, long misplaced, long grants, long sharedGrants,
               long queuedGrants, long retakes) {
        this.overlaps = overlaps;
        this.tokenRegressions = tokenRegressions;
        this.outOfOrder = outOfOrder;
        this.misplaced = misplaced;
        this.grants = grants;
        this.sharedGrants = sharedGrants;
        this.queuedGrants = queuedGrants;
        this.retakes = retakes;
    }

    long total() {
        return overlaps + tokenRegressions + outOfOrder + misplaced;
    }

    /** FIFO violations of either kind. */
    long fifo() {
        return outOfOrder + misplaced;
    }

    static Violations check(Collection<History> histories, int nameCount) {
        int total = 0;
        for (History h : histories) {
            total += h.size();
        }
        // Group the grants by name, without an object per grant.
        int[] perName = new int[nameCount + 1];
        for (History h : histories) {
            for (int i = 0; i < h.size(); i++) {
                perName[h.name(i) + 1]++;
            }
        }
        for (int n = 0; n < nameCount; n++) {
            perName[n + 1] += perName[n];
        }
        Grants all = new Grants(total);
        int[] fill = Arrays.copyOf(perName, nameCount);
        int session = 0;
        for (History h : histories) {
            for (int i = 0; i < h.size(); i++) {
                all.session[fill[h.name(i)]] = session;
                all.set(fill[h.name(i)]++, h, i);
            }
            session++;
        }
        Counts counts = new Counts();
        for (int n = 0; n < nameCount; n++) {
            int from = perName[n];
            int to = perName[n + 1];
            if (to - from >= 2) {
                Grants name = all.slice(from, to);
                exclusionAndTokens(name, counts);
                fifo(name, counts);
                counts.retakes += retakes(name);
            }
        }
        long shared = 0;
        long queued = 0;
        for (int i = 0; i < total; i++) {
            shared += all.shared[i] ? 1 : 0;
            queued += all.position[i] > 0 ? 1 : 0;
        }
        return new Violations(counts.overlaps, counts.regressions, counts.outOfOrder, counts.misplaced, total, shared, queued,
                counts.retakes);
    }

    private static final class Counts {
        long overlaps;
        long regressions;
        long outOfOrder;
        long misplaced;
        long retakes;
    }

    /** The grants of one name (or of all), as columns. */
    private static final class Grants {
        final int size;
        final long[] granted;
        final long[] released;
        final long[] tokens;
        final long[] sent;
        final long[] queued;
        final int[] position;
        final boolean[] shared;
        /** Which session (its history's index) got the grant. */
        final int[] session;

        Grants(int size) {
            this.size = size;
            granted = new long[size];
            released = new long[size];
            tokens = new long[size];
            sent = new long[size];
            queued = new long[size];
            position = new int[size];
            shared = new boolean[size];
            session = new int[size];
        }

        void set(int at, History h, int i) {
            granted[at] = h.granted(i);
            released[at] = h.released(i);
            tokens[at] = h.token(i);
            sent[at] = h.sent(i);
            position[at] = h.position(i);
            // A GRANTED may arrive before its QUEUED: the request had joined by the earlier of the two.
            queued[at] = position[at] > 0 ? Math.min(h.queued(i), h.granted(i)) : 0;
            shared[at] = h.shared(i);
        }

        Grants slice(int from, int to) {
            Grants g = new Grants(to - from);
            System.arraycopy(granted, from, g.granted, 0, g.size);
            System.arraycopy(released, from, g.released, 0, g.size);
            System.arraycopy(tokens, from, g.tokens, 0, g.size);
            System.arraycopy(sent, from, g.sent, 0, g.size);
            System.arraycopy(queued, from, g.queued, 0, g.size);
            System.arraycopy(position, from, g.position, 0, g.size);
            System.arraycopy(shared, from, g.shared, 0, g.size);
            System.arraycopy(session, from, g.session, 0, g.size);
            return g;
        }

        /** The values of {@code column} of the grants whose {@code shared} is {@code mode}, sorted. */
        long[] sorted(long[] column, boolean mode) {
            int n = 0;
            for (int i = 0; i < size; i++) {
                n += shared[i] == mode ? 1 : 0;
            }
            long[] out = new long[n];
            int k = 0;
            for (int i = 0; i < size; i++) {
                if (shared[i] == mode) {
                    out[k++] = column[i];
                }
            }
            Arrays.sort(out);
            return out;
        }

        /** The grants' indexes ordered by {@code key}. */
        int[] orderBy(long[] key) {
            Integer[] order = new Integer[size];
            for (int i = 0; i < size; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Long.compare(key[a], key[b]));
            int[] out = new int[size];
            for (int i = 0; i < size; i++) {
                out[i] = order[i];
            }
            return out;
        }
    }

    /** Exclusive grants, in the order they arrived, that went to the session of the grant just before. */
    private static long retakes(Grants g) {
        long retakes = 0;
        int previous = -1;
        for (int i : g.orderBy(g.granted)) {
            if (!g.shared[i] && g.session[i] == previous) {
                retakes++;
            }
            previous = g.session[i];
        }
        return retakes;
    }

    private static void exclusionAndTokens(Grants g, Counts counts) {
        // Shared grants by the time they were given back, with the largest token among those given back so far.
        int[] sharedByRelease = Arrays.stream(g.orderBy(g.released)).filter(i -> g.shared[i]).toArray();
        long[] releasedShared = new long[sharedByRelease.length];
        long[] maxTokenShared = new long[sharedByRelease.length];
        long max = 0;
        for (int k = 0; k < sharedByRelease.length; k++) {
            releasedShared[k] = g.released[sharedByRelease[k]];
            max = Math.max(max, g.tokens[sharedByRelease[k]]);
            maxTokenShared[k] = max;
        }

        long exclusiveUntil = Long.MIN_VALUE; // the latest release of an exclusive grant so far
        long anyUntil = Long.MIN_VALUE; // the latest release of any grant so far
        long maxTokenExclusive = 0;
        long maxTokenAll = 0;
        for (int i : g.orderBy(g.granted)) {
            boolean overlap = g.shared[i] ? g.granted[i] < exclusiveUntil : g.granted[i] < anyUntil;
            if (overlap) {
                counts.overlaps++;
            } else if (g.tokens[i] != 0) {
                long bound;
                if (g.shared[i]) {
                    int before = countBelow(releasedShared, g.sent[i]);
                    bound = Math.max(maxTokenExclusive, before == 0 ? 0 : maxTokenShared[before - 1]);
                } else {
                    bound = maxTokenAll;
                }
                if (bound != 0 && g.tokens[i] <= bound) {
                    counts.regressions++;
                }
            }
            anyUntil = Math.max(anyUntil, g.released[i]);
            maxTokenAll = Math.max(maxTokenAll, g.tokens[i]);
            if (!g.shared[i]) {
                exclusiveUntil = Math.max(exclusiveUntil, g.released[i]);
                maxTokenExclusive = Math.max(maxTokenExclusive, g.tokens[i]);
            }
        }
    }

    private static void fifo(Grants g, Counts counts) {
        boolean anyQueued = false;
        for (int i = 0; i < g.size; i++) {
            anyQueued |= g.position[i] > 0;
        }
        if (!anyQueued) {
            return;
        }
        // Requests by the time they were sent, with the earliest grant among those sent at or after each.
        int[] bySent = g.orderBy(g.sent);
        long[] sentSorted = new long[g.size];
        long[] minGrantedAll = new long[g.size + 1];
        long[] minGrantedExclusive = new long[g.size + 1];
        minGrantedAll[g.size] = Long.MAX_VALUE;
        minGrantedExclusive[g.size] = Long.MAX_VALUE;
        for (int k = g.size - 1; k >= 0; k--) {
            int i = bySent[k];
            sentSorted[k] = g.sent[i];
            minGrantedAll[k] = Math.min(minGrantedAll[k + 1], g.granted[i]);
            minGrantedExclusive[k] = g.shared[i] ? minGrantedExclusive[k + 1] : Math.min(minGrantedExclusive[k + 1], g.granted[i]);
        }
        long[] grantedSorted = g.granted.clone();
        Arrays.sort(grantedSorted);
        long[] grantedExclusive = g.sorted(g.granted, false);
        long[] sentShared = g.sorted(g.sent, true);

        for (int a = 0; a < g.size; a++) {
            int p = g.position[a];
            if (p <= 0) {
                continue;
            }
            long joinedBy = g.queued[a];
            // Requests sent after a had certainly joined: none may be granted before it.
            int later = countAtOrBelow(sentSorted, joinedBy);
            long firstLater = g.shared[a] ? minGrantedExclusive[later] : minGrantedAll[later];
            if (firstLater < g.granted[a]) {
                counts.outOfOrder++;
                continue;
            }
            // The p - 1 requests before a were granted before it or together with it, and none of them
            // had been granted when a was sent. Ties of the nanosecond stamps count in a's favour.
            long seenBeforeSent = countBelow(grantedSorted, g.sent[a]);
            long possiblyBefore = g.shared[a]
                    ? countAtOrBelow(grantedExclusive, g.granted[a]) + countAtOrBelow(sentShared, g.granted[a]) - 1
                    : countAtOrBelow(grantedSorted, g.granted[a]) - 1;
            if (possiblyBefore < seenBeforeSent + p - 1) {
                counts.misplaced++;
            }
        }
    }

    /** How many of the sorted {@code values} are below {@code x}. */
    static int countBelow(long[] values, long x) {
        int lo = 0;
        int hi = values.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (values[mid] < x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** How many of the sorted {@code values} are at or below {@code x}. */
    static int countAtOrBelow(long[] values, long x) {
        return x == Long.MAX_VALUE ? values.length : countBelow(values, x + 1);
    }
}
