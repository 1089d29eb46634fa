package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import xllm.sched.nodes.CachedBlocks;
import xllm.sched.nodes.EtcdOptions;
import xllm.sched.nodes.NodeLoad;
import xllm.sched.nodes.NodeRegistration;

/**
 * A node's registration against a real etcd, without a model: what it writes, what it takes back when its
 * cache evicts or it stops, how it comes back after etcd is rebuilt, and etcd's own authentication.
 */
class NodeRegistrationTest {
    private static final NodeRegistration.Identity NODE = new NodeRegistration.Identity("n1", "http://127.0.0.1:9", "mixed",
            "pycoder-22m", 16, 64);

    private EtcdProcess etcd;
    private final Set<Long> cached = ConcurrentHashMap.newKeySet();

    @BeforeEach
    void startEtcd() throws Exception {
        etcd = EtcdProcess.start();
    }

    @AfterEach
    void stopEtcd() throws Exception {
        etcd.close();
    }

    private EtcdOptions options(String user, String password) {
        return new EtcdOptions(List.of(URI.create(etcd.url())), "", user, password, null, null, null);
    }

    private NodeRegistration register(EtcdOptions options) {
        return NodeRegistration.start(options, NODE, () -> new NodeLoad(3, 0.25), action -> cached.forEach(action::accept));
    }

    @Test
    void aNodePublishesItselfItsLoadAndItsCacheAndTakesThemBack() throws Exception {
        cached.addAll(List.of(0x1L, 0xabcdefL, -1L));
        try (NodeRegistration r = register(options(null, null))) {
            Await.until("the registration and three cache entries", Duration.ofSeconds(10),
                    () -> etcd.keys("XLLM:CACHE:").size() == 3 && etcd.value("XLLM:MIX:n1") != null);
            JsonNode info = Http.JSON.readTree(etcd.value("XLLM:MIX:n1"));
            assertEquals("http://127.0.0.1:9", info.get("url").asText());
            assertEquals("mixed", info.get("role").asText());
            assertEquals(16, info.get("block_size").asInt());
            assertNotNull(info.get("incarnation").asText(null));
            assertEquals(3, Http.JSON.readTree(etcd.value("XLLM:LOADMETRICS:n1")).get("load").asInt());
            assertEquals(List.of("XLLM:CACHE:0000000000000001:n1", "XLLM:CACHE:0000000000abcdef:n1", "XLLM:CACHE:ffffffffffffffff:n1"),
                    etcd.keys("XLLM:CACHE:"));
            cached.remove(0xabcdefL);
            cached.add(0x42L);
            Await.until("the evicted block to leave the index and the new one to join", Duration.ofSeconds(10),
                    () -> etcd.keys("XLLM:CACHE:").equals(List.of("XLLM:CACHE:0000000000000001:n1", "XLLM:CACHE:0000000000000042:n1",
                            "XLLM:CACHE:ffffffffffffffff:n1")));
        }
        assertEquals(List.of(), etcd.keys("XLLM:"), "a node that stops takes every key it wrote with it");
    }

    @Test
    void eachBlockIsPublishedWithItsTier() throws Exception {
        Set<Long> onDisk = ConcurrentHashMap.newKeySet();
        cached.add(1L);
        onDisk.addAll(List.of(1L, 2L));
        CachedBlocks tiers = new CachedBlocks() {
            @Override
            public void forEach(java.util.function.LongConsumer action) {
                cached.forEach(action::accept);
            }

            @Override
            public void forEachOnDisk(java.util.function.LongConsumer action) {
                onDisk.forEach(action::accept);
            }
        };
        try (NodeRegistration r = NodeRegistration.start(options(null, null), NODE, () -> new NodeLoad(0, 0), tiers)) {
            Await.until("both blocks", Duration.ofSeconds(10), () -> etcd.keys("XLLM:CACHE:").size() == 2);
            assertEquals("memory", etcd.value("XLLM:CACHE:0000000000000001:n1"), "in memory and on disk: memory");
            assertEquals("disk", etcd.value("XLLM:CACHE:0000000000000002:n1"));
            cached.remove(1L);
            Await.until("block 1 to move to the disk tier", Duration.ofSeconds(10),
                    () -> "disk".equals(etcd.value("XLLM:CACHE:0000000000000001:n1")));
        }
    }

