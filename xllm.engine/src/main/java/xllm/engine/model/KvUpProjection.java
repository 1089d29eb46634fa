package xllm.engine.model;

import xllm.engine.kernel.WeightMatrix;
import xllm.engine.weights.LoadedWeights;
import xllm.engine.weights.Tensor;

/**
 * {@code kv_b_proj} cut per head for attention over the cached latent: {@code keyAbsorb[h]} is
 * {@code W_UK[h]} transposed ({@code kvLoraRank x qkNopeHeadDim}, an F32 copy made at load) and takes a
 * query's no-rope part into latent space; {@code valueUp[h]} ({@code vHeadDim x kvLoraRank}, a view of the
 * checkpoint rows) lifts the attended latent to the head's value. Immutable.
 */
public record KvUpProjection(WeightMatrix[] keyAbsorb, WeightMatrix[] valueUp) {

    public static KvUpProjection of(Tensor kvB, MlaDimensions d, LoadedWeights weights) {
        int nope = d.qkNopeHeadDim();
        int v = d.vHeadDim();
        int rank = d.kvLoraRank();
        kvB.requireShape((long) d.numHeads() * (nope + v), rank);
        WeightMatrix[] keyAbsorb = new WeightMatrix[d.numHeads()];
        WeightMatrix[] valueUp = new WeightMatrix[d.numHeads()];
        long rowBytes = kvB.dtype().byteSize(rank);
        float[] transposed = new float[rank * nope];
        for (int h = 0; h < d.numHeads(); h++) {
            long firstRow = (long) h * (nope + v);
            for (int n = 0; n < nope; n++) {
                for (int k = 0; k < rank; k++) {
                    transposed[k * nope + n] = kvB.get((firstRow + n) * rank + k);
                }
            }
            keyAbsorb[h] = WeightMatrix.of(weights.derived(kvB.name() + ".key_absorb." + h, new long[] {rank, nope}, transposed));
            Tensor rows = new Tensor(kvB.name() + ".value_up." + h, kvB.dtype(), new long[] {v, rank},
                    kvB.data().asSlice((firstRow + nope) * rowBytes, v * rowBytes));
            valueUp[h] = WeightMatrix.of(rows);
        }
        return new KvUpProjection(keyAbsorb, valueUp);
    }
}
