package xllm.cli;

import java.net.URI;
import java.util.Map;
import java.util.Set;
import xllm.cli.bench.ServeBenchmark;

/** {@code xllm bench serve}: load against a running server, reported like {@code vllm bench serve}. */
final class ServeBenchCommand {
    private ServeBenchCommand() {
    }

    static int run(String[] argv) {
        Args args = Args.parse("bench serve", argv, 2, Set.of("--url", "--concurrency", "--num-prompts", "--input-len",
                "--output-len", "--slo-ttft", "--slo-tpot", "--api-key", "--output"), Set.of());
        if (!args.has("--url")) {
            throw new UsageException("bench serve needs --url URL (e.g. http://127.0.0.1:8080)");
        }
        URI url;
        try {
            url = URI.create(args.string("--url", ""));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--url is not a URL: " + args.string("--url", ""));
        }
        int concurrency = args.integer("--concurrency", 8);
        int prompts = args.integer("--num-prompts", 64);
        int inputLen = args.integer("--input-len", 128);
        int outputLen = args.integer("--output-len", 64);
        if (concurrency < 1 || prompts < 1 || inputLen < 1 || outputLen < 1) {
            throw new UsageException("--concurrency, --num-prompts, --input-len and --output-len must be positive");
        }
        Double sloTtft = args.has("--slo-ttft") ? (double) args.decimal("--slo-ttft", 0) : null;
        Double sloTpot = args.has("--slo-tpot") ? (double) args.decimal("--slo-tpot", 0) : null;
        Map<String, Object> result = ServeBenchmark.run(url, concurrency, prompts, inputLen, outputLen, sloTtft, sloTpot,
                args.string("--api-key", null));
        System.out.println(args.string("--output", "text").equals("json") ? Json.line(result) : ServeBenchmark.format(result));
        return 0;
    }
}
