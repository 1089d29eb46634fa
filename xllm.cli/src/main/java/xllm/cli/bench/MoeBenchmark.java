package xllm.cli.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import xllm.api.SamplingParams;
import xllm.engine.kernel.ComputePool;
import xllm.engine.model.CausalLM;
import xllm.engine.model.DecoderLayer;
import xllm.engine.model.DecoderModel;
import xllm.engine.model.ModelLoader;
import xllm.engine.moe.ExpertLoadBalancer;
import xllm.engine.moe.ExpertPlacement;
import xllm.engine.moe.MoeFeedForward;
import xllm.engine.scheduler.GenerationRequest;
import xllm.engine.scheduler.GenerationResult;
import xllm.engine.runner.ModelRunner;
import xllm.engine.scheduler.OfflineGenerator;
import xllm.engine.scheduler.TokenListener;

/**
 * {@code xllm bench moe}: runs random-token prompts through a mixture-of-experts model, counts the tokens
 * each expert of each layer receives, and reports per layer how unevenly that load falls on expert slots
 * and compute threads before balancing (round-robin placement) and after EPLB. It then applies the
 * balanced placements to the compute pool and reruns the prompts, checking the output does not change.
 * Runs on the calling thread.
 */
public final class MoeBenchmark {
    private static final int BLOCK_SIZE = 16;

    private MoeBenchmark() {
    }

    /** {@link #run(Path, int, int, int, int, long)} with 8 prompts of 32 tokens, 8 generated each, seed 1. */
    public static String run(Path modelDir, int slots) {
        return run(modelDir, slots, 8, 32, 8, 1);
    }

    /**
     * @param slots expert slots per layer, at least the layer's expert count; the spare ones replicate hot experts
     * @return the per-layer report, one line per MoE layer after a header
     */
    public static String run(Path modelDir, int slots, int prompts, int promptTokens, int generatedTokens, long seed) {
        if (prompts < 1 || promptTokens < 1 || generatedTokens < 1) {
            throw new IllegalArgumentException("prompts, prompt tokens and generated tokens must be positive");
        }
        try (CausalLM loaded = ModelLoader.load(modelDir);
             ComputePool pool = ComputePool.forAvailableCores()) {
            if (!(loaded instanceof DecoderModel model) || model.moeLayers().isEmpty()) {
                throw new IllegalArgumentException(modelDir + " (" + loaded.config().modelType() + ") has no mixture-of-experts layers");
            }
            List<MoeFeedForward> moe = model.moeLayers();
            int experts = moe.get(0).numExperts();
            if (slots < experts) {
                throw new IllegalArgumentException("--slots " + slots + " is fewer than the " + experts + " experts per layer");
            }
            int groups = Math.min(pool.threads(), slots);
            List<GenerationRequest> requests = randomRequests(model.config().vocabSize(), prompts, promptTokens, generatedTokens, seed);
            int blocks = prompts * ((promptTokens + generatedTokens) / BLOCK_SIZE + 2);
            try (ModelRunner runner = new ModelRunner(model, pool, blocks, BLOCK_SIZE)) {
                OfflineGenerator generator = new OfflineGenerator(runner, 2048);
                generator.generate(requests, TokenListener.NONE); // compiles the kernels, so the timed runs compare fairly
                moe.forEach(MoeFeedForward::resetTokenCounts);
                long start = System.nanoTime();
                List<GenerationResult> plain = generator.generate(requests, TokenListener.NONE);
                long plainNanos = System.nanoTime() - start;

                StringBuilder report = new StringBuilder();
                report.append(String.format("MoE expert load: %s, %d prompts x %d tokens + %d generated, %d experts, %d slots on %d threads%n",
                        model.config().modelType(), prompts, promptTokens, generatedTokens, experts, slots, groups));
                report.append(String.format("%5s %8s %16s %22s %24s  %s%n", "layer", "routed", "hottest expert",
                        "slot imbalance", "thread imbalance", "replicas added"));
                List<ExpertPlacement> placements = new ArrayList<>();
                for (int i = 0; i < moe.size(); i++) {
                    MoeFeedForward layer = moe.get(i);
                    long[] load = layer.tokensPerExpert();
                    ExpertPlacement before = ExpertPlacement.roundRobin(layer.numExperts(), slots, groups);
                    ExpertPlacement after = ExpertLoadBalancer.place(load, slots, groups);
                    placements.add(after);
                    report.append(line(layerIndex(model, layer), load, before, after));
                }

                for (int i = 0; i < moe.size(); i++) {
                    moe.get(i).setPlacement(placements.get(i));
                }
                start = System.nanoTime();
                List<GenerationResult> placed = generator.generate(requests, TokenListener.NONE);
                long placedNanos = System.nanoTime() - start;
                moe.forEach(l -> l.setPlacement(null));
                boolean same = true;
                for (int i = 0; i < plain.size(); i++) {
                    same &= Arrays.equals(plain.get(i).tokenIds(), placed.get(i).tokenIds());
                }
                report.append(String.format("run with the row split: %.1f ms; with the balanced placements applied: %.1f ms; outputs %s%n",
                        plainNanos / 1e6, placedNanos / 1e6, same ? "identical" : "DIFFER"));
                return report.toString();
            }
        }
    }

    private static String line(int layer, long[] load, ExpertPlacement before, ExpertPlacement after) {
        long total = 0;
        int hottest = 0;
        for (int e = 0; e < load.length; e++) {
            total += load[e];
            if (load[e] > load[hottest]) {
                hottest = e;
            }
        }
        StringBuilder added = new StringBuilder();
        for (int e = 0; e < load.length; e++) {
            if (after.replicas(e) > 1) {
                added.append(added.isEmpty() ? "" : " ").append('e').append(e).append('x').append(after.replicas(e));
            }
        }
        return String.format("%5d %8d %16s %22s %24s  %s%n", layer, total,
                String.format("e%d (%.1f%%)", hottest, total == 0 ? 0.0 : 100.0 * load[hottest] / total),
                String.format("%.2f -> %.2f", before.imbalance(load), after.imbalance(load)),
                String.format("%.2f -> %.2f", before.groupImbalance(load), after.groupImbalance(load)),
                added.isEmpty() ? "-" : added);
    }

    private static int layerIndex(DecoderModel model, MoeFeedForward moe) {
        List<DecoderLayer> layers = model.layers();
        for (int l = 0; l < layers.size(); l++) {
            if (layers.get(l).feedForward() == moe) {
                return l;
            }
        }
        throw new IllegalStateException("MoE layer not in the model");
    }

    private static List<GenerationRequest> randomRequests(int vocab, int prompts, int promptTokens, int generated, long seed) {
        Random random = new Random(seed);
        SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(generated).ignoreEos(true).build();
        List<GenerationRequest> out = new ArrayList<>();
        for (int p = 0; p < prompts; p++) {
            int[] ids = new int[promptTokens];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = random.nextInt(vocab);
            }
            out.add(new GenerationRequest(ids, greedy));
        }
        return out;
    }
}
