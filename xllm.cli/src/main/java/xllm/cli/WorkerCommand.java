package xllm.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import xllm.sched.EngineService;
import xllm.engine.scheduler.SchedulerConfig;
import xllm.sched.cluster.ClusterWorker;

/**
 * {@code xllm worker}: one engine process behind {@code xllm serve --workers N}. The router starts it with
 * its own model and scheduling options; it talks to the router only through the shared-memory directory.
 */
final class WorkerCommand {
    static final String USAGE = """
            usage: xllm worker --id N --dir SHM_DIR --router-pid PID [--model DIR] [--threads N] [--kv-cache-mb MB]
                               [--block-size 16] [--max-num-batched-tokens 2048] [--max-num-seqs 64] [--max-waiting 1024]
                               [--no-prefix-caching] [--quantization q8_0|q4_0] [--activations f32|bf16] [--kv-cache-dtype f16|f32]
                               [--served-model-name NAME] [--offline-max-batch auto|N]
            Started by "xllm serve --workers N"; not meant to be run by hand.""";

    /** The serve options a worker takes over from the router's command line. */
    private static final Set<String> ENGINE_OPTIONS = Set.of("--model", "--kv-cache-mb", "--block-size",
            "--max-num-batched-tokens", "--max-num-seqs", "--max-waiting", "--quantization", "--activations", "--kv-cache-dtype", "--served-model-name",
            "--speculative-config", "--offline-max-batch",
            "--kv-idle-release-s", "--kv-offload-dir", "--kv-offload-gb");
    private static final Set<String> OPTIONS;

    static {
        Set<String> all = new java.util.HashSet<>(ENGINE_OPTIONS);
        all.addAll(Set.of("--id", "--dir", "--router-pid", "--threads"));
        OPTIONS = Set.copyOf(all);
    }

    private WorkerCommand() {
    }

    static int run(String[] argv) {
        Args args = Args.parse("worker", argv, 1, OPTIONS, Set.of("--no-prefix-caching"));
        if (!args.has("--id") || !args.has("--dir") || !args.has("--router-pid")) {
            throw new UsageException("worker needs --id, --dir and --router-pid (it is started by xllm serve --workers)");
        }
        Path dir = LoadedModel.resolveDirectory(args);
        SchedulerConfig scheduler = ServeCommand.schedulerConfig(args);
        EngineService.Options engine = new EngineService.Options(dir, LoadedModel.quantization(args), LoadedModel.activations(args),
                args.string("--served-model-name", dir.getFileName().toString()), GenerateCommand.threads(args),
                GenerateCommand.kvBytes(args), LoadedModel.kvDtype(args), args.integer("--block-size", 16), scheduler,
                LoadedModel.speculativeConfig(args, dir)).withKvTiers(LoadedModel.kvTiers(args));
        ClusterWorker.run(new ClusterWorker.Options(args.integer("--id", 0), Path.of(args.string("--dir", "")),
                args.longValue("--router-pid", -1), engine));
        return 0;
    }

    /** The serve options in {@code argv} that a worker takes, and {@code --threads threads}. */
    static List<String> engineOptions(String[] argv, int threads) {
        List<String> out = new ArrayList<>();
        for (int i = 1; i < argv.length; i++) {
            String name = argv[i].contains("=") ? argv[i].substring(0, argv[i].indexOf('=')) : argv[i];
            if (name.equals("--no-prefix-caching")) {
                out.add(name);
            } else if (ENGINE_OPTIONS.contains(name)) {
                out.add(argv[i]);
                if (!argv[i].contains("=") && i + 1 < argv.length) {
                    out.add(argv[++i]);
                }
            }
        }
        out.addAll(List.of("--threads", Integer.toString(threads)));
        return out;
    }

    /** This JVM's own command line up to the main module: the same java, options and module path. */
    static List<String> launcher() {
        ProcessHandle.Info info = ProcessHandle.current().info();
        String java = info.command().orElseThrow(() -> new IllegalStateException("cannot tell this process's java command"));
        String[] args = info.arguments().orElseThrow(() -> new IllegalStateException("cannot read this process's arguments"));
        List<String> out = new ArrayList<>(List.of(java));
        for (String a : args) {
            out.add(a);
            if (a.equals("xllm.cli/xllm.cli.Main")) {
                return out;
            }
        }
        throw new IllegalStateException("xllm serve --workers must run through the xllm launcher (-m xllm.cli/xllm.cli.Main)");
    }
}