    @Test
    void aRebuiltEtcdGetsTheNodeBackWithANewIncarnation() throws Exception {
        cached.add(7L);
        try (NodeRegistration r = register(options(null, null))) {
            Await.until("the registration", Duration.ofSeconds(10), () -> etcd.keys("XLLM:CACHE:").size() == 1);
            String before = Http.JSON.readTree(etcd.value("XLLM:MIX:n1")).get("incarnation").asText();
            etcd.kill();
            Thread.sleep(1500); // the node keeps trying meanwhile
            etcd.restart(true);
            Await.until("the node to register again", Duration.ofSeconds(20),
                    () -> etcd.value("XLLM:MIX:n1") != null && etcd.keys("XLLM:CACHE:").size() == 1 && etcd.value("XLLM:LOADMETRICS:n1") != null);
            assertNotEquals(before, Http.JSON.readTree(etcd.value("XLLM:MIX:n1")).get("incarnation").asText());
        }
    }

    @Test
    void withAuthenticationOnlyTheRightPasswordRegisters() throws Exception {
        String token = enableAuthentication();
        try (NodeRegistration wrong = register(options("node", "not-the-password"))) {
            Thread.sleep(2500); // a few attempts: each is refused, none crashes the node
            assertTrue(keysAs(token).isEmpty());
        }
        try (NodeRegistration right = register(options("node", "node-password"))) {
            Await.until("the registration", Duration.ofSeconds(10), () -> keysAs(token).contains("XLLM:MIX:n1"));
        }
    }

    /** Adds root and a user "node" allowed the XLLM: keys, turns authentication on; returns root's token. */
    private String enableAuthentication() {
        String[][] calls = {
                {"user/add", "{\"name\":\"root\",\"password\":\"root-password\"}"},
                {"user/grant", "{\"user\":\"root\",\"role\":\"root\"}"},
                {"role/add", "{\"name\":\"xllm\"}"},
                {"role/grant", "{\"name\":\"xllm\",\"perm\":{\"permType\":\"READWRITE\",\"key\":\"" + b64("XLLM:") + "\",\"range_end\":\""
                        + b64("XLLM;") + "\"}}"},
                {"user/add", "{\"name\":\"node\",\"password\":\"node-password\"}"},
                {"user/grant", "{\"user\":\"node\",\"role\":\"xllm\"}"},
                {"enable", "{}"},
        };
        for (String[] c : calls) {
            Http.Response r = Http.post(URI.create(etcd.url() + "/v3/auth/" + c[0]), c[1]);
            assertEquals(200, r.status(), c[0] + ": " + r.body());
        }
        return Http.post(URI.create(etcd.url() + "/v3/auth/authenticate"), "{\"name\":\"root\",\"password\":\"root-password\"}")
                .json().get("token").asText();
    }

    private List<String> keysAs(String token) {
        JsonNode kvs = Http.post(URI.create(etcd.url() + "/v3/kv/range"), "{\"key\":\"" + b64("XLLM:") + "\",\"range_end\":\"" + b64("XLLM;")
                + "\",\"keys_only\":true}", "Authorization", token).json().path("kvs");
        java.util.ArrayList<String> keys = new java.util.ArrayList<>();
        kvs.forEach(kv -> keys.add(new String(java.util.Base64.getDecoder().decode(kv.get("key").asText()), java.nio.charset.StandardCharsets.UTF_8)));
        return keys;
    }

    private static String b64(String s) {
        return java.util.Base64.getEncoder().encodeToString(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
}
