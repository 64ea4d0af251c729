package io.distlock.core;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.redisson.api.RTopic;
import org.redisson.api.listener.BaseStatusListener;

/**
 * The watches of one node ({@link LockService#watch}).
 *
 * <p>Every script that changes a lock's holders or queue publishes the lock's name on one channel
 * ({@link RedisLockStore#changesChannel()}); this node listens to it only while it has a watch.
 * For a changed lock that somebody here watches, by name or by prefix, the node reads the state
 * once ({@link RedisLockStore#state}), one read at a time per lock (changes during a read cause one
 * more read after it: coalesced, the last state always read), and tells each watcher a state that
 * differs from the last one told. A lock's next read waits {@value #READ_PACE} times as long as its
 * last read took, so that a lock dear to read (a long queue) that changes all the time costs Redis
 * a bounded share of its time. Nothing publishes a holder's lease running out, so a watched
 * lock is read again when its earliest holder or queued request would expire unless renewed.
 * After a resubscription (changes published meanwhile were lost) every watched lock is read
 * again, and so is every lock under a prefix watched here that Redis has a lock hash of, found by
 * a {@code SCAN} of every primary ({@link #readAll}).
 *
 * <p>A new watch of a name is answered with a state read after this node listened to the channel,
 * so no change between the answer and the first push is missed; the watcher is told changes only
 * after that answer.
 */
final class Watches {

    private static final System.Logger LOG = System.getLogger(Watches.class.getName());
    /** Margin past an expiry before reading again, so that Redis, whose clock counts, sees it expired. */
    private static final long EXPIRY_MARGIN_MILLIS = 5;
    /**
     * A lock's next read starts no sooner than this many times the duration of its last read after
     * that read ended: this node reads one lock at most a fifth of the time. Back to back, the reads
     * of one watched lock with 1,000 queued sessions and a changing tail took half of Redis's one
     * thread and made every other lock operation ~8 times slower; a cheap read (~0.2 ms) waits ~1 ms.
     */
    static final int READ_PACE = 4;
    /**
     * The longest a read waits for the pace: a read slowed by a stall of Redis or of the network
     * says nothing about its cost, and must not keep the next one from showing what changed.
     */
    private static final long MAX_READ_PAUSE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final RedisLockStore store;
    private final RTopic changes;
    private final Scheduler scheduler;
    private final Executor callbackExecutor;
    private final LockConfig config;
    /** How long to wait before reading again a lock whose read failed. */
    private final long retryMillis;

    // All guarded by this.
    /** Sorted, so that the locks under a prefix are found without going through all of them. */
    private final java.util.NavigableMap<String, Watched> locks = new java.util.TreeMap<>();
    /**
     * The watches with a prefix: the only ones a lock's change must be matched against (a watch by
     * name is in its locks' {@link Watched#named}), so that a change costs nothing per watch by name.
     */
    private final Set<Watch> byPrefix = new LinkedHashSet<>();
    /** Every watch opened and not closed yet, for {@link #closeAll()}; guarded by this. */
    private final Set<Watch> open = new java.util.HashSet<>();
    private CompletableFuture<Void> subscribed;
    private final List<Integer> listenerIds = new ArrayList<>();
    /** Watches by name or prefix waiting for the subscription ({@link Watch#starting}): it must not be dropped under them. */
    private int starting;

    Watches(RedisLockStore store, RTopic changes, Scheduler scheduler, Executor callbackExecutor, LockConfig config) {
        this.store = store;
        this.changes = changes;
        this.scheduler = scheduler;
        this.callbackExecutor = callbackExecutor;
        this.config = config;
        this.retryMillis = Math.max(50, config.lease().toMillis() / 6);
    }

    LockWatch open(LockWatcher watcher) {
        Watch watch = new Watch(Objects.requireNonNull(watcher, "watcher"));
        synchronized (this) {
            open.add(watch);
        }
        return watch;
    }

