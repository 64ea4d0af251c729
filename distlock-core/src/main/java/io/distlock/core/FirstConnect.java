package io.distlock.core;

import java.net.SocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;

import org.redisson.Redisson;
import org.redisson.api.RedissonClient;
import org.redisson.client.NettyHook;
import org.redisson.config.Config;

/**
 * {@code Redisson.create} for a client of distlock's own (one Redis URL), given up after
 * {@link LockService#CONNECT_DEADLINE}, with what was seen on the wire in words.
 *
 * <p>Redisson tries its first connect five times (retryAttempts 4), 1 to 2 s apart, each up to
 * its connect timeout (10 s), Netty's TLS handshake timeout (10 s) or its command timeout (3 s,
 * for the AUTH or PING a connection starts with). Against something that accepts connections
 * and answers nothing (a plain Redis port given {@code rediss://}, a paused Redis) that was 23
 * to 58 s of silence and then the last attempt's message. Those settings stay Redisson's: the
 * running client's commands, subscriptions and reconnects use them too. Only the wait for the
 * first connect is cut: Redisson goes on in the background until its attempts end (then it shuts
 * itself down), and a client it makes after the deadline is shut down.
 */
final class FirstConnect {

    private FirstConnect() {
    }

    /**
     * The client, or Redisson's failure if its attempts end before the deadline (a refused
     * connection, a refused login, an untrusted certificate: a few seconds), or a
     * {@link BackendUnavailableException} saying what the connections saw by the deadline.
     */
    static RedissonClient create(Config config, String redisUrl, Duration deadline) {
        Wire wire = new Wire();
        boolean tls = redisUrl.regionMatches(true, 0, "rediss:", 0, 7);
        Config watched = new Config(config);
        NettyHook hook = config.getNettyHook();
        watched.setNettyHook(new NettyHook() {
            @Override
            public void afterBoostrapInitialization(Bootstrap bootstrap) {
                hook.afterBoostrapInitialization(bootstrap);
            }

            @Override
            public void afterChannelInitialization(Channel channel) {
                hook.afterChannelInitialization(channel);
                if (!wire.done) { // the running client's later connections are not watched
                    channel.pipeline().addFirst(wire.new Raw());
                    if (tls) {
                        channel.pipeline().addLast(wire.new Handshake());
                    }
                }
            }
        });
        CompletableFuture<RedissonClient> created = new CompletableFuture<>();
        Thread connecting = new Thread(() -> {
            try {
                created.complete(Redisson.create(watched));
            } catch (Throwable e) {
                created.completeExceptionally(e);
            }
        }, "distlock-redis-connect " + LockService.hostAndPort(redisUrl));
        connecting.setDaemon(true);
        connecting.start();
        try {
            return created.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw new BackendUnavailableException(String.valueOf(e.getCause()), e.getCause());
        } catch (TimeoutException e) {
            created.thenAccept(RedissonClient::shutdown);
            throw new BackendUnavailableException(wire.words(redisUrl, tls, deadline), null);
        } catch (InterruptedException e) {
            created.thenAccept(RedissonClient::shutdown);
            Thread.currentThread().interrupt();
            throw new BackendUnavailableException("interrupted while connecting to Redis", e);
        } finally {
            wire.done = true;
        }
    }

    /** What the first connect's connections saw: shared by the handlers of every one of them. */
    private static final class Wire {
        volatile boolean done;
        volatile boolean connected;
        volatile boolean answered;
        volatile Throwable connectFailure;
        volatile Throwable handshakeFailure;

        String words(String redisUrl, boolean tls, Duration deadline) {
            String within = " within " + deadline.toSeconds() + " s";
            if (!connected) {
                Throwable failure = connectFailure;
                String unanswered = " (a wrong host, or a firewall that drops packets?)";
                if (failure == null) {
                    return "no TCP connection to Redis" + within + ": nothing answered at that address" + unanswered;
                }
                return "no TCP connection to Redis" + within + ": " + LockService.connectFailure(failure)
                        + (failure instanceof ConnectTimeoutException ? unanswered : "");
            }
            Throwable handshake = handshakeFailure;
            if (tls && handshake != null) {
                return LockService.connectFailure(handshake);
            }
            if (!answered) {
                return tls ? LockService.silentRedis("the TLS handshake", within, true)
                        : LockService.silentRedis(hasLogin(redisUrl) ? "AUTH" : "PING", within, false);
            }
            return "Redis answered, but the connection was not ready" + within + ": is it still loading its data, or overloaded?";
        }

        private static boolean hasLogin(String redisUrl) {
            try {
                return URI.create(redisUrl).getRawUserInfo() != null;
            } catch (IllegalArgumentException e) {
                return true; // Redisson parsed it where Java does not: a password with characters a URI takes apart
            }
        }

        /** First in the pipeline: the TCP connection and raw bytes, before TLS. */
        final class Raw extends ChannelDuplexHandler {
            @Override
            public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local, ChannelPromise promise)
                    throws Exception {
                promise.addListener(f -> {
                    if (!f.isSuccess()) {
                        connectFailure = f.cause();
                    }
                });
                super.connect(ctx, remote, local, promise);
            }

            @Override
            public void channelActive(ChannelHandlerContext ctx) throws Exception {
                connected = true;
                super.channelActive(ctx);
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
                answered = true;
                ctx.pipeline().remove(this); // all it needed to see
                super.channelRead(ctx, msg);
            }
        }

        /** Last in the pipeline: how a TLS handshake failed (Netty's event carries the cause). */
        final class Handshake extends ChannelInboundHandlerAdapter {
            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
                if (evt instanceof SslHandshakeCompletionEvent completion) {
                    if (!completion.isSuccess()) {
                        handshakeFailure = completion.cause();
                    }
                    ctx.pipeline().remove(this);
                }
                super.userEventTriggered(ctx, evt);
            }
        }
    }
}
