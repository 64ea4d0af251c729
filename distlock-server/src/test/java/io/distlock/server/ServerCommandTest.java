package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

/** The command line: parsing, help, version, and the one-line errors (only the paths that do not start a server). */
class ServerCommandTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @Test
    void noArgumentsGiveTheDefaults() {
        assertThat(ServerCommand.parse()).usingRecursiveComparison().isEqualTo(ServerOptions.defaults());
    }

    @Test
    void everyOptionIsParsed() {
        ServerOptions o = ServerCommand.parse("--port", "9000", "--host", "127.0.0.1", "--redis", "rediss://r.example.com:6380",
                "--path", "/locks", "--lease-ms", "2500", "--allowed-origin", "https://a.example.com",
                "--allowed-origin", "https://b.example.com,http://localhost:3000",
                "--allowed-host", "Locks.example.com", "--allowed-host", "10.0.0.7:8080,[::1]", "--hide-holder", "--allow-steal", "--key-prefix", "app1",
                "--replica-sync-ms", "250", "--no-data-loss-quarantine", "--no-watching", "--ping-ms", "5000",
                "--max-connections", "500", "--max-queued-bytes", "262144", "--max-connections-per-address", "64",
                "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "192.0.2.7,fd00::/8", "--http-timeout-ms", "5000",
                "--max-request-head-bytes", "16384", "--no-demo", "--verbose");
        assertThat(o.port()).isEqualTo(9000);
        assertThat(o.host()).isEqualTo("127.0.0.1");
        assertThat(o.redisUrl()).isEqualTo("rediss://r.example.com:6380");
        assertThat(o.path()).isEqualTo("/locks");
        assertThat(o.lease()).isEqualTo(Duration.ofMillis(2500));
        assertThat(o.allowedOrigins()).containsExactly("https://a.example.com", "https://b.example.com", "http://localhost:3000");
        assertThat(o.allowedHosts()).containsExactly("Locks.example.com", "10.0.0.7:8080", "[::1]");
        assertThat(o.hideHolder()).isTrue();
        assertThat(o.allowSteal()).isTrue();
        assertThat(o.keyPrefix()).isEqualTo("app1");
        assertThat(o.replicaSync()).isEqualTo(Duration.ofMillis(250));
        assertThat(o.dataLossQuarantine()).isFalse();
        assertThat(o.watching()).isFalse();
        assertThat(o.pingInterval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(o.maxConnections()).isEqualTo(500);
        assertThat(o.maxQueuedBytes()).isEqualTo(262_144);
        assertThat(o.maxConnectionsPerAddress()).isEqualTo(64);
        assertThat(o.trustedProxies()).containsExactly("10.0.0.0/8", "192.0.2.7", "fd00:0:0:0:0:0:0:0/8");
        assertThat(o.httpTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(o.maxRequestHeadBytes()).isEqualTo(16_384);
        assertThat(o.demo()).isFalse();

        assertThat(ServerCommand.parse("--redis-config", "sentinel.yaml").redisConfig()).isEqualTo(Path.of("sentinel.yaml"));
        assertThat(ServerCommand.parse("--rate-limit", "100000").rateLimit()).isEqualTo(100_000);
        assertThat(ServerCommand.parse("--replica-sync-ms", "0").replicaSync()).isZero();
    }

    @Test
    void replicaSyncDefaultsToOneSecondAndFollowsAShortLease() {
        assertThat(ServerCommand.parse().replicaSync()).isEqualTo(Duration.ofSeconds(1));
        assertThat(ServerCommand.parse().pingInterval()).isEqualTo(Duration.ofSeconds(15));
        assertThat(ServerCommand.parse().maxConnections()).isEqualTo(10_000);
        assertThat(ServerCommand.parse().maxQueuedBytes()).isEqualTo(1L << 20);
        assertThat(ServerCommand.parse().maxRequestHeadBytes()).isEqualTo(8192);
        assertThat(ServerCommand.parse("--lease-ms", "1500").replicaSync()).isEqualTo(Duration.ofMillis(500));
        assertThat(ServerCommand.parse("--lease-ms", "1500", "--replica-sync-ms", "0").replicaSync()).isZero();
    }

    @Test
    void badValuesAreParameterErrors() {
        assertThatThrownBy(() -> ServerCommand.parse("--port", "http")).isInstanceOf(CommandLine.ParameterException.class);
        assertThatThrownBy(() -> ServerCommand.parse("--lease-ms", "10")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("lease must be at least 300 ms");
        assertThatThrownBy(() -> ServerCommand.parse("--redis", "redis://h:1", "--redis-config", "r.yaml"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("not both");
        assertThatThrownBy(() -> ServerCommand.parse("--replica-sync-ms", "-1")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("replica sync");
        assertThatThrownBy(() -> ServerCommand.parse("--lease-ms", "2000", "--replica-sync-ms", "1000"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("replica sync must be at most a third of the lease");
        assertThatThrownBy(() -> ServerCommand.parse("--ping-ms", "5")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("ping interval must be at least 10 ms");
        assertThatThrownBy(() -> ServerCommand.parse("--max-connections", "0")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("max connections must be at least 1");
        assertThatThrownBy(() -> ServerCommand.parse("--max-queued-bytes", "65536")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("max queued bytes must be at least 131072");
        assertThatThrownBy(() -> ServerCommand.parse("--max-connections", "many")).isInstanceOf(CommandLine.ParameterException.class);
        assertThatThrownBy(() -> ServerCommand.parse("--http-timeout-ms", "50")).isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("HTTP timeout must be at least 100 ms");
        for (String bytes : new String[] {"1023", "1048577"}) {
            assertThatThrownBy(() -> ServerCommand.parse("--max-request-head-bytes", bytes)).isInstanceOf(CommandLine.ParameterException.class)
                    .hasMessageContaining("max request head bytes must be between 1024 and 1048576, was " + bytes);
        }
        assertThatThrownBy(() -> ServerCommand.parse("--max-connections-per-address", "0"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("max connections per address must be at least 1");
        // Found by review (2026-12-05): a '%' in the password that starts no %XX is a URL that cannot be parsed; say how to write it.
        for (String password : new String[] {"s3cr%t-PASSWORD", "a#b-PASSWORD", "a/b-PASSWORD"}) {
            assertThatThrownBy(() -> ServerCommand.parse("--redis", "redis://:" + password + "@127.0.0.1:6379"))
                    .isInstanceOf(CommandLine.ParameterException.class)
                    .hasMessageContaining("was 'redis://:***@127.0.0.1:6379'; a user name or password in it is percent-encoded: write % as %25")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain("PASSWORD"));
        }
        assertThatThrownBy(() -> ServerCommand.parse("--trusted-proxy", "lb.example.com"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("no host names");
        for (String host : new String[] {"https://locks.example.com", "locks.example.com/", "locks.example.com:99999", "locks example"}) {
            assertThatThrownBy(() -> ServerCommand.parse("--allowed-host", host)).isInstanceOf(CommandLine.ParameterException.class)
                    .hasMessageContaining("allowed host '" + host + "' is not a host name");
        }
        assertThatThrownBy(() -> ServerCommand.parse("--allowed-origin", "https://*.example.com"))
                .isInstanceOf(CommandLine.ParameterException.class)
                .hasMessageContaining("'https://*.example.com'; only a lone \"*\" (any origin) is supported");
        assertThatThrownBy(() -> ServerCommand.parse("--allowed-host", "a.example,,b.example"))
                .isInstanceOf(CommandLine.ParameterException.class).hasMessageContaining("allowed host '' is not");
    }

    @Test
    void helpListsEveryOptionAndExitsZero() {
        assertThat(run("--help")).isZero();
        assertThat(text(out)).contains("--port", "--host", "--redis", "--redis-config", "--path", "--lease-ms",
                "--allowed-origin", "--allowed-host", "--hide-holder", "--key-prefix", "--rate-limit", "--replica-sync-ms", "--no-data-loss-quarantine", "--no-watching", "--ping-ms",
                "--max-connections", "--max-queued-bytes", "--max-connections-per-address", "--trusted-proxy", "--http-timeout-ms",
                "--max-request-head-bytes", "--no-demo", "--verbose", "--version", "default: 8080", "default: 10000)", "default: 1048576,", "default: 256)",
                "default: 10000,");
    }

    @Test
    void versionNamesTheServer() {
        assertThat(run("--version")).isZero();
        assertThat(text(out)).startsWith("distlock-server ");
    }

    @Test
    void aBadOptionIsOneLineAndAHintWithExitCode2() {
        assertThat(run("--port", "eighty")).isEqualTo(2);
        assertThat(text(err).lines()).hasSize(2);
        assertThat(text(err)).startsWith("distlock-server: ").contains("--port").contains("--help");
    }

    @Test
    void aKeyPrefixTheCoreRefusesIsABadOption() {
        // Found by review (2026-12-05): checked only when the service was built, it exited 1 as "could not start".
        assertThat(run("--key-prefix", "app{")).isEqualTo(2);
        assertThat(text(err)).startsWith("distlock-server: ").contains("{tag}").contains("--help");
    }

    @Test
    void theJoinCommandCarriesTheSettingsEveryNodeOfAPrefixShares() {
        // Found by review (2026-12-05): it carried the port and the Redis URL only, so a node started
        // with --key-prefix app1 was joined by one of prefix distlock, sharing no locks.
        String url = "redis://127.0.0.1:40213";
        assertThat(ServerCommand.joinCommand(ServerOptions.defaults(), 8080, url))
                .isEqualTo("java -jar distlock-server.jar --port 8081 --redis " + url);
        ServerOptions chosen = ServerOptions.builder().host("127.0.0.1").keyPrefix("app{1}").lease(Duration.ofSeconds(30))
                .watching(false).dataLossQuarantine(false).build();
        assertThat(ServerCommand.joinCommand(chosen, 8080, url)).isEqualTo("java -jar distlock-server.jar --port 8081 --host 127.0.0.1"
                + " --key-prefix 'app{1}' --lease-ms 30000 --no-watching --no-data-loss-quarantine --redis " + url);
        // A joining node without the Host list would take rebound handshakes (DNS rebinding) again.
        ServerOptions hosts = ServerOptions.builder().allowedHosts(List.of("locks.example.com", "[::1]:8080")).build();
        assertThat(ServerCommand.joinCommand(hosts, 8080, url)).isEqualTo("java -jar distlock-server.jar --port 8081"
                + " --allowed-host 'locks.example.com,[::1]:8080' --redis " + url);
        assertThat(ServerCommand.parse("--allowed-host", "locks.example.com,[::1]:8080").allowedHosts())
                .as("the line parses back").isEqualTo(hosts.allowedHosts());
        // Found by review (2026-12-05): a joining node without it named the holders the first keeps private.
        assertThat(ServerCommand.joinCommand(ServerOptions.builder().hideHolder(true).build(), 8080, url))
                .isEqualTo("java -jar distlock-server.jar --port 8081 --hide-holder --redis " + url);
        // A joining node without it would open the demo's store on the shared Redis again.
        assertThat(ServerCommand.joinCommand(ServerOptions.builder().demo(false).build(), 8080, url))
                .isEqualTo("java -jar distlock-server.jar --port 8081 --no-demo --redis " + url);
    }

    @Test
    void aBadBenchOptionPointsToTheBenchsHelp() {
        // The hint named the server's --help, which does not list the bench's options.
        assertThat(run("bench", "--bogus")).isEqualTo(2);
        assertThat(text(err).lines()).containsExactly("distlock-server bench: Unknown option: '--bogus'",
                "Try 'distlock-server bench --help' for the options.");
    }

    @Test
    void aPortInUseIsOneLineWithExitCode1() throws IOException {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress("127.0.0.1", 0));
            assertThat(run("--host", "127.0.0.1", "--port", Integer.toString(taken.getLocalPort()))).isEqualTo(1);
            assertThat(text(err).lines()).containsExactly("distlock-server: port " + taken.getLocalPort()
                    + " is already in use on 127.0.0.1 (another server is listening there; choose another with --port)");
        }
    }

    /**
     * Found by review: a --host that does not resolve was found only after the embedded Redis had
     * been started (with port 0). It is one line before anything starts, with exit code 1, not a bad
     * option's 2: a resolver that does not answer yet (a node started before its DNS) looks the same
     * to Java, and a restart cures that (a unit with RestartPreventExitStatus=2 would not restart).
     * Names under .invalid never resolve (RFC 2606).
     */
    @Test
    void aHostThatDoesNotResolveIsOneLineWithExitCode1() {
        for (String port : new String[] {"0", "8080"}) {
            err.reset();
            assertThat(run("--host", "nohost.invalid", "--port", port)).as("--port %s", port).isEqualTo(1);
            assertThat(text(err).lines()).containsExactly("distlock-server: --host nohost.invalid does not resolve to an address"
                    + " (give a name or address of this machine, or 0.0.0.0 for every interface)");
        }
    }

    /**
     * Found by review (2026-12-07): a file the option names that cannot be used exited 1, as if the
     * machine or Redis were at fault; the command line is, as for a bad option. No --help hint: the
     * help says nothing of the file's settings.
     */
    @Test
    void aRedissonFileThatCannotBeUsedIsOneLineWithExitCode2(@TempDir Path dir) throws IOException {
        assertThat(run("--host", "127.0.0.1", "--port", "0", "--redis-config", "/no/such/redisson.yaml")).isEqualTo(2);
        assertThat(text(err).lines()).containsExactly("distlock-server: Redisson configuration file /no/such/redisson.yaml does not exist");

        err.reset();
        assertThat(run("--host", "127.0.0.1", "--port", "0", "--redis-config", dir.toString())).isEqualTo(2);
        assertThat(text(err).lines()).containsExactly("distlock-server: Redisson configuration file " + dir + " is a directory");

        Path empty = Files.createFile(dir.resolve("empty.yaml"));
        err.reset();
        assertThat(run("--host", "127.0.0.1", "--port", "0", "--redis-config", empty.toString())).isEqualTo(2);
        assertThat(text(err).lines()).containsExactly("distlock-server: Redisson configuration file " + empty
                + " configures no Redis server (it is empty): give it one of " + RedissonConfigFile.SERVER_SECTIONS);

        Path unknown = Files.writeString(dir.resolve("bad.yaml"), "redis: x\n");
        err.reset();
        assertThat(run("--host", "127.0.0.1", "--port", "0", "--redis-config", unknown.toString())).isEqualTo(2);
        assertThat(text(err).lines()).containsExactly("distlock-server: Redisson configuration file " + unknown
                + " has an unknown setting 'redis' (line 1)");
    }

    /**
     * Found by review (2026-12-07): descriptions given as several strings are cut where the strings
     * end, whatever the terminal's width, and picocli indents the rest of each one, so --help showed
     * ragged paragraphs. One string each: picocli wraps it to the width.
     */
    @Test
    void everyOptionDescriptionIsOneParagraphPicocliWraps() {
        CommandLine cl = ServerCommand.commandLine(new ServerCommand(System.out, System.err));
        for (CommandLine.Model.OptionSpec option : cl.getCommandSpec().options()) {
            assertThat(option.description()).as(option.longestName()).hasSize(1);
            assertThat(option.description()[0]).as(option.longestName()).doesNotContain("%n", "\n");
        }
    }

    private int run(String... args) {
        return ServerCommand.execute(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), args);
    }

    private static String text(ByteArrayOutputStream stream) {
        return stream.toString(StandardCharsets.UTF_8);
    }
}