    /** The service is closing: every watch ends, and the node stops listening (a client it does not own lives on). */
    void closeAll() {
        List<Watch> all;
        synchronized (this) {
            all = List.copyOf(open);
        }
        all.forEach(Watch::close);
    }

    /** One lock that somebody on this node watches, by name or by prefix. */
    private static final class Watched {
        final String lock;
        /** Watchers told every change, by name. */
        final Set<Watch> named = new LinkedHashSet<>();
        /**
         * Watches waiting for their first state of this lock: the read that answers them started
         * after they came. By watch, not by watcher: one watcher may have several in flight (the
         * same name asked twice before the first was answered), and each must be answered.
         */
        final Set<Join> joining = new LinkedHashSet<>();
        boolean reading;
        boolean readAgain;
        LockState last;
        Future<?> expiry;
        /** The read due once the last one is paced out ({@link #READ_PACE}); null if none. */
        Future<?> paced;
        /** On the config's ticker, ns: when the read in progress started, and when and how long the last one took. */
        long readStarted;
        long lastReadEnded;
        long lastReadTook;

        Watched(String lock) {
            this.lock = lock;
        }
    }

    /** A watch waiting for the subscription: of these lock names, or of this prefix (null for names). */
    private record Starting(List<String> locks, String prefix) { }

    /** A watcher's first state of several locks, answered when all are read. */
    private static final class Join {
        final Watch watch;
        final List<String> locks;
        final Map<String, LockState> states = new LinkedHashMap<>();
        final Set<String> missing;
        final CompletableFuture<Map<String, LockState>> answer = new CompletableFuture<>();
        /** Set when a read started, for each lock: only a read started after the join answers it. */
        final Set<String> readStarted = new java.util.HashSet<>();

        Join(Watch watch, List<String> locks) {
            this.watch = watch;
            this.locks = locks;
            this.missing = new LinkedHashSet<>(locks);
        }
    }

    private final class Watch implements LockWatch {
        final LockWatcher watcher;
        final SerialExecutor deliveries = new SerialExecutor(callbackExecutor);
        // Guarded by Watches.this.
        /** What to tell the watcher, in order: filled under the lock, drained outside it. */
        final java.util.ArrayDeque<Runnable> outbox = new java.util.ArrayDeque<>();
        final Set<String> names = new LinkedHashSet<>();
        final Set<String> prefixes = new LinkedHashSet<>();
        /**
         * Watches asked for before the subscription to the changes channel was confirmed, by their
         * answer. An unwatch or a close meanwhile drops them, so they do not begin once it is.
         */
        final Map<CompletableFuture<?>, Starting> starting = new LinkedHashMap<>();
        /** Joins of this watch waiting for their first states, so that a close finds their locks. */
        final Set<Join> joins = new LinkedHashSet<>();
        boolean closed;

        Watch(LockWatcher watcher) {
            this.watcher = watcher;
        }

        @Override
        public CompletionStage<Map<String, LockState>> watch(Collection<String> locks) {
            // Not List.copyOf: it throws NullPointerException for a null name, which is refused below like any bad name.
            List<String> names = java.util.Collections.unmodifiableList(new ArrayList<>(new LinkedHashSet<>(locks)));
            for (String lock : names) {
                Optional<String> bad = Names.problem("lock name", lock, config.maxLockNameLength());
                if (bad.isPresent()) {
                    return CompletableFuture.failedFuture(new IllegalArgumentException(bad.get()));
                }
            }
            if (names.isEmpty()) {
                return CompletableFuture.completedFuture(Map.of());
            }
            Join join = new Join(this, names);
            if (!start(join.answer, new Starting(names, null))) {
                return CompletableFuture.failedFuture(new IllegalStateException("the watch is closed"));
            }
            subscribe().whenComplete((v, e) -> {
                List<Watched> toRead = new ArrayList<>();
                synchronized (Watches.this) {
                    if (!started(join.answer)) {
                        unsubscribeIfIdle();
                        return; // unwatched or closed meanwhile, and answered then
                    }
                    if (e == null) {
                        joins.add(join);
                        for (String lock : names) {
                            Watched w = Watches.this.locks.computeIfAbsent(lock, Watched::new);
                            w.joining.add(join);
                            toRead.add(w);
                        }
                    }
                }
                if (e != null) {
                    join.answer.completeExceptionally(RedisLockStore.backendFailure(e));
                    return;
                }
                toRead.forEach(Watches.this::read);
            });
            return join.answer;
        }

