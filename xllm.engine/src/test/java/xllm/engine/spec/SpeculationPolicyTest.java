package xllm.engine.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * How deep the engine drafts: deep while a pass is bound by reading the weights (one sequence), hardly at all
 * once the batch makes it bound by arithmetic, deeper for sequences whose drafts are accepted, and the same
 * every time for sampled drafts whatever the machine does.
 */
class SpeculationPolicyTest {
    /** A machine where a pass costs 5 ms plus 1 ms a token, as a 22M model on two cores without AVX-512. */
    static SpeculationPolicy timed() {
        SpeculationPolicy policy = new SpeculationPolicy(8, 0);
        for (int i = 0; i < 100; i++) {
            policy.stepTook(300, 5_000_000L + 300 * 1_000_000L, false); // a prefill chunk
            policy.stepTook(1, 6_000_000L, true);
        }
        return policy;
    }

    @Test
    void oneSequenceDraftsDeepAndThirtyTwoHardlyAtAll() {
        SpeculationPolicy policy = timed();
        double alone = policy.threshold(1);
        double crowded = policy.threshold(32);
        assertTrue(alone > 0.1 && alone < 0.25, "one sequence: a draft costs about a sixth of a token's time, " + alone);
        assertTrue(crowded > 0.85, "32 sequences: a draft costs nearly a whole token's time, " + crowded);
        assertEquals(8, policy.drafts(0.9, alone, 1, 100), "an accepted sequence drafts as deep as allowed alone");
        assertEquals(0, policy.drafts(0.8, crowded, 32, 100), "and not at all in a crowd unless nearly sure");
        assertEquals(2, policy.drafts(0.5, alone, 1, 100), "a sequence accepting half its drafts: 0.5 and 0.25 pass 0.17");
        assertEquals(3, policy.drafts(0.9, alone, 1, 3), "never past the cap the request's length leaves");
    }

    @Test
    void aWarmUpUnderACompilingJitIsForgotten() {
        SpeculationPolicy policy = new SpeculationPolicy(8, 0);
        // warm-up under a cold JIT: prompt tokens at 40 ms each, then warm decode passes of 6 ms
        policy.stepTook(256, 256 * 40_000_000L, false);
        for (int i = 0; i < 20; i++) {
            policy.stepTook(1, 6_000_000L, true);
        }
        double cold = policy.threshold(1);
        assertEquals(0, policy.drafts(0.6, cold, 1, 100), "costs from the cold warm-up forbid every draft: " + cold);
        policy.forgetCosts();
        assertEquals(0, policy.threshold(1), "nothing measured since: draft freely");
        policy.stepTook(1, 6_000_000L, true);
        assertTrue(policy.drafts(0.6, policy.threshold(1), 1, 100) > 0, "served steps set the bar again: " + policy.threshold(1));
    }

    @Test
    void aProposerThatTakesTimeRaisesTheBar() {
        SpeculationPolicy policy = timed();
        double free = policy.threshold(1);
        policy.drafted(4, 4 * 2_000_000L);
        assertTrue(policy.threshold(1) > free + 0.2, "a draft costing 2 ms more: " + free + " -> " + policy.threshold(1));
        policy.drafted(4, 4 * 20_000_000L); // after a pause: catching up, not what a draft costs
        assertTrue(policy.threshold(1) < free + 0.4, "one slow proposal does not stop drafting: " + policy.threshold(1));
    }

    @Test
    void aSlowFirstProposalDoesNotStopDraftingForGood() {
        SpeculationPolicy policy = timed();
        policy.forgetCosts();
        policy.stepTook(1, 6_000_000L, true);
        policy.drafted(1, 30_000_000L); // the first draft after the warm-up, the thread descheduled while it ran
        assertEquals(0, policy.drafts(SpeculationPolicy.PRIOR_ACCEPTANCE, policy.threshold(1), 1, 100),
                "a draft that seems to cost five passes is not worth it: " + policy.threshold(1));
        int steps = 0;
        while (policy.drafts(SpeculationPolicy.PRIOR_ACCEPTANCE, policy.threshold(1), 1, 100) == 0 && steps < 1000) {
            policy.draftedNothing();
            steps++;
        }
        assertTrue(steps < 60, "decoding without drafts, the engine tries drafting again within a few dozen steps: " + steps);
    }

    @Test
    void acceptanceFollowsWhatIsTakenAndRecoversWhenIdle() {
        double a = SpeculationPolicy.PRIOR_ACCEPTANCE;
        double up = SpeculationPolicy.updated(a, 4, 4);
        double down = SpeculationPolicy.updated(a, 4, 0);
        assertTrue(up > a && down < a, up + " " + down);
        double idle = down;
        for (int i = 0; i < 100; i++) {
            idle = SpeculationPolicy.updated(idle, 0, 0);
        }
        assertEquals(a, idle, 0.01, "a sequence that stopped drafting comes back to the prior and tries again");
    }

    @Test
    void sampledDraftsDependOnAcceptanceAloneAndABatchLimitStopsDrafting() {
        SpeculationPolicy quiet = timed();
        SpeculationPolicy busy = new SpeculationPolicy(8, 0);
        busy.stepTook(1, 90_000_000L, true);
        assertEquals(quiet.sampledDrafts(0.7, 100), busy.sampledDrafts(0.7, 100));
        assertEquals(0, new SpeculationPolicy(8, 4).drafts(0.99, 0, 5, 100), "disable_by_batch_size");
    }
}
