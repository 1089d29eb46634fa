package xllm.cli;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import xllm.api.ChatMessage;
import xllm.api.SamplingParams;
import xllm.engine.scheduler.GenerationRequest;
import xllm.engine.scheduler.GenerationResult;
import xllm.engine.scheduler.OfflineGenerator;
import xllm.engine.tokenizer.ChatTemplate;
import xllm.engine.tokenizer.IncrementalDecoder;

/** {@code xllm generate}: completes one prompt, streaming text to stdout (or one JSON line). */
final class GenerateCommand {
    static final String USAGE = """
            usage: xllm generate [--model DIR] (--prompt TEXT | --prompt-ids 1,2,3) [--max-tokens N]
                                 [--temperature T] [--top-p P] [--top-k K] [--min-p P] [--seed S]
                                 [--repetition-penalty R] [--presence-penalty P] [--frequency-penalty F]
                                 [--ignore-eos] [--chat] [--output text|json] [--stats] [--threads N] [--kv-cache-mb MB]
                                 [--quantization q8_0|q4_0] [--activations f32|bf16] [--kv-cache-dtype f16|f32]
                                 [--speculative-config '{"method":"suffix"|"ngram"|"draft"|"mtp","num_speculative_tokens":K,...}']""";

    private static final Set<String> OPTIONS = Set.of("--model", "--prompt", "--prompt-ids", "--max-tokens",
            "--temperature", "--top-p", "--top-k", "--min-p", "--seed", "--repetition-penalty", "--presence-penalty",
            "--frequency-penalty", "--output", "--threads", "--kv-cache-mb", "--quantization", "--activations", "--kv-cache-dtype",
            "--speculative-config");
    private static final Set<String> FLAGS = Set.of("--ignore-eos", "--chat", "--stats");

    private GenerateCommand() {
    }

    static int run(String[] argv) {
        Args args = Args.parse("generate", argv, 1, OPTIONS, FLAGS);
        String output = args.string("--output", "text");
        if (!output.equals("text") && !output.equals("json")) {
            throw new UsageException("--output must be text or json, got \"" + output + "\"");
        }
        if (args.has("--prompt") == args.has("--prompt-ids")) {
            throw new UsageException("generate needs exactly one of --prompt TEXT or --prompt-ids 1,2,3");
        }
        SamplingParams params = samplingParams(args);
        Path dir = LoadedModel.resolveDirectory(args);
        try (LoadedModel loaded = LoadedModel.open(dir, threads(args), kvBytes(args), LoadedModel.quantization(args), LoadedModel.activations(args),
                LoadedModel.kvDtype(args))) {
            int[] promptIds = promptIds(args, loaded);
            PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
            IncrementalDecoder decoder = loaded.tokenizer == null ? null : loaded.tokenizer.newIncrementalDecoder(true);
            boolean stream = output.equals("text");
            long start = System.nanoTime();
            long[] firstTokenAt = {0};
            OfflineGenerator generator = new OfflineGenerator(loaded.runner, Math.max(512, promptIds.length),
                    loaded.speculation(args, kvBytes(args) / 2), loaded.tokenizerEos());
            GenerationResult result = generator.generate(List.of(new GenerationRequest(promptIds, params)), (request, token) -> {
                if (firstTokenAt[0] == 0) {
                    firstTokenAt[0] = System.nanoTime();
                }
                if (stream) {
                    out.print(decoder != null ? decoder.next(token) : token + " ");
                    out.flush();
                }
            }).get(0);
            long end = System.nanoTime();
            double prefillSeconds = (firstTokenAt[0] - start) / 1e9;
            double decodeSeconds = (end - firstTokenAt[0]) / 1e9;
            int decoded = result.tokenIds().length - 1;
            double prefillTokS = promptIds.length / prefillSeconds;
            double decodeTokS = decoded > 0 ? decoded / decodeSeconds : 0.0;
            if (stream) {
                out.print(decoder != null ? decoder.flush() : "");
                out.println();
            } else {
                Map<String, Object> line = new LinkedHashMap<>();
                line.put("prompt_ids", promptIds);
                line.put("token_ids", result.tokenIds());
                line.put("text", loaded.tokenizer == null ? "" : loaded.tokenizer.decode(result.tokenIds(), true));
                line.put("finish_reason", result.finishReason().wireName());
                if (args.flag("--stats")) {
                    Map<String, Object> stats = new LinkedHashMap<>();
                    stats.put("prefill_tok_s", Math.round(prefillTokS * 10) / 10.0);
                    stats.put("decode_tok_s", Math.round(decodeTokS * 10) / 10.0);
                    stats.put("draft_tokens", generator.draftTokens());
                    stats.put("accepted_tokens", generator.acceptedTokens());
                    line.put("stats", stats);
                }
                out.println(Json.line(line));
            }
            out.flush();
            if (args.flag("--stats") && stream) {
                System.err.printf("prefill: %d tokens in %.1f ms (%.0f tok/s); decode: %d tokens in %.1f ms (%.1f tok/s); "
                                + "drafts: %d accepted of %d%n", promptIds.length, prefillSeconds * 1e3, prefillTokS, decoded,
                        decodeSeconds * 1e3, decodeTokS, generator.acceptedTokens(), generator.draftTokens());
            }
        }
        return 0;
    }

