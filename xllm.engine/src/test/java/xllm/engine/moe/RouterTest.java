package xllm.engine.moe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The two routing rules on hand-checked inputs. */
class RouterTest {

    @Test
    void softmaxRouterPicksTheLargestAndRenormalizes() {
        float[] logits = {0f, 2f, 1f, 3f};
        int[] experts = new int[2];
        float[] weights = new float[2];
        new SoftmaxRouter(4, 2, true).route(logits, 0, experts, weights, 0, new float[0]);
        assertArrayEquals(new int[] {1, 3}, experts, "ascending expert order");
        double e2 = Math.exp(2);
        double e3 = Math.exp(3);
        assertEquals(e2 / (e2 + e3), weights[0], 1e-6);
        assertEquals(e3 / (e2 + e3), weights[1], 1e-6);
    }

    @Test
    void groupLimitedRouterChoosesWithTheBiasButWeighsWithout() {
        // 8 experts in 4 groups of 2; keep 2 groups; top 2
        float[] logits = {2f, 1.5f, -1f, -1f, 0f, 0.5f, 3f, -3f};
        float[] bias = {0f, 0f, 0f, 0f, 0f, 2f, 0f, 0f};
        GroupLimitedRouter router = new GroupLimitedRouter(8, 2, 4, 2, true, 2.5f, bias);
        int[] experts = new int[2];
        float[] weights = new float[2];
        router.route(logits.clone(), 0, experts, weights, 0, new float[router.scratchFloats()]);
        // biased group scores: g0 = s(2)+s(1.5) = 1.70, g1 = 0.54, g2 = s(0)+s(.5)+2 = 3.12, g3 = s(3)+s(-3) = 1.0
        // kept: g2, g0; best biased there: expert 5 (2.62), then 0 (0.88)
        assertArrayEquals(new int[] {0, 5}, experts);
        double s0 = sigmoid(2);
        double s5 = sigmoid(0.5);
        assertEquals(2.5 * s0 / (s0 + s5), weights[0], 1e-6);
        assertEquals(2.5 * s5 / (s0 + s5), weights[1], 1e-6);
    }

    @Test
    void droppedGroupsAreNeverChosen() {
        // the best expert (6, logit 3) sits in a group whose partner drags the group score below the others
        float[] logits = {1f, 1f, 1f, 1f, -9f, -9f, 3f, -9f};
        GroupLimitedRouter router = new GroupLimitedRouter(8, 2, 4, 2, false, 1f, null);
        int[] experts = new int[2];
        float[] weights = new float[2];
        router.route(logits, 0, experts, weights, 0, new float[router.scratchFloats()]);
        assertArrayEquals(new int[] {0, 1}, experts, "ties break to the lower index, group 3 is dropped");
        assertEquals(sigmoid(1), weights[0], 1e-6);
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }
}
