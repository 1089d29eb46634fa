package xllm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import xllm.api.StructuredOutput;
import xllm.engine.grammar.ConstraintCache;
import xllm.engine.grammar.GrammarException;
import xllm.engine.grammar.GrammarMatcher;
import xllm.engine.grammar.UnsupportedFeature;
import xllm.engine.grammar.VocabularyTrie;
import xllm.engine.tokenizer.Tokenizer;

/**
 * {@code xllm grammar check}: whether texts are outputs a constraint allows, decided token by token as the
 * engine decides while generating (the text as the model's tokenizer splits it, each token in the mask, the
 * output complete at the end). One JSON line in, one JSON line out.
 */
final class GrammarCommand {
    static final String USAGE = """
            usage: xllm grammar check [--model DIR] --cases FILE
              FILE holds JSON Lines: {"schema": {...}, "text": "..."}, or "regex", "grammar" (GBNF) or "choice"
              in place of "schema"; each prints {"accepted": true|false}, {"unsupported": "what"} or {"error": "why"}""";

    private static final ObjectMapper JSON = new ObjectMapper();

    private GrammarCommand() {
    }

    static int run(String[] argv) throws IOException {
        if (argv.length < 2 || !argv[1].equals("check")) {
            throw new UsageException("grammar needs a mode: grammar check");
        }
        Args args = Args.parse("grammar check", argv, 2, Set.of("--model", "--cases"), Set.of());
        if (!args.has("--cases")) {
            throw new UsageException("grammar check needs --cases FILE");
        }
        Path cases = Path.of(args.string("--cases", ""));
        if (!Files.isRegularFile(cases)) {
            throw new UsageException("--cases " + cases + " is not a file");
        }
        Tokenizer tokenizer = Tokenizer.forModel(LoadedModel.resolveDirectory(args));
        ConstraintCache constraints = new ConstraintCache(VocabularyTrie.of(tokenizer, eos(tokenizer)));
        try (BufferedReader in = Files.newBufferedReader(cases, StandardCharsets.UTF_8)) {
            String line;
            int number = 0;
            while ((line = in.readLine()) != null) {
                number++;
                if (!line.isBlank()) {
                    System.out.println(Json.line(check(line, number, tokenizer, constraints)));
                }
            }
        }
        return 0;
    }

    private static Map<String, Object> check(String line, int number, Tokenizer tokenizer, ConstraintCache constraints) {
        Map<String, Object> out = new LinkedHashMap<>();
        try {
            JsonNode c = JSON.readTree(line);
            if (c == null || !c.isObject() || !c.path("text").isTextual()) {
                throw new GrammarException("line " + number + ": expected an object with a string \"text\"");
            }
            GrammarMatcher matcher = constraints.matcher(constraint(c, number));
            out.put("accepted", accepts(matcher, tokenizer.encode(c.get("text").textValue(), false)));
        } catch (UnsupportedFeature e) {
            out.put("unsupported", e.feature());
        } catch (IOException | GrammarException e) {
            out.put("error", e.getMessage());
        }
        return out;
    }

    static StructuredOutput constraint(JsonNode c, int number) {
        if (c.has("schema")) {
            JsonNode schema = c.get("schema");
            return new StructuredOutput(StructuredOutput.Kind.JSON_SCHEMA,
                    schema.isTextual() ? schema.textValue() : schema.toString());
        }
        if (c.path("regex").isTextual()) {
            return new StructuredOutput(StructuredOutput.Kind.REGEX, c.get("regex").textValue());
        }
        if (c.path("grammar").isTextual()) {
            return new StructuredOutput(StructuredOutput.Kind.GRAMMAR, c.get("grammar").textValue());
        }
        if (c.path("choice").isArray()) {
            return new StructuredOutput(StructuredOutput.Kind.CHOICE, c.get("choice").toString());
        }
        throw new GrammarException("line " + number + ": expected \"schema\", \"regex\", \"grammar\" or \"choice\"");
    }

    /** Every token in the mask where it comes, and the output complete after the last. */
    static boolean accepts(GrammarMatcher matcher, int[] ids) {
        for (int id : ids) {
            long[] allowed = matcher.allowed();
            if ((allowed[id >>> 6] >>> id & 1) == 0 || !matcher.accept(id)) {
                return false;
            }
        }
        return matcher.complete();
    }

    static int[] eos(Tokenizer tokenizer) {
        return tokenizer.eosTokenId() >= 0 ? new int[] {tokenizer.eosTokenId()} : new int[0];
    }
}
