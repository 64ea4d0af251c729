package io.distlock.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * One Lua script of {@link RedisLockStore}, read from {@code lua/<name>.lua} beside this class:
 * fragments (helper functions) first, then the script itself, as one text, and its SHA-1 for
 * {@code EVALSHA}. A person debugging can run the same files with {@code redis-cli}:
 * {@code redis-cli EVAL "$(cat replicas.lua quarantine.lua stale.lua stolen.lua queue.lua lock.lua)" 2 <lock key> <marker> ...}.
 */
final class LuaScript {

    final String text;
    final String sha;

    private LuaScript(String text) {
        this.text = text;
        this.sha = sha1(text);
    }

    /** The files {@code lua/<name>.lua}, in this order, as one script. */
    static LuaScript load(String... names) {
        StringBuilder text = new StringBuilder();
        for (String name : names) {
            String path = "lua/" + name + ".lua";
            try (InputStream in = LuaScript.class.getResourceAsStream(path)) {
                if (in == null) {
                    throw new IllegalStateException("missing resource " + path + " beside " + LuaScript.class.getName());
                }
                text.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + path, e);
            }
            if (text.charAt(text.length() - 1) != '\n') {
                text.append('\n');
            }
        }
        return new LuaScript(text.toString());
    }

    private static String sha1(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required of every JVM", e);
        }
    }
}
