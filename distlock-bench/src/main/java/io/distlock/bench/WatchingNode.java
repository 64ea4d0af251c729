package io.distlock.bench;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import io.distlock.core.LockConfig;
import io.distlock.core.LockService;
import io.distlock.core.LockWatch;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;

import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.client.NettyHook;
import org.redisson.client.codec.StringCodec;
import org.redisson.client.protocol.CommandData;
import org.redisson.client.protocol.CommandsData;
import org.redisson.config.Config;

import picocli.CommandLine;

/**
 * {@code --watchers N}: a second node in this JVM (a {@link LockService} with a Redisson client
 * of its own, set up as {@link LockService#connect} sets up one) holding {@code N}
 * {@link LockWatch}es of a phase's locks, each with a watcher of its own, as a node holding
 * {@code N} browsers' watches would. It is opened before the phase's warm-up and closed after
 * its measured time; it counts the changes told to its watchers, and the state reads it made.
 *
 * <p>The reads are counted where they leave: the {@code EVAL}/{@code EVALSHA} commands its client
 * writes (a Netty handler on each of its connections). The node has no sessions, so reading the
 * state of watched locks is the only script it runs.
 *
 * <p>It shares this machine's cores with the measured node, the bench and Redis: what the
 * measured phase loses with watchers includes this node's CPU, as it would if both nodes ran on
 * one machine.
 */
final class WatchingNode implements AutoCloseable {

    /** How the watchers name what they watch. */
    enum By {
        /** Each watcher watches every name of the phase ({@link LockWatch#watch}). */
        NAMES,
        /** Each watcher watches the phase's prefix ({@link LockWatch#watchPrefix}). */
        PREFIX;

        String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        static final class Converter implements CommandLine.ITypeConverter<By> {
            @Override
            public By convert(String value) {
                for (By b : values()) {
                    if (b.wire().equalsIgnoreCase(value)) {
                        return b;
                    }
                }
                throw new CommandLine.TypeConversionException("'" + value + "' is not names or prefix");
            }
        }
    }

    /**
     * The watchers of a run, as the options gave them.
     *
     * @param watchers how many (0: none, no second node)
     * @param by       by names or by prefix
     * @param redis    the Redis the phases' locks are in
     */
    record Spec(int watchers, By by, String redis) {
        static final Spec NONE = new Spec(0, By.NAMES, null);

        Spec {
            if (watchers < 0) {
                throw new IllegalArgumentException("--watchers must not be negative, was " + watchers);
            }
            if (by == null) {
                throw new IllegalArgumentException("--watch-by must be names or prefix");
            }
            if (watchers > 0 && redis == null) {
                throw new IllegalArgumentException("--watchers needs the Redis the locks are in: give --direct or --watch-redis");
            }
        }
    }

    /**
     * What the watchers saw in a phase's measured time.
     *
     * @param watchers    how many watched
     * @param by          by names or by prefix
     * @param openSeconds how long opening them took (every watch answered)
     * @param deliveries  changes told to the watchers ({@code CHANGED} pushes a server would send)
     * @param reads       state reads the watching node made
     * @param notices     change notices ({@code <prefix>:changed} messages) the watching node received
     */
    record Counts(int watchers, By by, double openSeconds, long deliveries, long reads, long notices) {
        static final Counts NONE = new Counts(0, By.NAMES, 0, 0, 0, 0);
    }

    private static final int OPENING_AT_ONCE = 32;

    private final RedissonClient client;
    private final LockService service;
    private final List<LockWatch> watches = new ArrayList<>();
    private final LongAdder told = new LongAdder();
    private final LongAdder scripts = new LongAdder();
    private final LongAdder notices = new LongAdder();
    private final int watchers;
    private final By by;
    private double openSeconds;