        @Override
        public CompletionStage<Void> watchPrefix(String prefix) {
            Optional<String> bad = Names.problem("prefix", prefix, config.maxLockNameLength());
            if (bad.isPresent()) {
                throw new IllegalArgumentException(bad.get());
            }
            CompletableFuture<Void> answer = new CompletableFuture<>();
            if (!start(answer, new Starting(List.of(), prefix))) {
                return CompletableFuture.failedFuture(new IllegalStateException("the watch is closed"));
            }
            subscribe().whenComplete((v, e) -> {
                synchronized (Watches.this) {
                    if (!started(answer)) {
                        unsubscribeIfIdle();
                        return; // unwatched or closed meanwhile, and answered then
                    }
                    if (e == null) {
                        prefixes.add(prefix);
                        byPrefix.add(this);
                    }
                }
                if (e != null) {
                    answer.completeExceptionally(RedisLockStore.backendFailure(e));
                } else {
                    answer.complete(null);
                }
            });
            return answer;
        }

        /** Counts a watch waiting for the subscription, by its answer; false if this watch is closed. */
        private boolean start(CompletableFuture<?> answer, Starting what) {
            synchronized (Watches.this) {
                if (closed) {
                    return false;
                }
                starting.put(answer, what);
                Watches.this.starting++;
                return true;
            }
        }

        /** The subscription is confirmed (or failed): whether the watch answered by {@code answer} is still wanted. */
        private boolean started(CompletableFuture<?> answer) {
            assert Thread.holdsLock(Watches.this);
            if (starting.remove(answer) == null) {
                return false;
            }
            Watches.this.starting--;
            return true;
        }

        /** Drops the starting watches {@code which} picks; adds their answers to {@code dropped}. */
        private void dropStarting(Predicate<Starting> which, List<CompletableFuture<?>> dropped) {
            assert Thread.holdsLock(Watches.this);
            for (var it = starting.entrySet().iterator(); it.hasNext(); ) {
                var entry = it.next();
                if (which.test(entry.getValue())) {
                    it.remove();
                    Watches.this.starting--;
                    dropped.add(entry.getKey());
                }
            }
        }

        @Override
        public void unwatch(Collection<String> locks) {
            List<Join> dropped = new ArrayList<>();
            List<CompletableFuture<?>> notBegun = new ArrayList<>();
            synchronized (Watches.this) {
                Set<String> unwatched = new java.util.HashSet<>(locks);
                dropStarting(w -> w.locks().stream().anyMatch(unwatched::contains), notBegun);
                for (String lock : locks) {
                    names.remove(lock);
                    Watched w = Watches.this.locks.get(lock);
                    if (w != null) {
                        leave(w, dropped);
                    }
                }
                unsubscribeIfIdle();
            }
            dropped.forEach(join -> join.answer.completeExceptionally(new IllegalStateException("unwatched before its state was read")));
            notBegun.forEach(answer -> answer.completeExceptionally(new IllegalStateException("unwatched before its state was read")));
        }

        @Override
        public void unwatchPrefix(String prefix) {
            List<CompletableFuture<?>> notBegun = new ArrayList<>();
            synchronized (Watches.this) {
                dropStarting(w -> prefix.equals(w.prefix()), notBegun);
                if (prefixes.remove(prefix)) {
                    if (prefixes.isEmpty()) {
                        byPrefix.remove(this);
                    }
                    // Only the locks under it: an unwatch costs what it watched, not what the node watches.
                    for (Watched w : List.copyOf(under(prefix))) {
                        dropIfUnwatched(w);
                    }
                }
                unsubscribeIfIdle();
            }
            notBegun.forEach(answer -> answer.completeExceptionally(new IllegalStateException("unwatched before the watch began")));
        }

