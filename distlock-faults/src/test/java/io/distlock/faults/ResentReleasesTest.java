package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Test;

import io.distlock.testing.Await;
import io.distlock.testing.RedisProcess;
import io.distlock.testing.TcpProxy;

/**
 * A node's link to Redis stalls past two thirds of the lease (its client is told LOST and the
 * node sends a release into the stall), heals, the client locks again at once, and then every
 * command the node sent during the stall reaches Redis a second time, as a Redisson resend after
 * a response timeout would deliver it. Two nodes, one client each, one hot lock held for a few
 * hundred ms at a time, so the client that locks again is the session whose release is resent,
 * and it still holds the lock when the copies arrive.
 *
 * <p>The scenario must pass every checker: a release names its grant, so a late copy frees
 * nothing newer, and a late copy of a lock attempt does not replace the session's newer grant
 * (which the late copy of that attempt's undo would then free: the first run of this scenario
 * found that). Its negative control resends only the releases, each rewritten to the release
 * script of the first version (owner only, no grant named): the session's new grant is freed
 * under it, a client of the other node is granted the lock, and the checkers must find the
 * overlap.
 */
class ResentReleasesTest {

    static final Duration LEASE = Duration.ofSeconds(2);

    /** The unlock script of version 1 (until this fix), verbatim: it checked only the owner. */
    private static final String OWNER_ONLY_RELEASE = """
            local cur = redis.call('HMGET', KEYS[1], 'owner', 'token', 'w')
            if cur[1] ~= ARGV[1] then
              return 0
            end
            redis.call('HDEL', KEYS[1], 'owner', 'holder', 'w')
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            if cur[3] then
              local now = redis.call('TIME')
              redis.call('PUBLISH', ARGV[3], cur[2] .. ':' .. now[1] .. string.format('%06d', now[2]) .. ':' .. ARGV[4])
            end
            return 1
            """;

    @Test
    void releasesResentAfterTheClientLockedAgainFreeNothingNewer() {
        Checkers.Report report = run("stale-release-resent", UnaryOperator.identity());
        assertThat(report.ok()).as(report.summary()).isTrue();
    }

    @Test
    void controlOwnerOnlyReleasesResentFreeTheNewGrant() {
        Checkers.Report report = run("control-owner-only-release", ResentReleasesTest::onlyReleasesAsOwnerOnly);
        assertThat(report.violations(Checkers.NO_OVERLAP)).as(report.summary()).isPositive();
    }

    private static Checkers.Report run(String scenario, UnaryOperator<List<String>> rewrite) {
        try (RedisProcess redis = RedisProcess.start();
             Nodes nodes = Nodes.standalone(redis, 2, LEASE)) {
            ScenarioRun run = new ScenarioRun(scenario);
            Workload load = Workload.builder(run.history()).nodes(nodes.clientUris())
                    .clients(2).locks(List.of("hot")).hold(Duration.ofMillis(300), Duration.ofMillis(600))
                    .longHolds(0.5, LEASE.multipliedBy(3).dividedBy(2)).build();
            try (load) {
                load.start();
                run.awaitGrants(load, 10, Await.seconds(30));
                for (int cycle = 0; cycle < FaultProfile.cycles(3, 10); cycle++) {
                    int victim = cycle % nodes.size();
                    TcpProxy link = nodes.redisLink(victim);
                    // on a hold planned past the lease (and so past the LOST, due five sixths of it after the last
                    // renewal at the latest), stalled under the history's lock: the holder cannot unlock first
                    ScenarioRun.Hit hit = run.awaitFaultOnLongHold(load, victim, LEASE.plusMillis(300),
                            "node " + victim + " link to Redis stalled until its client is told LOST, its commands captured",
                            false, false, () -> {
                                link.capture(true);
                                link.delay(Duration.ofMinutes(10)); // read but not forwarded: a stall that keeps every byte
                            });
                    // The stall lasts until the node told its client LOST and sent the release into it, not a fixed
                    // time: LOST comes on a renewal tick past two thirds of the lease, up to five sixths of it after
                    // the last renewal, and a heal before it delivers the stalled renewals (no LOST, nothing to resend).
                    org.awaitility.Awaitility.await("LOST told to " + hit + " and its release sent into the stall")
                            .atMost(Await.seconds(30)).pollInterval(Duration.ofMillis(10))
                            .until(() -> run.toldLost(hit) && link.captured().stream().anyMatch(c -> releases(c, hit)));
                    link.capture(false);
                    link.heal();
                    run.heal("node " + victim + " reaches Redis again");
                    awaitHolderOn(run, victim); // the client of that node holds the lock again
                    int sent = link.replayCaptured(rewrite);
                    run.fault("resent the " + sent + " commands node " + victim + " sent during the stall");
                    run.awaitGrants(load, 10, Await.seconds(30));
                }
                Checkers.Report report = run.finish(load);
                Leaks.assertNothingLeft(redis, LEASE, nodes.size());
                return report;
            }
        }
    }

    private static void awaitHolderOn(ScenarioRun run, int node) {
        org.awaitility.Awaitility.await("a client of node " + node + " holds the lock").atMost(Await.seconds(30))
                .pollInterval(Duration.ofMillis(10)).until(() -> !Liveness.holdersOn(run.history(), node).isEmpty());
    }

    /** {@code command} is the release of the hit's grant (unlock.lua's shape, described below, naming its token). */
    private static boolean releases(List<String> command, ScenarioRun.Hit hit) {
        return command.get(0).equalsIgnoreCase("EVALSHA") && command.size() == 20
                && command.get(2).equals("5") && command.get(3).endsWith(hit.lock()) && command.get(16).equals(Long.toString(hit.token()));
    }

    /**
     * A release naming its grant, {@code EVALSHA <sha> 5 <lock> <queue> <queued> <shared> <marker>
     * <owner> <lease> <memory> <quarantine> <channel, or since issue 14 the key prefix> <granted prefix> <keep> <name> <token>
     * <attempt> <node, or ''> <attempts up to>} (unlock.lua since protocol version 2, the node since it answers its
     * node's grants itself, the bound since the old node of a resumed session is fenced by it; before
     * version 2, {@code EVALSHA <sha> 1 <lock>
     * <owner> <memory> <channel> <name> <token> <attempt>}), becomes the first version's
     * {@code EVAL <script> 1 <lock> <owner> <memory> <channel> <name>}; every other command is
     * dropped. (Matched by shape: a shape this does not know would resend nothing, and the
     * control, which asserts an overlap, would fail rather than pass unnoticed.)
     */
    private static List<String> onlyReleasesAsOwnerOnly(List<String> command) {
        String name = command.get(0).toUpperCase(Locale.ROOT);
        if (!name.equals("EVALSHA") && !name.equals("EVAL")) {
            return null;
        }
        if (command.size() == 20 && command.get(2).equals("5")) {
            // the fifth argument was the release channel; since issue 14 it is the key prefix, from which
            // the scripts derive their channels (<prefix>:released, <prefix>:changed)
            String channel = command.get(12).endsWith(":released") ? command.get(12) : command.get(12) + ":released";
            return List.of("EVAL", OWNER_ONLY_RELEASE, "1", command.get(3), command.get(8), command.get(10), channel,
                    command.get(15));
        }
        if (command.size() == 10 && command.get(2).equals("1") && command.get(6).endsWith(":released")) {
            return List.of("EVAL", OWNER_ONLY_RELEASE, "1", command.get(3), command.get(4), command.get(5), command.get(6),
                    command.get(7));
        }
        return null;
    }
}
