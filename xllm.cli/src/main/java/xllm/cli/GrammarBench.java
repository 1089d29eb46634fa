package xllm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import xllm.api.StructuredOutput;
import xllm.cli.bench.GrammarBenchmark;
import xllm.cli.bench.StructuredDecodeBenchmark;
import xllm.engine.grammar.VocabularyTrie;
import xllm.engine.tokenizer.Tokenizer;

/** {@code xllm bench grammar}: the options of {@link GrammarBenchmark}. */
final class GrammarBench {
    private GrammarBench() {
    }

    static int run(String[] argv) throws IOException {
        Args args = Args.parse("bench grammar", argv, 2,
                Set.of("--model", "--schema", "--regex", "--grammar", "--walks", "--tokens", "--seed", "--decode-batch", "--gen-len",
                        "--rounds", "--threads"), Set.of());
        StructuredOutput constraint;
        if (args.has("--schema")) {
            constraint = new StructuredOutput(StructuredOutput.Kind.JSON_SCHEMA, read(args.string("--schema", "")));
        } else if (args.has("--grammar")) {
            constraint = new StructuredOutput(StructuredOutput.Kind.GRAMMAR, read(args.string("--grammar", "")));
        } else if (args.has("--regex")) {
            constraint = new StructuredOutput(StructuredOutput.Kind.REGEX, args.string("--regex", ""));
        } else {
            throw new UsageException("bench grammar needs --schema FILE, --regex RE or --grammar FILE");
        }
        int walks = args.integer("--walks", 20);
        int tokens = args.integer("--tokens", 256);
        if (walks < 1 || tokens < 1) {
            throw new UsageException("--walks and --tokens must be positive");
        }
        Path dir = LoadedModel.resolveDirectory(args);
        Tokenizer tokenizer = Tokenizer.forModel(dir);
        long t0 = System.nanoTime();
        VocabularyTrie vocabulary = VocabularyTrie.of(tokenizer, GrammarCommand.eos(tokenizer));
        long built = System.nanoTime() - t0;
        System.out.print(GrammarBenchmark.run(constraint, vocabulary, built, walks, tokens, args.integer("--seed", 1)));
        if (args.has("--decode-batch")) {
            decode(args, dir, tokenizer, constraint);
        }
        return 0;
    }

    /** The decode step with and without the constraint, on the model in {@code dir}. */
    private static void decode(Args args, Path dir, Tokenizer tokenizer, StructuredOutput constraint) {
        int batch = args.integer("--decode-batch", 8);
        int genLen = args.integer("--gen-len", 64);
        int rounds = args.integer("--rounds", 3);
        if (batch < 1 || genLen < 1 || rounds < 1) {
            throw new UsageException("--decode-batch, --gen-len and --rounds must be positive");
        }
        try (LoadedModel loaded = LoadedModel.open(dir, GenerateCommand.threads(args), GenerateCommand.kvBytes(args), LoadedModel.quantization(args),
                LoadedModel.activations(args), null)) {
            VocabularyTrie vocabulary = VocabularyTrie.of(tokenizer, GrammarCommand.eos(tokenizer), loaded.runner.vocabSize());
            int[] prompt = tokenizer.encode("Answer in JSON.\n", false);
            StructuredDecodeBenchmark.Result r = new StructuredDecodeBenchmark(loaded.runner, vocabulary, prompt)
                    .run(constraint, batch, genLen, rounds);
            System.out.printf("decode batch %d, sampled: step %.2f ms free, %.2f ms constrained (%+.1f%%; %d and %d full steps)%n",
                    batch, r.freeStepNanos() / 1e6, r.constrainedStepNanos() / 1e6, r.overhead() * 100, r.freeSteps(),
                    r.constrainedSteps());
        }
    }

    private static String read(String file) throws IOException {
        Path path = Path.of(file);
        if (!Files.isRegularFile(path)) {
            throw new UsageException(file + " is not a file");
        }
        return Files.readString(path);
    }
}