        @Override
        public void close() {
            List<Join> dropped = new ArrayList<>();
            List<CompletableFuture<?>> notBegun = new ArrayList<>();
            synchronized (Watches.this) {
                if (closed) {
                    return;
                }
                closed = true;
                open.remove(this);
                dropStarting(w -> true, notBegun);
                byPrefix.remove(this);
                // What this watch was in: its names, its joins' locks, the locks under its prefixes.
                Set<Watched> mine = new LinkedHashSet<>();
                names.forEach(lock -> mine.add(Watches.this.locks.get(lock)));
                joins.forEach(join -> join.locks.forEach(lock -> mine.add(Watches.this.locks.get(lock))));
                prefixes.forEach(prefix -> mine.addAll(under(prefix)));
                mine.remove(null);
                names.clear();
                prefixes.clear();
                for (Watched w : mine) {
                    leave(w, dropped);
                }
                unsubscribeIfIdle();
            }
            dropped.forEach(join -> join.answer.completeExceptionally(new IllegalStateException("the watch was closed")));
            notBegun.forEach(answer -> answer.completeExceptionally(new IllegalStateException("the watch was closed")));
        }

        /** This watch no longer watches {@code w} by name; the joins it waited for there are added to {@code dropped}. */
        private void leave(Watched w, List<Join> dropped) {
            assert Thread.holdsLock(Watches.this);
            w.named.remove(this);
            for (Join join : List.copyOf(w.joining)) { // a copy: abandon removes from it
                if (join.watch == this) {
                    dropped.add(join);
                    abandon(join);
                }
            }
            dropIfUnwatched(w);
        }

        boolean matches(String lock) {
            for (String prefix : prefixes) {
                if (lock.startsWith(prefix)) {
                    return true;
                }
            }
            return false;
        }

        /** Queues a change to tell; only under the lock. {@link #flush()} after releasing it. */
        void tell(String lock, LockState state) {
            assert Thread.holdsLock(Watches.this);
            outbox.add(() -> {
                synchronized (Watches.this) {
                    if (closed || !(names.contains(lock) || matches(lock))) {
                        return;
                    }
                }
                try {
                    watcher.changed(lock, state);
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "A lock watcher threw; ignored", e);
                }
            });
        }

