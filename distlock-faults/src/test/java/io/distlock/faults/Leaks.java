package io.distlock.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.distlock.testing.RedisProcess;

/**
 * What may stay in Redis after every client left: released locks' last tokens (a hash with a
 * {@code token} field and no owner, expiring after the token memory, 60 s), the data-loss
 * marker ({@code distlock:epoch}, one small string), the running nodes' leases
 * ({@code distlock:nodes}, a small hash expiring a lease after the last beat) and the running nodes' own subscriptions:
 * each node listens on {@code distlock:released}, {@code distlock:stolen} and
 * {@code distlock:asked}, and on {@code distlock:granted:<its id>} and
 * {@code distlock:adopted:<its id>} (five channels), and on {@code distlock:changed} only while it
 * has a watch, so never once every client left. Nothing else: no owned lock, no shared holder, no
 * queue (a queue's keys go with its last place, at the latest a lease after a dead node last kept
 * it), no session record (a resumable session's, at the latest a lease after its end), no other
 * key without an expiry, no other subscription, no pattern subscription.
 */
final class Leaks {

    private static final long TOKEN_MEMORY_MILLIS = 60_000;

    private Leaks() {
    }

    /**
     * Waits (up to {@code lease} and a margin: the locks of clients cut off by a fault free
     * themselves by then) until no lock key has an owner, then checks every key's expiry and
     * the subscriptions.
     */
    static void assertNothingLeft(RedisProcess redis, Duration lease, int runningNodes) {
        await("every lock released").atMost(lease.plusSeconds(10)).pollInterval(Duration.ofMillis(100))
                .untilAsserted(() -> assertThat(ownedLocks(redis)).isEmpty());
        // places of sessions that left are gone at once; a dead node's within its lease
        await("every queue and shared holder gone").atMost(lease.plusSeconds(10)).pollInterval(Duration.ofMillis(100))
                .untilAsserted(() -> assertThat(keys(redis)).noneMatch(k -> k.startsWith("distlock:queue:")
                        || k.startsWith("distlock:queued:") || k.startsWith("distlock:shared:")));
        // a resumable session's record goes with its end; one written again just after the end
        // (a renewal or change already under way) lingers for at most a lease, and nobody can resume it
        await("every session record gone").atMost(lease.plusSeconds(10)).pollInterval(Duration.ofMillis(100))
                .untilAsserted(() -> assertThat(keys(redis)).as(() -> "session records: " + sessionRecords(redis))
                        .noneMatch(k -> k.startsWith("distlock:session:")));
        for (String key : keys(redis)) {
            if (key.equals("distlock:epoch")) {
                continue;
            }
            if (key.equals("distlock:nodes")) {
                long ttl = Long.parseLong(String.valueOf(redis.command("PTTL", key)));
                assertThat(ttl).as("expiry of " + key).isBetween(0L, lease.toMillis());
                continue;
            }
            assertThat(key).startsWith("distlock:lock:");
            long ttl = Long.parseLong(String.valueOf(redis.command("PTTL", key)));
            assertThat(ttl).as("expiry of " + key).isBetween(0L, TOKEN_MEMORY_MILLIS);
        }
        // a watch's subscription goes once its last watch ended (asynchronously, when its session closed)
        await("no subscription but the running nodes' own").atMost(lease.plusSeconds(10)).pollInterval(Duration.ofMillis(100))
                .untilAsserted(() -> assertThat(strangeSubscriptions(redis, runningNodes)).isEmpty());
    }

    /** What is subscribed to beyond what {@code runningNodes} nodes without a watch listen to: a line each. */
    static List<String> strangeSubscriptions(RedisProcess redis, int runningNodes) {
        List<String> strange = new ArrayList<>();
        Map<String, Integer> nodeChannels = new HashMap<>(); // "distlock:granted:" -> how many such channels
        for (Object c : (List<?>) redis.command("PUBSUB", "CHANNELS")) {
            String channel = String.valueOf(c);
            long subscribers = Long.parseLong(String.valueOf(((List<?>) redis.command("PUBSUB", "NUMSUB", channel)).get(1)));
            String perNode = channel.startsWith("distlock:granted:") ? "distlock:granted:"
                    : channel.startsWith("distlock:adopted:") ? "distlock:adopted:" : null;
            if (perNode != null) {
                nodeChannels.merge(perNode, 1, Integer::sum);
                if (subscribers > 1) {
                    strange.add(channel + ": " + subscribers + " subscribers (one node's own channel)");
                }
            } else if (!List.of("distlock:released", "distlock:stolen", "distlock:asked").contains(channel)) {
                strange.add(channel + ": " + subscribers + " subscribers (no node listens there without a watch)");
            } else if (subscribers > runningNodes) {
                strange.add(channel + ": " + subscribers + " subscribers (" + runningNodes + " nodes running)");
            }
        }
        nodeChannels.forEach((prefix, channels) -> {
            if (channels > runningNodes) {
                strange.add(channels + " channels " + prefix + "<node> (" + runningNodes + " nodes running)");
            }
        });
        long patterns = Long.parseLong(String.valueOf(redis.command("PUBSUB", "NUMPAT")));
        if (patterns > 0) {
            strange.add(patterns + " pattern subscriptions");
        }
        return strange;
    }

    private static List<String> sessionRecords(RedisProcess redis) {
        List<String> records = new ArrayList<>();
        for (String key : keys(redis)) {
            if (key.startsWith("distlock:session:")) {
                List<?> fields = (List<?>) redis.command("HGETALL", key);
                List<String> shown = new ArrayList<>();
                for (int i = 0; i + 1 < fields.size(); i += 2) {
                    shown.add(fields.get(i) + "=" + ("secret".equals(String.valueOf(fields.get(i))) ? "..." : fields.get(i + 1)));
                }
                records.add(key + " " + shown + " pttl=" + redis.command("PTTL", key));
            }
        }
        return records;
    }

    private static List<String> ownedLocks(RedisProcess redis) {
        List<String> owned = new ArrayList<>();
        for (String key : keys(redis)) {
            if (key.startsWith("distlock:lock:") && redis.command("HGET", key, "owner") != null) {
                owned.add(key);
            }
        }
        return owned;
    }

    private static List<String> keys(RedisProcess redis) {
        List<String> keys = new ArrayList<>();
        for (Object k : (List<?>) redis.command("KEYS", "*")) {
            keys.add(String.valueOf(k));
        }
        return keys;
    }
}