    private static int[] promptIds(Args args, LoadedModel loaded) {
        int[] ids = args.integers("--prompt-ids");
        if (ids != null) {
            int vocab = loaded.model.config().vocabSize();
            for (int id : ids) {
                if (id < 0 || id >= vocab) {
                    throw new UsageException("--prompt-ids: token id " + id + " is outside the vocabulary of " + vocab);
                }
            }
            return ids;
        }
        if (loaded.tokenizer == null) {
            throw new UsageException("model " + loaded.dir + " has no tokenizer (tokenizer.json or GGUF tokenizer metadata): use --prompt-ids");
        }
        String prompt = args.string("--prompt", "");
        if (args.flag("--chat")) {
            ChatTemplate template = loaded.tokenizer.chatTemplate();
            if (template == null) {
                throw new UsageException("--chat: model " + loaded.dir + " has no chat_template in tokenizer_config.json");
            }
            String rendered = template.render(List.of(new ChatMessage("user", prompt)), true);
            return loaded.tokenizer.encode(rendered, false);
        }
        int[] encoded = loaded.tokenizer.encode(prompt, true);
        if (encoded.length == 0) {
            throw new UsageException("--prompt is empty after tokenization");
        }
        return encoded;
    }

    static SamplingParams samplingParams(Args args) {
        try {
            return SamplingParams.builder()
                    .temperature(args.decimal("--temperature", 0f))
                    .topP(args.decimal("--top-p", 1f))
                    .topK(args.integer("--top-k", 0))
                    .minP(args.decimal("--min-p", 0f))
                    .repetitionPenalty(args.decimal("--repetition-penalty", 1f))
                    .presencePenalty(args.decimal("--presence-penalty", 0f))
                    .frequencyPenalty(args.decimal("--frequency-penalty", 0f))
                    .seed(args.longValue("--seed", System.nanoTime()))
                    .maxTokens(args.integer("--max-tokens", 64))
                    .ignoreEos(args.flag("--ignore-eos"))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    static int threads(Args args) {
        int threads = args.integer("--threads", Runtime.getRuntime().availableProcessors());
        if (threads < 1) {
            throw new UsageException("--threads must be at least 1, got " + threads);
        }
        return threads;
    }

    static long kvBytes(Args args) {
        int mb = args.integer("--kv-cache-mb", 512);
        if (mb < 1) {
            throw new UsageException("--kv-cache-mb must be at least 1, got " + mb);
        }
        return (long) mb << 20;
    }
}
