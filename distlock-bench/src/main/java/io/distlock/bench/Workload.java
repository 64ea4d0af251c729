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
 *   <li>idle: one name of its own, locked once.</li>
 * </ul>
 */
final class Workload {

    static final int OWN = 8;

    /** One request's names; the single-name ones are made once and reused. */
    record Op(List<String> names, int[] ids) { }

    private final Scenario scenario;
    private final Op[][] own;
    private final Op[] hot;
    private final String[] names;

    Workload(Scenario scenario, int sessions, int hotLocks, String prefix) {
        this.scenario = scenario;
        int hotCount = scenario == Scenario.CONTENDED || scenario == Scenario.MIXED ? hotLocks : 0;
        names = new String[sessions * OWN + hotCount];
        own = new Op[sessions][OWN];
        for (int s = 0; s < sessions; s++) {
            for (int k = 0; k < OWN; k++) {
                int id = s * OWN + k;
                names[id] = prefix + "-s" + s + "-" + k;
                own[s][k] = new Op(List.of(names[id]), new int[] {id});
            }
        }
        hot = new Op[hotCount];
        for (int h = 0; h < hotCount; h++) {
            int id = sessions * OWN + h;
            names[id] = prefix + "-hot-" + h;
            hot[h] = new Op(List.of(names[id]), new int[] {id});
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
                            new int[] {a.ids()[0], b.ids()[0], h.ids()[0]});
                }
                return own[session][(int) (n % OWN)];
            }
            default:
                return own[session][(int) (n % OWN)];
        }
    }
}