    private WatchingNode(Spec spec) {
        this.watchers = spec.watchers();
        this.by = spec.by();
        Config config = LockService.redissonConfig(spec.redis());
        config.setNettyHook(new NettyHook() {
            @Override
            public void afterBoostrapInitialization(Bootstrap bootstrap) {
            }

            @Override
            public void afterChannelInitialization(Channel channel) {
                channel.pipeline().addLast(new ScriptCounter(scripts));
            }
        });
        this.client = Redisson.create(config);
        try {
            LockConfig lockConfig = LockConfig.defaults();
            this.service = LockService.create(client, lockConfig);
            // A listener of our own on the changes channel, beside the node's (one subscription, as
            // Redisson shares it): how many notices reached this node in the measured time, to tell
            // reads saved by coalescing from notices not yet received.
            client.getTopic(lockConfig.keyPrefix() + ":changed", StringCodec.INSTANCE)
                    .addListener(String.class, (channel, lock) -> notices.increment());
        } catch (RuntimeException e) {
            client.shutdown();
            throw e;
        }
    }

    /**
     * Opens the node and its watchers, every one watching {@code names} or {@code prefix}; returns
     * when every watch was answered. Prints one line when done.
     *
     * @throws IllegalStateException if the watches were not all answered within {@code timeout}
     */
    static WatchingNode open(Spec spec, List<String> names, String prefix, Duration timeout, PrintWriter out, String label)
            throws InterruptedException {
        WatchingNode node = new WatchingNode(spec);
        try {
            node.watchAll(names, prefix, timeout);
        } catch (RuntimeException | InterruptedException e) {
            node.close();
            throw e;
        }
        out.printf("%s: %,d watchers by %s (%,d names each) on a second node, opened in %.1f s%n", label, spec.watchers(),
                spec.by().wire(), spec.by() == By.NAMES ? names.size() : 0, node.openSeconds);
        out.flush();
        return node;
    }

    private void watchAll(List<String> names, String prefix, Duration timeout) throws InterruptedException {
        long start = System.nanoTime();
        Semaphore permits = new Semaphore(OPENING_AT_ONCE);
        List<CompletableFuture<?>> answers = new ArrayList<>();
        for (int i = 0; i < watchers; i++) {
            LockWatch watch = service.watch((lock, state) -> told.increment());
            watches.add(watch);
            permits.acquire();
            CompletableFuture<?> answer = (by == By.NAMES ? watch.watch(names) : watch.watchPrefix(prefix)).toCompletableFuture();
            answer.whenComplete((v, e) -> permits.release());
            answers.add(answer);
        }
        try {
            CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("a watch failed: " + Phase.rootMessage(e), e);
        } catch (java.util.concurrent.TimeoutException e) {
            long done = answers.stream().filter(CompletableFuture::isDone).count();
            throw new IllegalStateException(done + " of " + watchers + " watches answered within " + timeout.toSeconds() + " s");
        }
        openSeconds = (System.nanoTime() - start) / 1e9;
    }

    /** Changes told so far. */
    long told() {
        return told.sum();
    }

    /** State reads so far. */
    long reads() {
        return scripts.sum();
    }

    /** Change notices received so far. */
    long notices() {
        return notices.sum();
    }

    /** The counts between {@code toldBefore}/{@code readsBefore}/{@code noticesBefore} and now. */
    Counts since(long toldBefore, long readsBefore, long noticesBefore) {
        return new Counts(watchers, by, openSeconds, told() - toldBefore, reads() - readsBefore, notices() - noticesBefore);
    }

    @Override
    public void close() {
        RuntimeException failure = null;
        for (LockWatch w : watches) {
            try {
                w.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        try {
            service.close();
        } finally {
            client.shutdown();
        }
        if (failure != null) {
            throw failure;
        }
    }

    /** Counts the scripts a connection writes; one per connection (not sharable). */
    private static final class ScriptCounter extends ChannelOutboundHandlerAdapter {
        private final LongAdder scripts;

        ScriptCounter(LongAdder scripts) {
            this.scripts = scripts;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof CommandData<?, ?> command) {
                count(command);
            } else if (msg instanceof CommandsData batch) {
                batch.getCommands().forEach(this::count);
            }
            super.write(ctx, msg, promise);
        }

        private void count(CommandData<?, ?> command) {
            String name = command.getCommand().getName();
            if (name.equals("EVALSHA") || name.equals("EVAL")) {
                scripts.increment();
            }
        }
    }
}
