package io.distlock.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.redisson.config.Config;

import picocli.CommandLine;

/** docs/operations.md stays true: its Redisson samples parse, and it documents every option. */
class OperationsDocTest {

    private static String doc;

    @BeforeAll
    static void read() throws IOException {
        doc = Files.readString(Path.of("..", "docs", "operations.md"));
    }

    @Test
    void theRedissonSamplesAreValidRedissonConfigurations() throws IOException {
        List<Config> configs = new ArrayList<>();
        Matcher yaml = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL).matcher(doc);
        while (yaml.find()) {
            configs.add(Config.fromYAML(yaml.group(1)));
        }
        assertThat(configs).hasSize(3);
        // a single server over TLS with an ACL user, the login where Redisson 4 wants it (no deprecation warning)
        assertThat(configs.get(0).isSingleConfig()).isTrue();
        assertThat(configs.get(0).useSingleServer().getAddress()).startsWith("rediss://");
        assertThat(configs.get(0).getUsername()).isEqualTo("distlock");
        assertThat(configs.get(0).getPassword()).isNotBlank();
        assertThat(configs.get(1).isSentinelConfig()).isTrue();
        assertThat(configs.get(2).isClusterConfig()).isTrue();
    }

    /** The lines "A Redisson file the server cannot use" quotes are the server's, from files that give them. */
    @Test
    void theRedissonFileErrorsAreQuotedAsTheServerWritesThem(@TempDir Path dir) throws IOException {
        Matcher block = Pattern.compile("### A Redisson file the server cannot use\n.*?```\n(.*?)```", Pattern.DOTALL).matcher(doc);
        assertThat(block.find()).isTrue();
        List<String> texts = List.of(
                "",
                "singleServerConfig:\n  connectTimeout: 1000\n",
                "singleServerConfig:\n  adress: \"redis://10.0.0.1:6379\"\n",
                "singleServerConfig:\n  address: \"redis://10.0.0.1:6379\"\nusername: distlock\npassword: pw\nthreads: four\n",
                "singleServerConfig:\n  address: \"redis://10.0.0.1:6379\"\n  password: \"pw\n");
        List<String> lines = new ArrayList<>();
        Path directory = Files.createDirectory(dir.resolve("d")).resolve("redisson.yaml");
        Files.createDirectory(directory);
        lines.add(errorLine(directory));
        for (int i = 0; i < texts.size(); i++) {
            Path file = Files.createDirectory(dir.resolve("f" + i)).resolve("redisson.yaml");
            Files.writeString(file, texts.get(i));
            lines.add(errorLine(file));
        }
        assertThat(block.group(1).lines()).containsExactlyElementsOf(lines);
    }

    /** What the command prints for this file, with the path as the doc writes it. */
    private static String errorLine(Path file) {
        try {
            RedissonConfigFile.read(file);
            throw new AssertionError(file + " was read");
        } catch (StartupException e) {
            return "distlock-server: " + e.getMessage().replace(file.toString(), "redisson.yaml");
        }
    }

    @Test
    void everyOptionOfTheCommandLineIsDocumented() {
        CommandLine cl = ServerCommand.commandLine(new ServerCommand(System.out, System.err));
        for (CommandLine.Model.OptionSpec option : cl.getCommandSpec().options()) {
            assertThat(doc).as("operations.md documents %s", option.longestName()).contains("`" + option.longestName());
        }
    }
}
