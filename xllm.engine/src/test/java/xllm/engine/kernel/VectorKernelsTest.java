package xllm.engine.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The lane sum from stored lanes is bit for bit the vector lane sum, which the matrix tiles rely on. */
class VectorKernelsTest {

    @Test
    void storedLaneSumIsTheVectorLaneSum() {
        int n = FloatVector.SPECIES_PREFERRED.length();
        SplittableRandom random = new SplittableRandom(7);
        for (int trial = 0; trial < 1000; trial++) {
            float[] lanes = new float[n + 3];
            for (int i = 0; i < lanes.length; i++) {
                lanes[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 4)));
            }
            float expected = VectorKernels.sum(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 3));
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(VectorKernels.sumStoredLanes(lanes, 3)),
                    "trial " + trial);
        }
    }
}