        /** Tells what {@link #tell} queued, in order, on the callback executor; never under the lock. */
        void flush() {
            deliveries.execute(() -> {
                while (true) {
                    Runnable next;
                    synchronized (Watches.this) {
                        next = outbox.poll();
                    }
                    if (next == null) {
                        return;
                    }
                    next.run();
                }
            });
        }
    }

    /** Listens to the changes channel, once; completes when Redis confirmed the subscription. */
    private synchronized CompletableFuture<Void> subscribe() {
        if (subscribed == null || subscribed.isCompletedExceptionally()) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            subscribed = done;
            try {
                changes.addListenerAsync(String.class, (channel, lock) -> changed(lock)).whenComplete((id, e) -> {
                    if (e != null) {
                        done.completeExceptionally(e);
                        return;
                    }
                    synchronized (this) {
                        listenerIds.add(id);
                    }
                    changes.addListenerAsync(new BaseStatusListener() {
                        @Override
                        public void onSubscribe(String channel) {
                            // Also after a reconnect: changes published meanwhile were lost.
                            readAll();
                        }
                    }).whenComplete((statusId, e2) -> {
                        if (statusId != null) {
                            synchronized (this) {
                                listenerIds.add(statusId);
                            }
                        }
                        done.complete(null); // the first listener's subscription was confirmed already
                    });
                });
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        }
        return subscribed;
    }

    /**
     * No watch is left: stop listening. Not while the subscription is being made: its listener ids
     * are not all known yet (unsubscribing then left the node subscribed for good); the watch that
     * asked for it comes back here once it is made.
     */
    private void unsubscribeIfIdle() {
        assert Thread.holdsLock(this);
        // A watch by name has its locks in locks (named there), so this covers it.
        if (!locks.isEmpty() || subscribed == null || !subscribed.isDone() || starting > 0 || !byPrefix.isEmpty()) {
            return;
        }
        List<Integer> ids = List.copyOf(listenerIds);
        listenerIds.clear();
        subscribed = null;
        if (!ids.isEmpty()) {
            changes.removeListenerAsync(ids.toArray(Integer[]::new));
        }
    }

    /** A lock's holders or queue changed: read it if somebody here watches it. */
    private void changed(String lock) {
        Watched w;
        synchronized (this) {
            w = locks.get(lock);
            if (w == null) {
                if (byPrefix.stream().noneMatch(watch -> watch.matches(lock))) {
                    return;
                }
                w = new Watched(lock);
                locks.put(lock, w);
            }
        }
        read(w);
    }

    /**
     * After a (re)subscription: changes published meanwhile were lost, so every watched lock is
     * read again, and so is every lock under a prefix watched here that has a lock hash (held,
     * queued for, or released within the token memory), found by {@link #scan}: a lock watched only
     * by prefix is forgotten once it is free, so one taken during the gap is not among the watched.
     */
    private void readAll() {
        List<Watched> all;
        List<String> prefixes;
        synchronized (this) {
            all = List.copyOf(locks.values());
            prefixes = scannedPrefixes();
        }
        all.forEach(this::read);
        if (!prefixes.isEmpty()) {
            scan(prefixes);
        }
    }

    /** The prefixes watched here, less those that another one covers ({@code doc-} under {@code doc}). */
    private List<String> scannedPrefixes() {
        assert Thread.holdsLock(this);
        java.util.TreeSet<String> all = new java.util.TreeSet<>();
        byPrefix.forEach(watch -> all.addAll(watch.prefixes));
        List<String> scanned = new ArrayList<>();
        for (String prefix : all) { // in order: a prefix comes before every prefix it covers
            if (scanned.isEmpty() || !prefix.startsWith(scanned.get(scanned.size() - 1))) {
                scanned.add(prefix);
            }
        }
        return scanned;
    }

    /**
     * Reads each lock under {@code prefixes} that has a lock hash and is not watched here yet
     * ({@link RedisLockStore#lockNamesStartingWith}), on a thread of its own, since each step of
     * the scan waits for Redis: each name found takes the lock of this class briefly and sends a
     * read. One pass over Redis's key space for all of them (under their longest common prefix):
     * clients choose how many prefixes they watch, 16 per connection, and one thread and one pass
     * each made a resubscription cost a node thousands of threads and Redis thousands of passes
     * (review 2026-12-07). The scan ends when the key space was gone through, or when nothing is
     * watched by prefix here any more.
     */
    private void scan(List<String> prefixes) {
        String common = prefixes.get(0);
        for (String prefix : prefixes) {
            int n = 0;
            while (n < common.length() && n < prefix.length() && common.charAt(n) == prefix.charAt(n)) {
                n++;
            }
            if (n > 0 && Character.isHighSurrogate(common.charAt(n - 1))) {
                n--; // not half a character: it would not match as itself
            }
            common = common.substring(0, n);
        }
        String under = common;
        // None covers another (scannedPrefixes): a name under one of them is under the greatest not after it.
        java.util.NavigableSet<String> sorted = new java.util.TreeSet<>(prefixes);
        Thread scanner = new Thread(() -> {
            try {
                for (String lock : store.lockNamesStartingWith(under)) {
                    String floor = sorted.floor(lock);
                    if (floor != null && lock.startsWith(floor) && !scanned(lock)) {
                        return;
                    }
                }
            } catch (RuntimeException e) {
                if (watchingByPrefix()) { // otherwise the watches, or the service, closed meanwhile
                    LOG.log(Level.WARNING, "Could not look for the locks under the {0} watched prefixes (''{1}''...): {2}",
                            prefixes.size(), prefixes.get(0), e.getMessage());
                }
            }
        }, "distlock-watch-scan");
        scanner.setDaemon(true);
        scanner.start();
    }

    private synchronized boolean watchingByPrefix() {
        return !byPrefix.isEmpty();
    }

    /** One step of {@link #scan}: reads {@code lock} if it is new here and watched; whether to go on. */
    private boolean scanned(String name) {
        Watched w;
        synchronized (this) {
            if (byPrefix.isEmpty()) {
                return false; // every prefix unwatched meanwhile
            }
            if (locks.containsKey(name) || byPrefix.stream().noneMatch(watch -> watch.matches(name))) {
                return true; // read by readAll or by its change since, or not under a prefix still watched
            }
            w = new Watched(name);
            // Watched by prefix only, it was forgotten when read free (or never read): its watchers
            // were told it free last, or nothing. A lock just released (its hash keeps the token) is not told.
            w.last = LockState.FREE;
            locks.put(name, w);
        }
        read(w);
        return true;
    }

    /**
     * Reads {@code w}'s state, unless a read runs (then once more after it) or is due (it reads this
     * change too); a read too soon after the last one is due when that one is paced out.
     */
    private void read(Watched w) {
        synchronized (this) {
            if (locks.get(w.lock) != w || w.paced != null) {
                return;
            }
            if (w.reading) {
                w.readAgain = true;
                return;
            }
            long now = config.ticker().read();
            long wait = Math.min(READ_PACE * w.lastReadTook, MAX_READ_PAUSE_NANOS) - (now - w.lastReadEnded);
            if (wait > 0) {
                w.paced = schedule(() -> {
                    synchronized (this) {
                        w.paced = null;
                    }
                    read(w);
                }, wait, TimeUnit.NANOSECONDS);
                return;
            }
            w.reading = true;
            w.readAgain = false;
            w.readStarted = now;
            w.joining.forEach(join -> join.readStarted.add(w.lock));
        }
        CompletionStage<RedisLockStore.Observed> read;
        try {
            read = store.state(w.lock);
        } catch (RuntimeException e) {
            read = CompletableFuture.failedFuture(e);
        }
        read.whenComplete((observed, e) -> {
            if (e != null) {
                readFailed(w, e);
            } else {
                readDone(w, observed);
            }
        });
    }

    private void readDone(Watched w, RedisLockStore.Observed observed) {
        LockState state = observed.state();
        Set<Watch> told = new LinkedHashSet<>();
        List<Join> complete = new ArrayList<>();
        boolean again;
        synchronized (this) {
            w.reading = false;
            if (locks.get(w.lock) != w) {
                // Dropped while this read ran (nobody watched it): what it read may be older than
                // what a read of the lock's next Watched told since. Tell nobody.
                return;
            }
            w.lastReadEnded = config.ticker().read();
            w.lastReadTook = w.lastReadEnded - w.readStarted;
            again = w.readAgain;
            if (!state.equals(w.last)) {
                told.addAll(w.named);
                for (Watch watch : byPrefix) {
                    if (watch.matches(w.lock)) {
                        told.add(watch);
                    }
                }
                told.forEach(watch -> watch.tell(w.lock, state));
            }
            w.last = state;
            for (Join join : w.joining) {
                if (join.readStarted.contains(w.lock) && !join.states.containsKey(w.lock)) {
                    join.states.put(w.lock, state);
                    join.missing.remove(w.lock);
                    if (join.missing.isEmpty()) {
                        complete.add(join);
                    }
                }
            }
            for (Join join : complete) {
                joined(join);
                told.add(join.watch);
            }
            cancelExpiry(w);
            if (w.named.isEmpty() && w.joining.isEmpty() && (!watchedAtAll(w) || state.equals(LockState.FREE) && !again)) {
                // Watched only by a prefix, with nobody in it: forgotten until its next change (unless
                // one came during this read, which may have read the state before it: read again).
                locks.remove(w.lock, w);
                again = false;
            } else if (observed.expiresInMillis() != Long.MAX_VALUE) {
                w.expiry = schedule(() -> read(w), observed.expiresInMillis() + EXPIRY_MARGIN_MILLIS, TimeUnit.MILLISECONDS);
            }
        }
        told.forEach(Watch::flush);
        if (again) {
            read(w);
        }
    }

    /**
     * The first states of {@code join}'s watch are all read: answer, then make its watcher a watcher
     * of those locks, and tell it any state read since its own (after the answer). Only under the lock.
     */
    private void joined(Join join) {
        assert Thread.holdsLock(this);
        Watch watch = join.watch;
        Map<String, LockState> states = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(join.states));
        watch.outbox.add(() -> join.answer.complete(states));
        watch.joins.remove(join);
        if (watch.closed) {
            return;
        }
        for (Map.Entry<String, LockState> first : states.entrySet()) {
            Watched w = locks.get(first.getKey());
            if (w == null || !w.joining.remove(join)) {
                continue; // unwatched meanwhile
            }
            w.named.add(watch);
            watch.names.add(w.lock);
            if (w.last != null && !w.last.equals(first.getValue())) {
                watch.tell(w.lock, w.last);
            }
        }
    }

    private void readFailed(Watched w, Throwable e) {
        List<Join> failed = new ArrayList<>();
        synchronized (this) {
            w.reading = false;
            if (locks.get(w.lock) != w) {
                return; // dropped while this read ran: nobody waits for it (see readDone)
            }
            for (Join join : List.copyOf(w.joining)) { // a copy: abandon removes from it
                if (join.readStarted.contains(w.lock) && !join.states.containsKey(w.lock)) {
                    failed.add(join);
                    abandon(join);
                }
            }
            if (locks.get(w.lock) == w && watchedAtAll(w)) {
                cancelExpiry(w);
                w.expiry = schedule(() -> read(w), retryMillis, TimeUnit.MILLISECONDS);
            } else {
                locks.remove(w.lock, w);
            }
        }
        LOG.log(Level.DEBUG, "Could not read the state of watched lock ''{0}''; trying again: {1}", w.lock, e.getMessage());
        failed.forEach(join -> join.answer.completeExceptionally(RedisLockStore.backendFailure(e)));
    }

    /** A join that failed leaves every lock it was waiting on. */
    private void abandon(Join join) {
        assert Thread.holdsLock(this);
        join.watch.joins.remove(join);
        for (String lock : join.locks) {
            Watched w = locks.get(lock);
            if (w != null && w.joining.remove(join)) {
                dropIfUnwatched(w);
            }
        }
    }

    private boolean watchedAtAll(Watched w) {
        assert Thread.holdsLock(this);
        return !w.named.isEmpty() || !w.joining.isEmpty() || byPrefix.stream().anyMatch(watch -> watch.matches(w.lock));
    }

    /** The locks watched here whose names start with {@code prefix}. */
    private Collection<Watched> under(String prefix) {
        assert Thread.holdsLock(this);
        List<Watched> under = new ArrayList<>();
        for (Map.Entry<String, Watched> e : locks.tailMap(prefix, true).entrySet()) {
            if (!e.getKey().startsWith(prefix)) {
                break;
            }
            under.add(e.getValue());
        }
        return under;
    }

    private void dropIfUnwatched(Watched w) {
        assert Thread.holdsLock(this);
        if (!watchedAtAll(w)) {
            cancelExpiry(w);
            cancelPaced(w);
            locks.remove(w.lock, w);
        }
    }

    private static void cancelExpiry(Watched w) {
        if (w.expiry != null) {
            w.expiry.cancel(false);
            w.expiry = null;
        }
    }

    private static void cancelPaced(Watched w) {
        if (w.paced != null) {
            w.paced.cancel(false);
            w.paced = null;
        }
    }

    private Future<?> schedule(Runnable task, long delay, TimeUnit unit) {
        try {
            return scheduler.schedule(task, delay, unit);
        } catch (RejectedExecutionException e) {
            return null; // the service is closing
        }
    }
}
