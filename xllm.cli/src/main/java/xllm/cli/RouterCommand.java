package xllm.cli;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import xllm.http.OpenAiServer;
import xllm.http.ServedParts;
import xllm.http.ServerOptions;
import xllm.sched.nodes.EtcdOptions;
import xllm.sched.nodes.NodeRouterService;

/**
 * {@code xllm router}: the OpenAI API in front of the nodes registered in etcd, with no weights of its own.
 * Several may run at once; each serves traffic, one is master.
 */
final class RouterCommand {
    static final String USAGE = """
            usage: xllm router --etcd URL [--host 127.0.0.1] [--port 8080] [--model DIR] [--served-model-name NAME]
                               [--router-name NAME] [--api-key KEY] [--max-waiting 4096] [--max-body-mb 4]
              routes each request to the node that caches most of its prompt, load allowing, and streams its tokens
              back; a request whose node dies resumes on another node from the tokens already sent
              --model       the model the nodes serve: only its tokenizer and chat template are read (the default model
                            when absent)
              --router-name this router in etcd's master key (host and port by default)
              --api-key     clients must send it, and it is sent to the nodes
            """ + EtcdArgs.USAGE;

    private static final Set<String> OPTIONS;

    static {
        Set<String> o = new HashSet<>(Set.of("--host", "--port", "--model", "--served-model-name", "--router-name", "--api-key",
                "--max-waiting", "--max-body-mb"));
        o.addAll(EtcdArgs.OPTIONS);
        OPTIONS = Set.copyOf(o);
    }

    private RouterCommand() {
    }

    static int run(String[] argv) throws InterruptedException {
        Args args = Args.parse("router", argv, 1, OPTIONS, Set.of());
        EtcdOptions etcd = EtcdArgs.parse(args);
        if (etcd == null) {
            throw new UsageException("router needs --etcd URL (where the nodes register)");
        }
        Path dir = LoadedModel.resolveDirectory(args);
        int port = args.integer("--port", 8080);
        if (port < 0 || port > 65535) {
            throw new UsageException("--port must be in 0..65535, got " + port);
        }
        String name = args.string("--served-model-name", dir.getFileName().toString());
        String apiKey = args.string("--api-key", null);
        ServerOptions options = new ServerOptions(args.string("--host", "127.0.0.1"), port, apiKey,
                (long) args.integer("--max-body-mb", 4) << 20, name);
        NodeRouterService service = NodeRouterService.start(new NodeRouterService.Options(etcd,
                args.string("--router-name", EtcdArgs.defaultName(port)), dir, name, apiKey, args.integer("--max-waiting", 4096)));
        OpenAiServer server = OpenAiServer.start(service, ServedParts.none().withNodes(service), options);
        System.err.println("xllm: routing " + name + " on http://" + options.host() + ":" + server.port() + " across the nodes in etcd "
                + etcd.endpoints());
        ServeCommand.closeOnShutdown(service, server).await();
        return 0;
    }
}
