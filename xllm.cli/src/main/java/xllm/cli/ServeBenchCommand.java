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
                "--output-len", "--slo-ttft-ms", "--slo-tpot-ms", "--slo-ttft", "--slo-tpot", "--offline-prompts",
                "--offline-output-len", "--api-key", "--api-key-file", "--output", "--seed"), Set.of());
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
        int offlinePrompts = args.integer("--offline-prompts", 0);
        int offlineOutputLen = args.integer("--offline-output-len", outputLen);
        if (concurrency < 1 || prompts < 1 || inputLen < 1 || outputLen < 1 || offlineOutputLen < 1) {
            throw new UsageException("--concurrency, --num-prompts, --input-len, --output-len and --offline-output-len must be positive");
        }
        if (offlinePrompts < 0) {
            throw new UsageException("--offline-prompts must be 0 (no offline job) or more");
        }
        var load = new ServeBenchmark.Load(concurrency, prompts, inputLen, outputLen, millis(args, "--slo-ttft-ms", "--slo-ttft"),
                millis(args, "--slo-tpot-ms", "--slo-tpot"), offlinePrompts, offlineOutputLen,
                args.integer("--seed", 0));
        Map<String, Object> result = ServeBenchmark.run(url, load, ApiKey.from(args));
        System.out.println(args.string("--output", "text").equals("json") ? Json.line(result) : ServeBenchmark.format(result));
        return 0;
    }

    /** An SLO in milliseconds under its name or its older alias; null when neither is given. */
    private static Double millis(Args args, String name, String alias) {
        if (args.has(name) && args.has(alias)) {
            throw new UsageException("give " + name + " or its alias " + alias + ", not both");
        }
        String given = args.has(name) ? name : alias;
        return args.has(given) ? (double) args.decimal(given, 0) : null;
    }
}
