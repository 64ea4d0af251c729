package io.distlock.websocket;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * An address or a network, {@code 10.0.0.7}, {@code 10.0.0.0/8}, {@code fd00::/8}: an entry of
 * {@link EndpointOptions#trustedProxies()}. Immutable.
 */
final class AddressRange {

    private final byte[] network;
    private final int bits;
    private final String text;

    private AddressRange(byte[] network, int bits, String text) {
        this.network = network;
        this.bits = bits;
        this.text = text;
    }

    /**
     * Parses {@code address} or {@code address/bits}; an IPv4 address written as IPv6
     * ({@code ::ffff:10.0.0.7}) is the IPv4 address.
     *
     * @throws IllegalArgumentException naming the entry, if it is not an address literal (host
     *                                  names are refused: no DNS) or the prefix length is wrong
     */
    static AddressRange parse(String entry) {
        if (entry == null) {
            throw new NullPointerException("trustedProxies contains null");
        }
        String s = entry.trim();
        int slash = s.indexOf('/');
        String address = slash < 0 ? s : s.substring(0, slash);
        boolean port = address.startsWith("[") || address.indexOf(':') > 0 && address.indexOf(':') == address.lastIndexOf(':');
        InetAddress parsed = port ? null : ClientAddress.literal(address);
        if (parsed == null) {
            throw new IllegalArgumentException("a trusted proxy must be an IP address or a network like 10.0.0.0/8 or fd00::/8"
                    + " (no host names, no ports), was '" + entry + "'");
        }
        byte[] bytes = parsed.getAddress();
        int max = bytes.length * 8;
        int bits = max;
        if (slash >= 0) {
            try {
                bits = Integer.parseInt(s.substring(slash + 1));
            } catch (NumberFormatException e) {
                bits = -1;
            }
            if (bits < 0 || bits > max) {
                throw new IllegalArgumentException("the prefix length of trusted proxy '" + entry + "' must be between 1 and " + max);
            }
            if (bits == 0) {
                throw new IllegalArgumentException("trusted proxy '" + entry + "' would trust every address, and so let any client"
                        + " choose its address in X-Forwarded-For; list the proxies' addresses or networks");
            }
        }
        byte[] network = mask(bytes, bits);
        String text = text(network) + (bits == max ? "" : "/" + bits);
        return new AddressRange(network, bits, text);
    }

    boolean contains(InetAddress address) {
        byte[] bytes = address.getAddress();
        return bytes.length == network.length && Arrays.equals(mask(bytes, bits), network);
    }

    @Override
    public String toString() {
        return text;
    }

    private static byte[] mask(byte[] address, int bits) {
        byte[] masked = address.clone();
        for (int i = 0; i < masked.length; i++) {
            int keep = Math.max(0, Math.min(8, bits - 8 * i));
            masked[i] = (byte) (masked[i] & (0xff00 >> keep));
        }
        return masked;
    }

    /** The canonical text of an address's bytes, without a lookup. */
    private static String text(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 4 or 16 bytes always make an address
        }
    }
}
