package io.distlock.bench;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The options of one {@code bench} run, checked.
 *
 * @param urls        server nodes' WebSocket URLs; sessions go to them round robin (may be empty)
 * @param sessions    concurrent sessions, each with one request in flight
 * @param duration    how long to measure after the warm-up (for idle: how long to sit)
 * @param ops         stop measuring after this many pairs (0: no limit)
 * @param warmup      how long to run before measuring
 * @param scenario    what the sessions do
 * @param hotLocks    hot names of the contended, mixed and shared scenarios
 * @param queue       single-name lock requests queue (protocol version 2's {@code "wait": true}) and
 *                    the session waits for {@code GRANTED} instead of {@code RETRY}
 * @param alsoRetry   with {@code queue}: also run the WebSocket and direct phases without it, the
 *                    {@code WAIT}/{@code RETRY} way, in the same run
 * @param readers     percent of the shared scenario's requests that are shared
 * @param direct      Redis URL for the in-process {@code LockService} phase, or null
 * @param redisson    Redis URL for the raw Redisson {@code RLock} phase, or null
 * @param redisStats  Redis URL to read {@code INFO commandstats} from, or null
 * @param json        where to write the results as JSON, or null
 * @param hgrm        where to write the pair latency histogram, or null
 * @param httpClients JDK {@code HttpClient}s (selector threads) to spread the WebSockets over
 * @param serverPids  pids of the server nodes (same order as {@code urls}) to collect garbage in before reading heaps
 * @param watching    watchers of the WebSocket and direct phases' locks on a second node ({@link WatchingNode.Spec#NONE}: none)
 * @param directWatching whether the direct phase's {@code LockService} has watching on ({@code LockConfig.watching})
 */
record BenchSettings(List<URI> urls, int sessions, Duration duration, long ops, Duration warmup, Scenario scenario,
                     int hotLocks, boolean queue, boolean alsoRetry, int readers, String direct, String redisson, String redisStats, Path json, Path hgrm,
                     int httpClients, List<Long> serverPids, WatchingNode.Spec watching, boolean directWatching) {

    BenchSettings {
        urls = List.copyOf(urls);
        serverPids = List.copyOf(serverPids);
        if (sessions < 1) {
            throw new IllegalArgumentException("--sessions must be at least 1, was " + sessions);
        }
        if (duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("--duration must be positive, was " + duration);
        }
        if (warmup.isNegative()) {
            throw new IllegalArgumentException("--warmup must not be negative, was " + warmup);
        }
        if (ops < 0) {
            throw new IllegalArgumentException("--ops must not be negative, was " + ops);
        }
        if (hotLocks < 1) {
            throw new IllegalArgumentException("--hot-locks must be at least 1, was " + hotLocks);
        }
        if (readers < 0 || readers > 100) {
            throw new IllegalArgumentException("--readers is a percentage, 0 to 100, was " + readers);
        }
        if (alsoRetry && !queue) {
            throw new IllegalArgumentException("--also-retry compares with --wait: give both");
        }
        if (queue && scenario == Scenario.IDLE) {
            throw new IllegalArgumentException("--wait queues lock requests; the idle scenario makes none that wait");
        }
        if (httpClients < 1) {
            throw new IllegalArgumentException("--http-clients must be at least 1, was " + httpClients);
        }
        for (URI url : urls) {
            String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("ws") && !scheme.equals("wss") || url.getHost() == null) {
                throw new IllegalArgumentException("--url must look like ws://host:port/distlock/lock, was " + url);
            }
        }
        if (urls.isEmpty() && direct == null && redisson == null) {
            throw new IllegalArgumentException("nothing to measure: give --url, --direct or --redisson");
        }
        if (scenario == Scenario.IDLE && urls.isEmpty()) {
            throw new IllegalArgumentException("the idle scenario measures a server's heap: give --url");
        }
        if (!serverPids.isEmpty() && serverPids.size() != urls.size()) {
            throw new IllegalArgumentException("give one --server-pid per --url, in the same order");
        }
        if (watching == null) {
            throw new IllegalArgumentException("watching must not be null; WatchingNode.Spec.NONE for no watchers");
        }
        if (watching.watchers() > 0 && scenario == Scenario.IDLE) {
            throw new IllegalArgumentException("--watchers watches the locks of a measured phase; the idle scenario has none");
        }
        if (!directWatching && (direct == null || watching.watchers() > 0)) {
            throw new IllegalArgumentException("--no-watching is for --direct, without --watchers");
        }
        if (watching.watchers() > 0 && urls.isEmpty() && direct == null) {
            throw new IllegalArgumentException("--watchers watches the WebSocket and --direct phases' locks: give --url or --direct");
        }
        for (String redis : new String[] {direct, redisson, redisStats, watching.redis()}) {
            if (redis != null && !redis.matches("(?i)rediss?://.+")) {
                throw new IllegalArgumentException("a Redis URL must look like redis://host:port, was " + redis);
            }
        }
    }
}
