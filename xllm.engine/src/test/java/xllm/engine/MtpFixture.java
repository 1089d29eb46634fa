package xllm.engine;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import xllm.engine.weights.SafetensorsDirectory;
import xllm.engine.weights.Tensor;

/**
 * The DeepSeek-V3 fixture given the multi-token-prediction module its config announces: the module's decoder
 * layer is a copy of the model's last one (MLA and MoE) and its embedding is the model's; its norms, projection and
 * head are either random or chosen so that its drafts are right now and then.
 */
public final class MtpFixture {
    private MtpFixture() {
    }

    /** Writes the fixture with a module whose norms, projection and head have random weights of a fixed seed. */
    public static void withRandomModule(Path dir) {
        Random random = new Random(7);
        write(dir, gaussian(random, 64, 1f, 0.2f), gaussian(random, 64, 1f, 0.2f), gaussian(random, 64 * 128, 0f, 0.09f),
                gaussian(random, 64, 1f, 0.2f), gaussian(random, 512 * 64, 0f, 0.5f));
    }

    /**
     * Writes the fixture with a module that drafts the last token again: its projection passes the embedding on and
     * its head is the embedding, so it is right wherever the model repeats a token, as its random weights often make
     * it do.
     */
    public static void withRepeatingModule(Path dir) {
        float[] ones = new float[64];
        Arrays.fill(ones, 1f);
        float[] passEmbedding = new float[64 * 128];
        for (int i = 0; i < 64; i++) {
            passEmbedding[i * 128 + i] = 1f;
        }
        try (SafetensorsDirectory weights = SafetensorsDirectory.open(TestData.fixture("arch/deepseek_v3"))) {
            write(dir, ones, ones, passEmbedding, ones, floats(weights.get("model.embed_tokens.weight")));
        }
    }

    private static void write(Path dir, float[] enorm, float[] hnorm, float[] ehProj, float[] headNorm, float[] head) {
        Path fixture = TestData.fixture("arch/deepseek_v3");
        SafetensorsFixtureWriter writer = new SafetensorsFixtureWriter();
        try (SafetensorsDirectory weights = SafetensorsDirectory.open(fixture)) {
            Files.copy(fixture.resolve("config.json"), dir.resolve("config.json"));
            for (String name : weights.names()) {
                Tensor t = weights.get(name);
                byte[] bytes = t.data().toArray(ValueLayout.JAVA_BYTE);
                writer.add(name, "F32", t.shape(), bytes);
                if (name.startsWith("model.layers.2.")) {
                    writer.add(name.replace("model.layers.2.", "model.layers.3."), "F32", t.shape(), bytes);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // the embedding is shared with the model, as DeepSeek-V3's checkpoint allows; everything else is its own
        writer.addF32("model.layers.3.enorm.weight", new long[] {64}, enorm)
                .addF32("model.layers.3.hnorm.weight", new long[] {64}, hnorm)
                .addF32("model.layers.3.eh_proj.weight", new long[] {64, 128}, ehProj)
                .addF32("model.layers.3.shared_head.norm.weight", new long[] {64}, headNorm)
                .addF32("model.layers.3.shared_head.head.weight", new long[] {512, 64}, head)
                .write(dir.resolve("model.safetensors"));
    }

    private static float[] floats(Tensor t) {
        return t.data().toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
    }

    private static float[] gaussian(Random random, int n, float mean, float std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = mean + std * (float) random.nextGaussian();
        }
        return v;
    }
}
