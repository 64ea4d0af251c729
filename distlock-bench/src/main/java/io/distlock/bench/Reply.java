package io.distlock.bench;

import java.util.HashMap;
import java.util.Map;

/**
 * What the bench needs of one frame from the server: status, id, lock, token(s), code, and
 * version 2's position, mode, request and reason. Read
 * by a small scanner rather than a JSON library, so that the load generator, which shares the
 * machine's cores with the server it measures, spends as little as it can per frame. It reads
 * any JSON object; fields it does not need are skipped.
 */
final class Reply {

    enum Status { OK, LOCKED, WAIT, QUEUED, RETRY, GRANTED, CANCELLED, LOST, FAIL, OTHER }

    static final Reply OK = new Reply(Status.OK, -1, null, 0, null, null);
    static final Reply WAIT = new Reply(Status.WAIT, -1, null, 0, null, null);

    final Status status;
    /** The echoed integer id, or -1. */
    final long id;
    /** The {@code lock} field (pushes and single-lock replies), or null. */
    final String lock;
    /** The {@code token} of a single-lock {@code LOCKED}, or 0. */
    final long token;
    /** The {@code tokens} of an {@code mlock} {@code LOCKED}, or null. */
    final Map<String, Long> tokens;
    /** The {@code code} of a {@code FAIL}, or null. */
    final String code;
    /** The {@code position} of a {@code QUEUED} (1: next), or 0. */
    final int position;
    /** Whether the {@code mode} of a {@code GRANTED} is {@code shared}. */
    final boolean shared;
    /** The {@code request} of a {@code GRANTED}: the integer id of the request that queued, or -1. */
    final long request;
    /** The {@code reason} of a {@code CANCELLED} or version 2 {@code LOST}, or null. */
    final String reason;
    /** The {@code version} of a version 2 {@code connect}'s {@code OK}, or 0. */
    final int version;

    Reply(Status status, long id, String lock, long token, Map<String, Long> tokens, String code) {
        this(status, id, lock, token, tokens, code, 0, false, -1, null, 0);
    }

    Reply(Status status, long id, String lock, long token, Map<String, Long> tokens, String code,
          int position, boolean shared, long request, String reason, int version) {
        this.status = status;
        this.id = id;
        this.lock = lock;
        this.token = token;
        this.tokens = tokens;
        this.code = code;
        this.position = position;
        this.shared = shared;
        this.request = request;
        this.reason = reason;
        this.version = version;
    }

    static Reply locked(long token) {
        return new Reply(Status.LOCKED, -1, null, token, null, null);
    }

    static Reply locked(Map<String, Long> tokens) {
        return new Reply(Status.LOCKED, -1, null, 0, tokens, null);
    }

    static Reply fail(String code) {
        return new Reply(Status.FAIL, -1, null, 0, null, code);
    }

    /** A {@code QUEUED} reply at {@code position} (1: next). */
    static Reply queued(int position) {
        return new Reply(Status.QUEUED, -1, null, 0, null, null, position, false, -1, null, 0);
    }

    /** The token granted for {@code name}: from {@code tokens} for an mlock, else {@code token}. */
    long tokenOf(String name) {
        if (tokens != null) {
            Long t = tokens.get(name);
            return t == null ? 0 : t;
        }
        return token;
    }

    @Override
    public String toString() {
        return status + (id >= 0 ? " id=" + id : "") + (lock != null ? " lock=" + lock : "")
                + (token != 0 ? " token=" + token : "") + (tokens != null ? " tokens=" + tokens : "")
                + (code != null ? " code=" + code : "") + (position != 0 ? " position=" + position : "")
                + (status == Status.GRANTED ? (shared ? " mode=shared" : " mode=exclusive") : "")
                + (request >= 0 ? " request=" + request : "") + (reason != null ? " reason=" + reason : "")
                + (version != 0 ? " version=" + version : "");
    }

    /**
     * Reads one frame.
     *
     * @throws IllegalArgumentException if it is not a JSON object
     */
    static Reply parse(CharSequence text) {
        return new Scanner(text).reply();
    }

    static Status status(String s) {
        if (s == null) {
            return Status.OTHER;
        }
        return switch (s) {
            case "OK" -> Status.OK;
            case "LOCKED" -> Status.LOCKED;
            case "WAIT" -> Status.WAIT;
            case "QUEUED" -> Status.QUEUED;
            case "RETRY" -> Status.RETRY;
            case "GRANTED" -> Status.GRANTED;
            case "CANCELLED" -> Status.CANCELLED;
            case "LOST" -> Status.LOST;
            case "FAIL" -> Status.FAIL;
            default -> Status.OTHER;
        };
    }

    /** A JSON reader for one object; only what {@link #reply()} keeps is materialized. */
    private static final class Scanner {
        private final CharSequence s;
        private int i;

        Scanner(CharSequence s) {
            this.s = s;
        }

