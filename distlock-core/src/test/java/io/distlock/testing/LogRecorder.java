package io.distlock.testing;

import java.text.MessageFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * What a class logs while this is open (through {@code java.util.logging}, where
 * {@code System.Logger} writes in the tests): {@code try (LogRecorder log = LogRecorder.of(X.class)) { ... }}.
 */
public final class LogRecorder implements AutoCloseable {

    private final Logger logger; // held: java.util.logging keeps loggers only weakly, and with them the handler
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord record) {
            records.add(record);
        }

        @Override
        public void flush() { }

        @Override
        public void close() { }
    };

    private LogRecorder(Class<?> source) {
        this.logger = Logger.getLogger(source.getName());
        logger.addHandler(handler);
    }

    /** Records what {@code source} logs (by its logger's name) until closed. */
    public static LogRecorder of(Class<?> source) {
        return new LogRecorder(source);
    }

    public List<LogRecord> records() {
        return records;
    }

    /** The messages logged at {@code atLeast} or above, with their parameters filled in. */
    public List<String> messages(Level atLeast) {
        return records.stream().filter(r -> r.getLevel().intValue() >= atLeast.intValue()).map(LogRecorder::message).toList();
    }

    public void clear() {
        records.clear();
    }

    private static String message(LogRecord r) {
        Object[] parameters = r.getParameters();
        return parameters == null || parameters.length == 0 ? r.getMessage() : MessageFormat.format(r.getMessage(), parameters);
    }

    @Override
    public void close() {
        logger.removeHandler(handler);
    }
}
