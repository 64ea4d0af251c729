package io.distlock.server;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Console logging of the runnable server. Everything logs through java.util.logging: the
 * distlock modules through {@code System.Logger}, Tyrus and Grizzly directly, Redisson through
 * SLF4J's JDK binding. The console shows warnings and errors, one line each, without stack
 * traces; {@code --verbose} adds informational messages and stack traces.
 *
 * <p>A JUL configuration given with {@code -Djava.util.logging.config.file} or
 * {@code -Djava.util.logging.config.class} is left alone. Only the server's {@code main}
 * calls this; an application that embeds {@link DistLockServer#start} keeps its own logging.
 */
final class ConsoleLogging {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    private ConsoleLogging() { }

    /**
     * Makes JUL's manager a {@link KeptLogManager}, so that what the server's shutdown hook logs
     * (a release that failed) is not lost: the JDK's own hook, which runs beside it, resets
     * logging and leaves the console without a handler. Must run before anything touches JUL
     * (the server's {@code main} calls it first); does nothing under a JUL setup of the user's.
     */
    static void keepThroughShutdown() {
        if (userConfigured() || System.getProperty("java.util.logging.manager") != null) {
            return;
        }
        System.setProperty("java.util.logging.manager", KeptLogManager.class.getName());
    }

    /** The server's shutdown hook is done: logging ends now, as the JDK's hook would have ended it. */
    static void shutdownDone() {
        if (LogManager.getLogManager() instanceof KeptLogManager kept) {
            kept.release();
        }
    }

    private static boolean userConfigured() {
        return System.getProperty("java.util.logging.config.file") != null
                || System.getProperty("java.util.logging.config.class") != null;
    }

    static void configure(boolean verbose) {
        if (userConfigured()) {
            return;
        }
        LogManager.getLogManager().reset();
        Logger root = Logger.getLogger("");
        Level level = verbose ? Level.INFO : Level.WARNING;
        root.setLevel(level);
        Handler console = new ConsoleHandler(); // System.err
        console.setLevel(level);
        console.setFormatter(new OneLine(verbose));
        root.addHandler(console);
        if (!verbose) {
            // Grizzly logs a client that disconnects in the middle of a request as a warning with its stack.
            Logger.getLogger("org.glassfish.grizzly").setLevel(Level.SEVERE);
        }
        if (LogManager.getLogManager() instanceof KeptLogManager kept) {
            kept.keep();
        }
    }

    /**
     * A LogManager whose {@code reset} waits, once {@link ConsoleLogging#configure} has set up the
     * console, until {@link ConsoleLogging#shutdownDone}. Public for {@code LogManager}, which
     * creates it by name.
     */
    public static final class KeptLogManager extends LogManager {
        private volatile boolean kept;

        public KeptLogManager() { }

        @Override
        public void reset() {
            if (!kept) {
                super.reset();
            }
        }

        private void keep() {
            kept = true;
        }

        private void release() {
            kept = false;
            super.reset();
        }
    }

    /** {@code 12:34:56.789 WARNING logger: message[: cause]}, stack traces only when verbose. */
    static final class OneLine extends Formatter {
        private final boolean stackTraces;

        OneLine(boolean stackTraces) {
            this.stackTraces = stackTraces;
        }

        @Override
        public String format(LogRecord record) {
            StringBuilder line = new StringBuilder(128);
            line.append(LocalTime.ofInstant(record.getInstant(), ZoneId.systemDefault()).format(TIME))
                    .append(' ').append(record.getLevel().getName())
                    .append(' ').append(shortName(record.getLoggerName()))
                    .append(": ").append(oneLine(formatMessage(record)));
            Throwable thrown = record.getThrown();
            if (thrown != null && !stackTraces) {
                line.append(": ").append(oneLine(String.valueOf(thrown)));
            }
            line.append(System.lineSeparator());
            if (thrown != null && stackTraces) {
                StringWriter trace = new StringWriter();
                thrown.printStackTrace(new PrintWriter(trace));
                line.append(trace);
            }
            return line.toString();
        }

        private static String shortName(String logger) {
            if (logger == null || logger.isEmpty()) {
                return "root";
            }
            int dot = logger.lastIndexOf('.');
            return dot < 0 ? logger : logger.substring(dot + 1);
        }

        /**
         * On one line, and with what else a terminal or a log viewer would act on written as
         * {@code \\uXXXX}: control characters (an escape sequence can clear or rewrite the
         * screen), line and paragraph separators, and format characters (bidi overrides). A
         * message may quote what a client sent.
         */
        static String oneLine(String text) {
            if (text == null) {
                return "";
            }
            String joined = text.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
            StringBuilder out = null;
            for (int i = 0; i < joined.length(); i++) {
                char c = joined.charAt(i);
                int type = Character.getType(c);
                boolean escape = Character.isISOControl(c) || type == Character.LINE_SEPARATOR
                        || type == Character.PARAGRAPH_SEPARATOR || type == Character.FORMAT;
                if (escape && out == null) {
                    out = new StringBuilder(joined.length() + 16).append(joined, 0, i);
                }
                if (out != null) {
                    if (escape) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
            return out == null ? joined : out.toString();
        }
    }
}
