package io.distlock.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.redisson.config.BaseConfig;
import org.redisson.config.ClusterServersConfig;
import org.redisson.config.Config;
import org.redisson.config.ConfigSupport;
import org.redisson.config.MasterSlaveServersConfig;
import org.redisson.config.ReplicatedServersConfig;
import org.redisson.config.SentinelServersConfig;
import org.redisson.config.SingleServerConfig;
import org.yaml.snakeyaml.constructor.ConstructorException;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads the {@code --redis-config} file, a Redisson YAML file. A file that cannot be used is a
 * {@link StartupException#badOption}: one line naming the file, and the setting and line at fault,
 * never the file's text (a password may be on any line, or come in from an environment variable
 * Redisson substitutes) nor SnakeYAML's class names.
 */
final class RedissonConfigFile {

    /** Redisson's server sections: a file names its Redis in one of them. */
    static final String SERVER_SECTIONS =
            "singleServerConfig, sentinelServersConfig, clusterServersConfig, replicatedServersConfig or masterSlaveServersConfig";

    /** SnakeYAML's context when a key of a mapping could not be set on Redisson's bean. */
    private static final Pattern PROPERTY = Pattern.compile("Cannot create property=(.+?) for JavaBean=");

    private RedissonConfigFile() { }

    static Config read(Path file) {
        String named = "Redisson configuration file " + file;
        // Each named as what it is (a directory was said not to exist).
        if (Files.isDirectory(file)) {
            throw StartupException.badOption(named + " is a directory");
        }
        if (!Files.exists(file)) {
            throw StartupException.badOption(named + " does not exist");
        }
        if (!Files.isReadable(file)) {
            throw StartupException.badOption(named + " cannot be read (permission denied)");
        }
        Config config;
        try {
            config = Config.fromYAML(file.toFile());
        } catch (IOException e) {
            throw StartupException.badOption(named + " cannot be read: " + oneLine(e.getMessage() == null ? "I/O error" : e.getMessage()));
        } catch (MarkedYAMLException e) {
            throw StartupException.badOption(named + " " + yamlProblem(e));
        } catch (YAMLException e) {
            throw StartupException.badOption(named + " is not a Redisson configuration");
        } catch (RuntimeException e) {
            // Without the exception as cause: a stack trace would print whatever of the file it quotes.
            throw StartupException.badOption(named + " cannot be used: "
                    + oneLine(Redact.yamlMessage(e.getMessage() == null ? "no reason given" : e.getMessage())));
        }
        if (config == null) { // SnakeYAML's answer to an empty file, or one of comments only
            throw StartupException.badOption(named + " configures no Redis server (it is empty): give it one of " + SERVER_SECTIONS);
        }
        BaseConfig<?> server;
        try {
            server = ConfigSupport.getConfig(config); // the server section, checked as Redisson checks it before connecting
        } catch (IllegalArgumentException e) {
            // Redisson's words for no server section, once connecting, were "server(s) address(es) not defined!"
            if (!config.isSingleConfig() && !config.isSentinelConfig() && !config.isClusterConfig()
                    && String.valueOf(e.getMessage()).contains("not defined")) {
                throw StartupException.badOption(named + " configures no Redis server: give it one of " + SERVER_SECTIONS);
            }
            // "connectionPoolSize can't be lower than connectionMinimumIdleSize": names settings, not values
            throw StartupException.badOption(named + " cannot be used: " + oneLine(String.valueOf(e.getMessage())));
        }
        String missing = missingAddress(server);
        if (missing != null) { // Redisson would fail on it once connecting, a missing address with a NullPointerException's text
            throw StartupException.badOption(named + " has no " + missing);
        }
        return config;
    }

    /**
     * "has an unknown setting 'adress' in singleServerConfig (line 2)": SnakeYAML nests one
     * "Cannot create property=..." exception per level of the file, each marking the value it
     * could not set; the innermost names the setting, and its cause says why.
     */
    private static String yamlProblem(MarkedYAMLException e) {
        if (!(e instanceof ConstructorException)) {
            // Not YAML: the parser's words and positions, not its quoted lines. Its context ("while scanning
            // a quoted scalar") and where that began point at an unclosed quote or bracket.
            String context = e.getContext() == null ? "" : parserWords(e.getContext()) + position(e.getContextMark(), true) + ": ";
            return "is not valid YAML: " + context + parserWords(String.valueOf(e.getProblem())) + position(e.getProblemMark(), true);
        }
        List<String> path = new ArrayList<>();
        Mark mark = e.getProblemMark();
        Throwable t = e;
        while (t instanceof MarkedYAMLException m && m.getContext() != null) {
            Matcher property = PROPERTY.matcher(m.getContext());
            if (!property.lookingAt()) {
                break;
            }
            path.add(property.group(1));
            mark = m.getProblemMark();
            t = m.getCause();
        }
        if (path.isEmpty()) { // a list or a bare word where the settings' mapping should be
            return "is not a Redisson configuration: it should be settings, one 'name: value' a line" + position(mark, false);
        }
        String setting = "'" + path.get(path.size() - 1) + "'"
                + (path.size() > 1 ? " in " + String.join(".", path.subList(0, path.size() - 1)) : "");
        // Redisson's property lookup answers null for a name it does not know (SnakeYAML then fails on it);
        // SnakeYAML's own lookup says so in words.
        boolean unknown = t instanceof NullPointerException
                || t != null && t.getMessage() != null && t.getMessage().matches("(?s).*(Unable to find property|No writable property).*");
        // Not the value, nor why it did not fit (NumberFormatException quotes it): it may be a password.
        return (unknown ? "has an unknown setting " : "has an invalid value for ") + setting + position(mark, false);
    }

    /**
     * The parser's words without what it quotes of the file: "found undefined alias s3cret" for a
     * password written {@code *s3cret} (YAML's alias), "found character '@' ..." (review, 2026-12-07).
     */
    private static String parserWords(String words) {
        if (words.contains("alias") || words.contains("anchor")) {
            return "a value starting with * or & is an alias or anchor in YAML: quote it";
        }
        return oneLine(words).replaceAll("'[^']*'", "'?'").replaceAll("\"[^\"]*\"", "\"?\"");
    }

    private static String position(Mark mark, boolean column) {
        if (mark == null) {
            return "";
        }
        return " (line " + (mark.getLine() + 1) + (column ? ", column " + (mark.getColumn() + 1) : "") + ")";
    }

    private static String oneLine(String message) {
        return message.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
    }

    /** "address in singleServerConfig" when the server section names no Redis to connect to; else null. */
    private static String missingAddress(BaseConfig<?> server) {
        if (server instanceof SingleServerConfig single) {
            return blank(single.getAddress()) ? "address in singleServerConfig" : null;
        }
        if (server instanceof SentinelServersConfig sentinel) {
            return none(sentinel.getSentinelAddresses()) ? "sentinelAddresses in sentinelServersConfig" : null;
        }
        if (server instanceof ClusterServersConfig cluster) {
            return none(cluster.getNodeAddresses()) ? "nodeAddresses in clusterServersConfig" : null;
        }
        if (server instanceof ReplicatedServersConfig replicated) {
            return none(replicated.getNodeAddresses()) ? "nodeAddresses in replicatedServersConfig" : null;
        }
        if (server instanceof MasterSlaveServersConfig masterSlave) {
            return blank(masterSlave.getMasterAddress()) ? "masterAddress in masterSlaveServersConfig" : null;
        }
        return null;
    }

    private static boolean none(Collection<String> addresses) {
        return addresses == null || addresses.isEmpty();
    }

    private static boolean blank(String address) {
        return address == null || address.isBlank();
    }
}
