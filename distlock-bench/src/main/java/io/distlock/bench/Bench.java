package io.distlock.bench;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/** Runs the phases of one {@code bench} invocation one after another and reports them. */
final class Bench {

    private final BenchSettings settings;
    private final PrintWriter out;

    Bench(BenchSettings settings, PrintWriter out) {
        this.settings = settings;
        this.out = out;
    }

    /** 0 if there were neither errors nor violations, 1 otherwise. */
    int run() throws Exception {
        String run = "bench-" + HexFormat.of().toHexDigits((short) ThreadLocalRandom.current().nextInt());
        RedisStats redisStats = settings.redisStats() == null ? null : new RedisStats(settings.redisStats());
        ServerProbe probe = settings.urls().isEmpty() ? null : new ServerProbe(settings.urls());
        if (settings.scenario() == Scenario.IDLE) {
            return idle(run, probe);
        }
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "bench-scheduler");
            t.setDaemon(true);
            return t;
        });
        boolean wait = settings.queue();
        boolean shared = settings.scenario() == Scenario.SHARED;
        List<PhaseSpec> phases = new ArrayList<>();
        if (!settings.urls().isEmpty()) {
            phases.add(new PhaseSpec(() -> new WebSocketTarget(settings.urls(), settings.httpClients(), wait || shared ? 2 : 1),
                    "websocket", wait, probe, run + "-ws"));
            if (settings.alsoRetry()) {
                phases.add(new PhaseSpec(() -> new WebSocketTarget(settings.urls(), settings.httpClients(), shared ? 2 : 1),
                        "websocket-retry", false, probe, run + "-ws-retry"));
            }
        }
        if (settings.direct() != null) {
            Supplier<Target> direct = () -> new ServiceTarget(settings.direct(), settings.directWatching());
            phases.add(new PhaseSpec(direct, "direct", wait, null, run + "-direct"));
            if (settings.alsoRetry()) {
                phases.add(new PhaseSpec(direct, "direct-retry", false, null, run + "-direct-retry"));
            }
        }
        if (settings.redisson() != null) {
            phases.add(new PhaseSpec(() -> new RedissonTarget(settings.redisson(), shared), "redisson", false, null, run + "-redisson"));
        }
        List<PhaseResult> results = new ArrayList<>();
        try {
            // The phases share one JVM: the first to use Netty and Redisson would pay for compiling
            // them (at 64 sessions on two cores, well into its measured time) and the later ones
            // inherit the compiled code. So each target first runs its warm-up once, unmeasured.
            if (phases.size() > 1 && !settings.warmup().isZero()) {
                out.printf("first round: each target runs %s unmeasured, then each is warmed up and measured%n",
                        Report.seconds(settings.warmup().toMillis() / 1000.0));
                for (PhaseSpec p : phases) {
                    try (Target t = p.target.get()) {
                        new Phase(t, "first " + p.label, p.queue, settings, out, redisStats, null, scheduler, p.prefix + "-first",
                                WatchingNode.Spec.NONE).warm();
                    }
                }
            }
            for (PhaseSpec p : phases) {
                results.add(phase(p.target, p.label, p.queue, redisStats, p.probe, scheduler, p.prefix));
            }
        } finally {
            scheduler.shutdownNow();
        }
        Report.print(out, Report.table(settings, results));
        if (settings.json() != null) {
            Report.writeJson(settings.json(), Report.json(settings, results));
            out.println("wrote " + settings.json());
        }
        if (settings.hgrm() != null) {
            for (Path p : Report.writeHgrm(settings.hgrm(), results)) {
                out.println("wrote " + p);
            }
        }
        out.flush();
        boolean clean = results.stream().allMatch(r -> r.errors == 0 && r.violations.total() == 0);
        return clean ? 0 : 1;
    }

    /** One phase to run: its target, label, whether it queues, the servers to probe (or null), its names' prefix. */
    private record PhaseSpec(Supplier<Target> target, String label, boolean queue, ServerProbe probe, String prefix) { }

    private PhaseResult phase(Supplier<Target> target, String label, boolean queue, RedisStats redisStats, ServerProbe probe,
                              ScheduledExecutorService scheduler, String prefix) throws InterruptedException {
        try (Target t = target.get()) {
            // Redisson's RLocks are not the core's locks: nothing to watch there.
            WatchingNode.Spec watching = t instanceof RedissonTarget ? WatchingNode.Spec.NONE : settings.watching();
            return new Phase(t, label, queue, settings, out, redisStats, probe, scheduler, prefix, watching).run();
        }
    }

    private int idle(String run, ServerProbe probe) throws Exception {
        IdlePhase.Result result;
        try (WebSocketTarget target = new WebSocketTarget(settings.urls(), settings.httpClients(), 1)) {
            result = new IdlePhase(target, settings, out, probe).run(run);
        }
        Report.print(out, Report.idleTable(result));
        if (settings.json() != null) {
            com.fasterxml.jackson.databind.node.ObjectNode json = result.toJson();
            json.put("duration_s", settings.duration().toMillis() / 1000.0);
            Report.writeJson(settings.json(), json);
            out.println("wrote " + settings.json());
        }
        out.flush();
        return result.errors() == 0 && result.locked() == settings.sessions() ? 0 : 1;
    }
}