        Reply reply() {
            String status = null;
            String lock = null;
            String code = null;
            String reason = null;
            String mode = null;
            long id = -1;
            long request = -1;
            long position = 0;
            long version = 0;
            long token = 0;
            Map<String, Long> tokens = null;
            skipSpace();
            expect('{');
            skipSpace();
            if (peek() == '}') {
                i++;
                return new Reply(Status.OTHER, -1, null, 0, null, null);
            }
            while (true) {
                skipSpace();
                String key = string();
                skipSpace();
                expect(':');
                skipSpace();
                switch (key) {
                    case "status" -> status = stringOrSkip();
                    case "lock" -> lock = stringOrSkip();
                    case "code" -> code = stringOrSkip();
                    case "id" -> id = peek() == '"' ? skipValueAnd(-1) : number();
                    case "token" -> token = number();
                    case "tokens" -> tokens = tokens();
                    case "position" -> position = number();
                    case "mode" -> mode = stringOrSkip();
                    case "request" -> request = peek() == '-' || peek() >= '0' && peek() <= '9' ? number() : skipValueAnd(-1);
                    case "reason" -> reason = stringOrSkip();
                    case "version" -> version = number();
                    default -> skipValue();
                }
                skipSpace();
                char c = next();
                if (c == '}') {
                    break;
                }
                if (c != ',') {
                    throw bad("expected , or }");
                }
            }
            return new Reply(status(status), id, lock, token, tokens, code, (int) position, "shared".equals(mode), request,
                    reason, (int) version);
        }

        private Map<String, Long> tokens() {
            Map<String, Long> map = new HashMap<>(8);
            expect('{');
            skipSpace();
            if (peek() == '}') {
                i++;
                return map;
            }
            while (true) {
                skipSpace();
                String key = string();
                skipSpace();
                expect(':');
                skipSpace();
                map.put(key, number());
                skipSpace();
                char c = next();
                if (c == '}') {
                    return map;
                }
                if (c != ',') {
                    throw bad("expected , or }");
                }
            }
        }

        private String stringOrSkip() {
            if (peek() == '"') {
                return string();
            }
            skipValue();
            return null;
        }

        private long skipValueAnd(long value) {
            skipValue();
            return value;
        }

        private long number() {
            int start = i;
            boolean negative = false;
            if (peek() == '-') {
                negative = true;
                i++;
            }
            long v = 0;
            int digits = 0;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c < '0' || c > '9') {
                    break;
                }
                v = v * 10 + (c - '0');
                i++;
                digits++;
            }
            if (digits == 0) {
                i = start;
                skipValue(); // not an integer: not one of ours
                return 0;
            }
            while (i < s.length() && "0123456789.eE+-".indexOf(s.charAt(i)) >= 0) {
                i++; // a fraction or exponent: keep the integer part
            }
            return negative ? -v : v;
        }

        private String string() {
            expect('"');
            StringBuilder out = null;
            int start = i;
            while (true) {
                if (i >= s.length()) {
                    throw bad("unterminated string");
                }
                char c = s.charAt(i++);
                if (c == '"') {
                    return out == null ? s.subSequence(start, i - 1).toString() : out.toString();
                }
                if (c == '\\') {
                    if (out == null) {
                        out = new StringBuilder().append(s, start, i - 1);
                    }
                    char e = next();
                    switch (e) {
                        case 'n' -> out.append('\n');
                        case 't' -> out.append('\t');
                        case 'r' -> out.append('\r');
                        case 'b' -> out.append('\b');
                        case 'f' -> out.append('\f');
                        case 'u' -> {
                            if (i + 4 > s.length()) {
                                throw bad("bad \\u escape");
                            }
                            out.append((char) Integer.parseInt(s.subSequence(i, i + 4).toString(), 16));
                            i += 4;
                        }
                        default -> out.append(e);
                    }
                } else if (out != null) {
                    out.append(c);
                }
            }
        }

        private void skipValue() {
            char c = peek();
            switch (c) {
                case '"' -> string();
                case '{', '[' -> {
                    int depth = 0;
                    do {
                        char d = next();
                        if (d == '"') {
                            i--;
                            string();
                        } else if (d == '{' || d == '[') {
                            depth++;
                        } else if (d == '}' || d == ']') {
                            depth--;
                        }
                    } while (depth > 0);
                }
                default -> {
                    while (i < s.length() && ",}] \t\r\n".indexOf(s.charAt(i)) < 0) {
                        i++;
                    }
                }
            }
        }

        private void skipSpace() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private char peek() {
            if (i >= s.length()) {
                throw bad("unexpected end");
            }
            return s.charAt(i);
        }

        private char next() {
            char c = peek();
            i++;
            return c;
        }

        private void expect(char c) {
            if (next() != c) {
                throw bad("expected " + c);
            }
        }

        private IllegalArgumentException bad(String what) {
            return new IllegalArgumentException(what + " at " + i + " in " + abbreviate(s));
        }

        private static String abbreviate(CharSequence s) {
            return s.length() <= 200 ? s.toString() : s.subSequence(0, 197) + "...";
        }
    }
}
