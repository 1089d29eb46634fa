package xllm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import xllm.api.StructuredOutput;
import xllm.cli.bench.GrammarBenchmark;
import xllm.engine.grammar.VocabularyTrie;
import xllm.engine.tokenizer.Tokenizer;

/** {@code xllm bench grammar}: the options of {@link GrammarBenchmark}. */
final class GrammarBench {
    private GrammarBench() {
    }

    static int run(String[] argv) throws IOException {
        Args args = Args.parse("bench grammar", argv, 2,
                Set.of("--model", "--schema", "--regex", "--grammar", "--walks", "--tokens", "--seed"), Set.of());
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
        Tokenizer tokenizer = Tokenizer.forModel(LoadedModel.resolveDirectory(args));
        long t0 = System.nanoTime();
        VocabularyTrie vocabulary = VocabularyTrie.of(tokenizer, GrammarCommand.eos(tokenizer));
        long built = System.nanoTime() - t0;
        System.out.print(GrammarBenchmark.run(constraint, vocabulary, built, walks, tokens, args.integer("--seed", 1)));
        return 0;
    }

    private static String read(String file) throws IOException {
        Path path = Path.of(file);
        if (!Files.isRegularFile(path)) {
            throw new UsageException(file + " is not a file");
        }
        return Files.readString(path);
    }
}
