package io.distlock.bench;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The lock names of one bench phase and which ones a session asks for next. Every name has
 * an integer id, so that the history of grants and releases is a few primitive arrays.
 *
 * <ul>
 *   <li>uncontended: session {@code i} cycles through {@value #OWN} names of its own;</li>
 *   <li>contended: every session picks one of {@code hot} shared names at random;</li>
 *   <li>mixed: 80% a name of its own, 10% a hot name, 10% an {@code mlock} of two own names
 *       and one hot name;</li>
 *   <li>shared: every session picks one of {@code hot} names at random, and asks for it shared
 *       ({@code readers} percent of the time: a reader) or exclusive (a writer);</li>
 *   <li>idle: one name of its own, locked once.</li>
 * </ul>
 */
final class Workload {

    static final int OWN = 8;

    /** One request's names and mode; the single-name ones are made once and reused. */
    record Op(List<String> names, int[] ids, boolean shared) { }

    private final Scenario scenario;
    private final int readers;
    private final Op[][] own;
    private final Op[] hot;
    private final Op[] hotShared;
    private final String[] names;

    /** @param readers percent of the shared scenario's requests that are shared (0 to 100) */
    Workload(Scenario scenario, int sessions, int hotLocks, int readers, String prefix) {
        this.scenario = scenario;
        this.readers = readers;
        int hotCount = scenario.hasHotNames() ? hotLocks : 0;
        names = new String[sessions * OWN + hotCount];
        own = new Op[sessions][OWN];
        for (int s = 0; s < sessions; s++) {
            for (int k = 0; k < OWN; k++) {
                int id = s * OWN + k;
                names[id] = prefix + "-s" + s + "-" + k;
                own[s][k] = new Op(List.of(names[id]), new int[] {id}, false);
            }
        }
        hot = new Op[hotCount];
        hotShared = new Op[hotCount];
        for (int h = 0; h < hotCount; h++) {
            int id = sessions * OWN + h;
            names[id] = prefix + "-hot-" + h;
            hot[h] = new Op(List.of(names[id]), new int[] {id}, false);
            hotShared[h] = new Op(List.of(names[id]), new int[] {id}, true);
        }
    }

    /** The default number of hot names: a few, so that many sessions share each. */
    static int defaultHotLocks(Scenario scenario, int sessions) {
        return scenario == Scenario.MIXED ? Math.max(2, sessions / 4) : Math.max(1, sessions / 16);
    }

    int nameCount() {
        return names.length;
    }

    String name(int id) {
        return names[id];
    }

    /** The next request of session {@code session}, whose {@code n}th pair this is. */
    Op next(int session, long n, SplittableRandom random) {
        switch (scenario) {
            case CONTENDED:
                return hot[random.nextInt(hot.length)];
            case SHARED: {
                int h = random.nextInt(hot.length);
                return random.nextInt(100) < readers ? hotShared[h] : hot[h];
            }
            case MIXED: {
                int dice = random.nextInt(10);
                if (dice == 0) {
                    return hot[random.nextInt(hot.length)];
                }
                if (dice == 1) {
                    Op a = own[session][(int) (n % OWN)];
                    Op b = own[session][(int) ((n + 1) % OWN)];
                    Op h = hot[random.nextInt(hot.length)];
                    return new Op(List.of(a.names().get(0), b.names().get(0), h.names().get(0)),
                            new int[] {a.ids()[0], b.ids()[0], h.ids()[0]}, false);
                }
                return own[session][(int) (n % OWN)];
            }
            default:
                return own[session][(int) (n % OWN)];
        }
    }
}
