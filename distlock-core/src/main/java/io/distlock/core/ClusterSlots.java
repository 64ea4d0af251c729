package io.distlock.core;

import java.nio.charset.StandardCharsets;

/** Redis Cluster hash slots: which slot a key is in, and a short hash tag for each slot. */
final class ClusterSlots {

    static final int COUNT = 16384;

    private ClusterSlots() { }

    /** The Redis Cluster hash slot of {@code key}: CRC16 (XMODEM) of the key or of its {@code {hash tag}}, mod 16384. */
    static int slot(String key) {
        byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
        int from = 0;
        int to = bytes.length;
        for (int open = 0; open < bytes.length; open++) {
            if (bytes[open] == '{') {
                for (int close = open + 1; close < bytes.length; close++) {
                    if (bytes[close] == '}') {
                        if (close > open + 1) {
                            from = open + 1;
                            to = close;
                        }
                        break;
                    }
                }
                break;
            }
        }
        int crc = 0;
        for (int i = from; i < to; i++) {
            crc ^= (bytes[i] & 0xff) << 8;
            for (int bit = 0; bit < 8; bit++) {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            }
        }
        return (crc & 0xffff) % COUNT;
    }

    /** For each Cluster hash slot, a short hash tag whose key is in that slot: the decimal number with the smallest value. */
    static final class Tags {

        private static volatile String[] tags;

        private Tags() { }

        static String tag(int slot) {
            String[] t = tags;
            if (t == null) {
                synchronized (Tags.class) {
                    t = tags;
                    if (t == null) {
                        t = compute();
                        tags = t;
                    }
                }
            }
            return t[slot];
        }

        /** About 170,000 CRC16 of short strings until every slot has one: milliseconds, once per JVM, in Cluster mode only. */
        private static String[] compute() {
            String[] t = new String[COUNT];
            int missing = t.length;
            for (int i = 0; missing > 0; i++) {
                String candidate = Integer.toString(i);
                int slot = slot(candidate);
                if (t[slot] == null) {
                    t[slot] = candidate;
                    missing--;
                }
            }
            return t;
        }
    }
}
