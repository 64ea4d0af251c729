package io.distlock.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import picocli.CommandLine;

/** The bench's options: parsed as the issue names them, checked, refused with a one-line reason. */
class BenchCommandTest {

    private static BenchSettings parse(String... args) {
        BenchCommand command = new BenchCommand();
        new CommandLine(command).parseArgs(args);
        return command.settings();
    }

    @Test
    void everyOptionIsParsed() {
        BenchSettings s = parse("--url", "ws://127.0.0.1:8080/distlock/lock", "--url", "ws://127.0.0.1:8081/distlock/lock",
                "--sessions", "64", "--duration", "20s", "--ops", "100000", "--warmup", "500ms", "--scenario", "contended",
                "--hot-locks", "3", "--direct", "redis://127.0.0.1:6379", "--redisson", "redis://127.0.0.1:6379",
                "--redis-stats", "redis://127.0.0.1:6379", "--json", "out/r.json", "--hgrm", "out/r.hgrm",
                "--http-clients", "2", "--server-pid", "11,12");

        assertThat(s.urls()).containsExactly(URI.create("ws://127.0.0.1:8080/distlock/lock"),
                URI.create("ws://127.0.0.1:8081/distlock/lock"));
        assertThat(s.sessions()).isEqualTo(64);
        assertThat(s.duration()).isEqualTo(Duration.ofSeconds(20));
        assertThat(s.ops()).isEqualTo(100_000);
        assertThat(s.warmup()).isEqualTo(Duration.ofMillis(500));
        assertThat(s.scenario()).isEqualTo(Scenario.CONTENDED);
        assertThat(s.hotLocks()).isEqualTo(3);
        assertThat(s.direct()).isEqualTo("redis://127.0.0.1:6379");
        assertThat(s.redisson()).isEqualTo("redis://127.0.0.1:6379");
        assertThat(s.redisStats()).isEqualTo("redis://127.0.0.1:6379");
        assertThat(s.json()).isEqualTo(Path.of("out/r.json"));
        assertThat(s.hgrm()).isEqualTo(Path.of("out/r.hgrm"));
        assertThat(s.httpClients()).isEqualTo(2);
        assertThat(s.serverPids()).containsExactly(11L, 12L);
    }

    @Test
    void defaults() {
        BenchSettings s = parse("--url", "ws://localhost:8080/distlock/lock");
        assertThat(s.sessions()).isEqualTo(16);
        assertThat(s.duration()).isEqualTo(Duration.ofSeconds(20));
        assertThat(s.warmup()).isEqualTo(Duration.ofSeconds(5));
        assertThat(s.ops()).isZero();
        assertThat(s.scenario()).isEqualTo(Scenario.UNCONTENDED);
        assertThat(s.httpClients()).isEqualTo(4);
        assertThat(parse("--direct", "redis://h:1", "--sessions", "2").httpClients()).isEqualTo(2);
        assertThat(parse("--direct", "redis://h:1", "--sessions", "256", "--scenario", "contended").hotLocks()).isEqualTo(16);
        assertThat(parse("--direct", "redis://h:1", "--sessions", "1", "--scenario", "MIXED").hotLocks()).isEqualTo(2);
    }

    @Test
    void queuedAndSharedOptions() {
        BenchSettings s = parse("--url", "ws://h:1/x", "--scenario", "shared", "--wait", "--also-retry", "--readers", "75",
                "--sessions", "64");
        assertThat(s.scenario()).isEqualTo(Scenario.SHARED);
        assertThat(s.queue()).isTrue();
        assertThat(s.alsoRetry()).isTrue();
        assertThat(s.readers()).isEqualTo(75);
        assertThat(s.hotLocks()).isEqualTo(4);

        BenchSettings plain = parse("--url", "ws://h:1/x", "--scenario", "shared");
        assertThat(plain.queue()).isFalse();
        assertThat(plain.alsoRetry()).isFalse();
        assertThat(plain.readers()).isEqualTo(90);
        assertThat(parse("--url", "ws://h:1/x").queue()).isFalse();
    }

