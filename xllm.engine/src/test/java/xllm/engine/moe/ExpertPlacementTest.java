package xllm.engine.moe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import xllm.api.SamplingParams;
import xllm.engine.TestData;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.DecoderModel;
import xllm.engine.model.ModelLoader;
import xllm.engine.scheduler.GenerationRequest;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.OfflineGenerator;
import xllm.engine.scheduler.TokenListener;

/** EPLB placements built from the routing counts of real model runs keep their promises. */
class ExpertPlacementTest {
    static final List<long[]> RECORDED = new ArrayList<>();

    @BeforeAll
    static void recordRoutingCounts() {
        for (String arch : List.of("qwen3_moe", "deepseek_v3")) {
            try (CausalLM model = ModelLoader.load(TestData.fixture("arch/" + arch));
                 ComputePool pool = new ComputePool(2);
                 ModelRunner runner = new ModelRunner(model, pool, 128, 8)) {
                Random random = new Random(5);
                List<GenerationRequest> requests = new ArrayList<>();
                for (int p = 0; p < 6; p++) {
                    int[] ids = random.ints(24, 0, 512).toArray();
                    requests.add(new GenerationRequest(ids, SamplingParams.builder().temperature(0).maxTokens(6).ignoreEos(true).build()));
                }
                new OfflineGenerator(runner, 512).generate(requests, TokenListener.NONE);
                for (MoeFeedForward layer : ((DecoderModel) model).moeLayers()) {
                    RECORDED.add(layer.tokensPerExpert());
                }
            }
        }
        assertEquals(4, RECORDED.size());
    }

    @Test
    void balancedPlacementsOfRecordedLoadsKeepTheirPromises() {
        for (long[] load : RECORDED) {
            int experts = load.length;
            for (int slots : new int[] {experts, experts + 1, experts + 4, 2 * experts, 3 * experts + 1}) {
                for (int groups : new int[] {1, 2, 3, 4}) {
                    ExpertPlacement before = ExpertPlacement.roundRobin(experts, slots, groups);
                    ExpertPlacement after = ExpertLoadBalancer.place(load, slots, groups);
                    String what = "slots " + slots + " groups " + groups + " load " + java.util.Arrays.toString(load);
                    assertEquals(slots, after.slots(), what);
                    int placed = 0;
                    for (int e = 0; e < experts; e++) {
                        assertTrue(after.replicas(e) >= 1, "expert " + e + " placed: " + what);
                        placed += after.replicas(e);
                    }
                    assertEquals(slots, placed, what);
                    for (int e = 0; e < experts; e++) {
                        for (int f = 0; f < experts; f++) {
                            if (after.replicas(e) > 1 && after.replicas(f) == 1) {
                                assertTrue(load[e] >= load[f], "replicated expert " + e + " is no colder than " + f + ": " + what);
                            }
                        }
                    }
                    assertTrue(after.imbalance(load) <= before.imbalance(load) + 1e-12, what);
                    for (int g = 0; g < groups; g++) {
                        int size = after.groupStart(g + 1) - after.groupStart(g);
                        assertTrue(size <= (slots + groups - 1) / groups, "group " + g + " within its room: " + what);
                    }
                }
            }
        }
    }

    @Test
    void skewedLoadReplicatesTheHotExpertAndPacksGroupsEvenly() {
        long[] load = {1000, 10, 10, 10, 10, 10, 10, 10};
        ExpertPlacement before = ExpertPlacement.roundRobin(8, 12, 4);
        ExpertPlacement after = ExpertLoadBalancer.place(load, 12, 4);
        assertEquals(5, after.replicas(0), "all four spare slots go to the hot expert");
        // round-robin: experts 0..3 twice, so a slot of expert 0 carries 500 of a mean 1070/12
        assertEquals(500 / (1070.0 / 12), before.imbalance(load), 1e-9);
        assertEquals(200 / (1070.0 / 12), after.imbalance(load), 1e-9);
        assertTrue(after.groupImbalance(load) < before.groupImbalance(load));
        for (int g = 0; g < 4; g++) {
            assertEquals(3, after.groupStart(g + 1) - after.groupStart(g));
        }
    }

    @Test
    void identityWhenSlotsEqualExperts() {
        ExpertPlacement p = ExpertPlacement.roundRobin(4, 4, 2);
        for (int s = 0; s < 4; s++) {
            assertEquals(s, p.expertAt(s));
            assertEquals(s / 2, p.groupOf(s));
        }
        assertEquals(1.0, p.imbalance(new long[] {0, 0, 0, 0}), "nothing routed is balanced");
    }

    @Test
    void tooFewSlotsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> ExpertLoadBalancer.place(new long[8], 7, 1));
        assertThrows(IllegalArgumentException.class, () -> ExpertPlacement.roundRobin(8, 8, 9));
        assertThrows(IllegalArgumentException.class, () -> new ExpertPlacement(3, 1, new int[] {0, 1, 1}, new int[] {0, 0, 0}));
    }
}
