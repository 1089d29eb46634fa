package xllm.cli;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import xllm.engine.tokenizer.Tokenizer;

/** {@code xllm tokenize}: prints the token ids of a text as {@code {"ids":[...]}}. */
final class TokenizeCommand {
    static final String USAGE = "usage: xllm tokenize [--model DIR] --text TEXT [--add-special-tokens]";

    private TokenizeCommand() {
    }

    static int run(String[] argv) {
        Args args = Args.parse("tokenize", argv, 1, Set.of("--model", "--text"), Set.of("--add-special-tokens"));
        if (!args.has("--text")) {
            throw new UsageException("tokenize needs --text TEXT");
        }
        Path dir = LoadedModel.resolveDirectory(args);
        Tokenizer tokenizer = Tokenizer.forModel(dir);
        int[] ids = tokenizer.encode(args.string("--text", ""), args.flag("--add-special-tokens"));
        System.out.println(Json.line(Map.of("ids", ids)));
        return 0;
    }
}