    @Test
    void queuedAndSharedOptionsAreRefusedWhereTheyMeanNothing() {
        assertThatThrownBy(() -> parse("--url", "ws://h:1/x", "--also-retry"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--wait");
        assertThatThrownBy(() -> parse("--url", "ws://h:1/x", "--scenario", "contended", "--readers", "50"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--scenario shared");
        assertThatThrownBy(() -> parse("--url", "ws://h:1/x", "--scenario", "shared", "--readers", "101"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--readers");
        assertThatThrownBy(() -> parse("--url", "ws://h:1/x", "--scenario", "idle", "--wait"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("idle");
    }

    @Test
    void watchersOnASecondNode() {
        BenchSettings s = parse("--direct", "redis://h:1", "--watchers", "1000", "--watch-by", "prefix");
        assertThat(s.watching()).isEqualTo(new WatchingNode.Spec(1000, WatchingNode.By.PREFIX, "redis://h:1"));
        assertThat(parse("--url", "ws://h:1/x", "--watchers", "5", "--watch-redis", "redis://r:2").watching())
                .isEqualTo(new WatchingNode.Spec(5, WatchingNode.By.NAMES, "redis://r:2"));
        assertThat(parse("--direct", "redis://h:1").watching()).isEqualTo(WatchingNode.Spec.NONE);

        assertThatThrownBy(() -> parse("--url", "ws://h:1/x", "--watchers", "5"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--watch-redis");
        assertThatThrownBy(() -> parse("--redisson", "redis://h:1", "--watchers", "5", "--watch-redis", "redis://h:1"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--url or --direct");
        assertThatThrownBy(() -> parse("--direct", "redis://h:1", "--watchers", "-1"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--watchers");
        assertThatThrownBy(() -> parse("--direct", "redis://h:1", "--watchers", "2", "--watch-by", "regex"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("names or prefix");
        assertThatThrownBy(() -> parse("--url", "ws://h:1/x", "--scenario", "idle", "--watchers", "2", "--watch-redis", "redis://h:1"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("idle");
    }

    @Test
    void noWatchingIsForTheDirectPhaseWithoutWatchers() {
        assertThat(parse("--direct", "redis://h:1").directWatching()).isTrue();
        assertThat(parse("--direct", "redis://h:1", "--no-watching").directWatching()).isFalse();
        assertThatThrownBy(() -> parse("--url", "ws://h:1/x", "--no-watching"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--no-watching");
        assertThatThrownBy(() -> parse("--direct", "redis://h:1", "--no-watching", "--watchers", "5"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--no-watching");
    }

    @Test
    void durationsTakeUnits() {
        BenchCommand.DurationConverter c = new BenchCommand.DurationConverter();
        assertThat(c.convert("20s")).isEqualTo(Duration.ofSeconds(20));
        assertThat(c.convert("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(c.convert("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(c.convert("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.convert("7")).isEqualTo(Duration.ofSeconds(7));
        assertThatThrownBy(() -> c.convert("soon")).isInstanceOf(CommandLine.TypeConversionException.class);
    }

    @Test
    void badOptionsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> parse("--sessions", "4")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("nothing to measure");
        assertThatThrownBy(() -> parse("--url", "http://localhost:8080/")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("ws://");
        assertThatThrownBy(() -> parse("--direct", "localhost:6379")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("redis://");
        assertThatThrownBy(() -> parse("--direct", "redis://h:1", "--sessions", "0"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--sessions");
        assertThatThrownBy(() -> parse("--direct", "redis://h:1", "--scenario", "idle"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--url");
        assertThatThrownBy(() -> parse("--url", "ws://h:1/x", "--server-pid", "1,2"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("--server-pid");
        assertThatThrownBy(() -> parse("--direct", "redis://h:1", "--scenario", "busy"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("uncontended, contended, mixed, shared or idle");
    }

    @Test
    void usageListsTheOptions() {
        CommandLine bench = new CommandLine(new BenchCommand());
        assertThat(bench.getCommandName()).isEqualTo("bench");
        assertThat(bench.getUsageMessage()).contains("--url", "--sessions", "--duration", "--ops", "--warmup", "--scenario",
                "--direct", "--redisson", "--redis-stats", "--json", "--hgrm", "--wait", "--also-retry", "--readers",
                "--watchers", "--watch-by", "--watch-redis");
    }
}
