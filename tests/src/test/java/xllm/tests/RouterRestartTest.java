package xllm.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A router killed with -9 while an offline job is half done: restarted on the same port and directories,
 * it reads its journal, resumes the job's unfinished requests, and the job's results equal a one-process
 * run of the same requests. The first router's workers do not outlive it, and a clean stop leaves no
 * shared-memory files behind.
 */
class RouterRestartTest {
    @TempDir
    Path tmp;

    @Test
    void jobSurvivesRouterKillAndMatchesSingleProcessResults() throws Exception {
        List<String> requests = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            requests.add("{\"model\":\"pycoder-22m\",\"prompt\":" + ServingBehaviourTest.idsJson(ServingBehaviourTest.randomIds(300 + i, 16))
                    + ",\"max_tokens\":400,\"temperature\":0,\"ignore_eos\":true}");
        }
        List<String> expected = new ArrayList<>();
        try (ServerProcess single = ServerProcess.start("--state-dir", tmp.resolve("single").toString())) {
            single.awaitReady();
            for (String r : requests) {
                Http.Response res = Http.post(single.uri("/v1/completions"), r);
                assertEquals(200, res.status(), res.body());
                expected.add(res.json().at("/choices/0/text").asText());
            }
        }

        int port = ServerProcess.freePort();
        Path shm = Path.of("/dev/shm/xllm-test-" + port);
        String[] args = {"--workers", "2", "--state-dir", tmp.resolve("state").toString(), "--shm-dir", shm.toString()};
        ServerProcess first = ServerProcess.startOnPort(port, args);
        first.awaitReady();
        String job = Http.post(first.uri("/v1/jobs"), "{\"requests\":[" + String.join(",", requests) + "]}").json().get("id").asText();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (Http.metric(first, "xllm:admitted_requests_total") < 4 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        Thread.sleep(300); // let the first requests produce some tokens
        JsonNode before = Http.get(first.uri("/v1/jobs/" + job)).json();
        assertFalse(before.get("status").asText().equals("completed"), "the job is only part done: " + before);
        List<Long> oldWorkers = new ArrayList<>();
        for (JsonNode w : Http.get(first.uri("/admin/workers")).json().get("workers")) {
            oldWorkers.add(w.get("pid").asLong());
        }
        first.process.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook runs

        try (ServerProcess second = ServerProcess.startOnPort(port, args)) {
            second.awaitReady();
            JsonNode status = awaitCompleted(second, job);
            for (int i = 0; i < requests.size(); i++) {
                assertEquals(expected.get(i), status.at("/results/" + i + "/choices/0/text").asText(), "request " + i);
                assertEquals(400, status.at("/results/" + i + "/usage/completion_tokens").asInt());
            }
            assertTrue(Files.readString(second.log).contains("unfinished job requests to resume"), "the journal was read");
            assertTrue(Http.metric(second, "xllm:resumed_requests_total") > 0, "job requests resumed from the journal");
            for (long pid : oldWorkers) {
                assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "worker " + pid + " of the killed router");
            }
        }
        assertFalse(Files.exists(shm), "a clean stop removes the shared-memory directory");

        try (ServerProcess third = ServerProcess.startOnPort(port, args)) {
            third.awaitReady();
            JsonNode again = Http.get(third.uri("/v1/jobs/" + job)).json();
            assertEquals("completed", again.get("status").asText(), "results persist across restarts");
            assertEquals(expected.get(0), again.at("/results/0/choices/0/text").asText());
        }
    }

    private static JsonNode awaitCompleted(ServerProcess server, String job) throws InterruptedException {
        long deadline = System.nanoTime() + 300_000_000_000L;
        while (System.nanoTime() < deadline) {
            JsonNode status = Http.get(server.uri("/v1/jobs/" + job)).json();
            if (status.get("status").asText().equals("completed")) {
                return status;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("job " + job + " did not complete");
    }
}
