package xllm.sched.nodes;

import io.etcd.jetcd.ByteSequence;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The etcd key layout, xLLM's own under an optional namespace prefix:
 * <ul>
 *   <li>{@code XLLM:<ROLE>:<name>}: a node's registration (JSON: url, incarnation, role, model, block size),
 *       under the node's lease; ROLE is MIX, PREFILL or DECODE;</li>
 *   <li>{@code XLLM:LOADMETRICS:<name>}: its load (JSON), rewritten about every second, under the lease;</li>
 *   <li>{@code XLLM:CACHE:<block hash>:<name>}: the node caches the prefix block of that chained hash (16 hex
 *       digits), the value naming the tier; under the lease, so a node's entries go with it. One key per
 *       holder rather than one list per block: nodes never rewrite each other's entries;</li>
 *   <li>{@code XLLM:SERVICE:MASTER}: the router that holds the single duties, under its lease.</li>
 * </ul>
 */
final class NodeKeys {
    static final List<String> ROLES = List.of("MIX", "PREFILL", "DECODE");

    private final String ns;

    NodeKeys(String namespace) {
        this.ns = namespace;
    }

    /** The key word of a role label: mixed is MIX, prefill PREFILL, decode DECODE. */
    static String roleKey(String role) {
        return role.equals("mixed") ? "MIX" : role.toUpperCase(java.util.Locale.ROOT);
    }

    /** The role label of a key word. */
    static String roleLabel(String key) {
        return key.equals("MIX") ? "mixed" : key.toLowerCase(java.util.Locale.ROOT);
    }

    ByteSequence registration(String role, String name) {
        return key("XLLM:" + role + ":" + name);
    }

    ByteSequence registrations(String role) {
        return key("XLLM:" + role + ":");
    }

    ByteSequence load(String name) {
        return key("XLLM:LOADMETRICS:" + name);
    }

    ByteSequence loads() {
        return key("XLLM:LOADMETRICS:");
    }

    ByteSequence cache(long blockHash, String name) {
        return key(cachePrefixText() + hex(blockHash) + ":" + name);
    }

    ByteSequence cachePrefix() {
        return key(cachePrefixText());
    }

    ByteSequence master() {
        return key("XLLM:SERVICE:MASTER");
    }

    /** The part of {@code key} after {@code prefix}, or null when it does not start so. */
    static String after(ByteSequence key, ByteSequence prefix) {
        String k = key.toString(StandardCharsets.UTF_8);
        String p = prefix.toString(StandardCharsets.UTF_8);
        return k.startsWith(p) ? k.substring(p.length()) : null;
    }

    /** Parses the {@code <hash>:<name>} tail of a cache key; null when malformed. */
    static CacheEntry parseCache(String tail) {
        int colon = tail.indexOf(':');
        if (colon != 16) {
            return null;
        }
        try {
            return new CacheEntry(Long.parseUnsignedLong(tail.substring(0, 16), 16), tail.substring(17));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    record CacheEntry(long blockHash, String node) {
    }

    private String cachePrefixText() {
        return "XLLM:CACHE:";
    }

    private ByteSequence key(String k) {
        return ByteSequence.from(ns + k, StandardCharsets.UTF_8);
    }

    private static String hex(long v) {
        return java.util.HexFormat.of().toHexDigits(v);
    }
}
