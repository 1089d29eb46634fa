package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code --pd-policy slo} with three workers, one prefill and two decode: waves of long prompts overload the
 * prefill worker, so the router turns a decode worker into a second prefill worker; when the prompts are done
 * and the load is long outputs instead, the switched worker goes back to decoding. Every request completes.
 *
 * <p>Overload is judged against the TTFT target, so the target is set where a queue of two 1000-token prompts
 * misses it however fast the machine prefills (the default 1 s is met by a quiet fast machine).
 */
class RoleSwitchingTest {
    static ServerProcess server;

    @BeforeAll
    static void start() throws Exception {
        server = ServerProcess.start("--workers", "3", "--roles", "prefill,decode,decode", "--pd-policy", "slo",
                "--target-ttft-ms", "50", "--target-tpot-ms", "500", "--kv-cache-mb", "128",
                "--state-dir", Files.createTempDirectory("xllm-roles-state").toString());
        server.awaitReady();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        server.close();
    }

    static String roles() {
        StringBuilder out = new StringBuilder();
        for (JsonNode w : Http.get(server.uri("/admin/workers")).json().get("workers")) {
            out.append(out.isEmpty() ? "" : ",").append(w.get("role").asText());
        }
        return out.toString();
    }

    static String body(int seed, int promptLength, int maxTokens) {
        return "{\"model\":\"pycoder-22m\",\"prompt\":" + ServingBehaviourTest.idsJson(ServingBehaviourTest.randomIds(seed, promptLength))
                + ",\"max_tokens\":" + maxTokens + ",\"temperature\":0,\"ignore_eos\":true}";
    }

    @Test
    void aLoadShiftSwitchesARoleAndBack() throws Exception {
        List<String> seen = new ArrayList<>();
        List<Future<Http.Response>> responses = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            // long prompts, arriving in waves: more prefill than one worker can do within the TTFT target
            for (int wave = 0; wave < 6; wave++) {
                for (int i = 0; i < 2; i++) {
                    String b = body(7000 + wave * 10 + i, 1000, 2);
                    responses.add(pool.submit(() -> Http.post(server.uri("/v1/completions"), b)));
                }
                Thread.sleep(500);
                seen.add(roles());
            }
            awaitRoles("a decode worker to become a prefill worker", seen,
                    () -> seen.contains("prefill,prefill,decode") || seen.contains("prefill,decode,prefill")
                            || recordRoles(seen).matches("prefill,(prefill,decode|decode,prefill)"));
            for (Future<Http.Response> f : responses) {
                assertEquals(200, f.get().status(), f.get().body());
            }
            // then long outputs from short prompts
            responses.clear();
            for (int i = 0; i < 12; i++) {
                String b = body(8000 + i, 16, 200);
                responses.add(pool.submit(() -> Http.post(server.uri("/v1/completions"), b)));
            }
            for (Future<Http.Response> f : responses) {
                assertEquals(200, f.get().status(), f.get().body());
                assertEquals(200, f.get().json().at("/usage/completion_tokens").asInt());
            }
        }
        awaitRoles("the roles to return to prefill,decode,decode", seen,
                () -> recordRoles(seen).equals("prefill,decode,decode"));
        System.out.println("roles over the run: " + seen);
        assertTrue(Http.metric(server, "xllm:role_switches_total") >= 2, "a switch and a switch back");
    }

    /** Waits up to a minute; a failure names the roles seen and what the router logged of its decisions. */
    private static void awaitRoles(String what, List<String> seen, BooleanSupplier condition) throws Exception {
        try {
            Await.until(what, Duration.ofSeconds(60), condition);
        } catch (AssertionError e) {
            String decisions = server.output().lines().filter(l -> l.contains(" switched ")).collect(Collectors.joining("\n"));
            throw new AssertionError(e.getMessage() + "; roles seen: " + seen + "; switches logged:\n" + decisions, e);
        }
    }

    private static String recordRoles(List<String> seen) {
        String now = roles();
        if (seen.isEmpty() || !seen.getLast().equals(now)) {
            seen.add(now);
        }
        return now;
    }
}
