package xllm.cli;

import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import xllm.http.OpenAiServer;
import xllm.http.ServerOptions;
import xllm.sched.EngineService;
import xllm.sched.SchedulerConfig;

/**
 * {@code xllm serve}: the OpenAI-compatible server for one model. The HTTP port opens at once and answers
 * 503 until the model has loaded.
 */
final class ServeCommand {
    static final String USAGE = """
            usage: xllm serve [--model DIR|FILE.gguf] [--quantization q8_0|q4_0] [--host 127.0.0.1] [--port 8080] [--api-key KEY] [--served-model-name NAME]
                              [--max-num-batched-tokens 2048] [--max-num-seqs 64] [--max-waiting 1024]
                              [--no-prefix-caching] [--block-size 16] [--kv-cache-mb 512] [--threads N] [--max-body-mb 4]""";

    private static final Set<String> OPTIONS = Set.of("--model", "--host", "--port", "--api-key", "--served-model-name",
            "--max-num-batched-tokens", "--max-num-seqs", "--max-waiting", "--block-size", "--kv-cache-mb", "--threads", "--max-body-mb",
            "--quantization");

    private ServeCommand() {
    }

    static int run(String[] argv) throws InterruptedException {
        Args args = Args.parse("serve", argv, 1, OPTIONS, Set.of("--no-prefix-caching"));
        Path dir = LoadedModel.resolveDirectory(args);
        int port = args.integer("--port", 8080);
        if (port < 0 || port > 65535) {
            throw new UsageException("--port must be in 0..65535, got " + port);
        }
        int blockSize = args.integer("--block-size", 16);
        if (blockSize < 1 || blockSize > 1024) {
            throw new UsageException("--block-size must be in 1..1024, got " + blockSize);
        }
        SchedulerConfig scheduler;
        try {
            scheduler = new SchedulerConfig(args.integer("--max-num-batched-tokens", 2048), args.integer("--max-num-seqs", 64),
                    args.integer("--max-waiting", 1024), !args.flag("--no-prefix-caching"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        String name = args.string("--served-model-name", dir.getFileName().toString());
        EngineService service = EngineService.startLoading(new EngineService.Options(dir, LoadedModel.quantization(args), name,
                GenerateCommand.threads(args), GenerateCommand.kvBytes(args), blockSize, scheduler));
        ServerOptions options = new ServerOptions(args.string("--host", "127.0.0.1"), port, args.string("--api-key", null),
                (long) args.integer("--max-body-mb", 4) << 20, name);
        OpenAiServer server = OpenAiServer.start(service, options);
        System.err.println("xllm: serving " + name + " on http://" + options.host() + ":" + server.port() + " (loading the model)");
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            service.close();
            stopped.countDown();
        }));
        while (!service.ready() && service.loadFailure() == null) {
            Thread.sleep(20);
        }
        if (service.loadFailure() != null) {
            server.close();
            throw new UsageException("cannot load model " + dir + ": " + service.loadFailure().getMessage());
        }
        System.err.println("xllm: model loaded; ready");
        stopped.await();
        return 0;
    }
}
