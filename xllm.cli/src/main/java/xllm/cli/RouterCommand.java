package xllm.cli;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import javax.net.ssl.SSLContext;
import xllm.http.OpenAiServer;
import xllm.http.ServedParts;
import xllm.http.ServerOptions;
import xllm.sched.nodes.EtcdOptions;
import xllm.sched.nodes.NodeRouterService;
import xllm.sched.nodes.NodeTls;

/**
 * {@code xllm router}: the OpenAI API in front of the nodes registered in etcd, with no weights of its own.
 * Several may run at once; each serves traffic, one is master.
 */
final class RouterCommand {
    static final String USAGE = """
            usage: xllm router --etcd URL [--host 127.0.0.1] [--port 8080] [--model DIR] [--served-model-name NAME]
                               [--router-name NAME] [--api-key-file FILE] [--max-waiting 4096] [--max-body-mb 4]
                               [--node-ca-certs FILE] [--ssl-certfile FILE --ssl-keyfile FILE [--ssl-ca-certs FILE]]
                               [--header-timeout-s 30] [--keep-alive-timeout-s 60] [--max-connections 2048] [--log-requests]
              routes each request to the node that caches most of its prompt, load allowing, and streams its tokens
              back; a request whose node dies resumes on another node from the tokens already sent
              --model       the model the nodes serve: only its tokenizer and chat template are read (the default model
                            when absent)
              --router-name this router in etcd's master key (host and port by default)
              --node-ca-certs FILE  PEM CA certificates to trust for nodes whose URL is https (the JDK's trusted CAs
                            when absent); the API key (below) is required of clients and sent to the nodes
            """ + ServerArgs.USAGE + "\n" + EtcdArgs.USAGE;

    private static final Set<String> OPTIONS;

    static {
        Set<String> o = new HashSet<>(Set.of("--port", "--model", "--served-model-name", "--router-name", "--max-waiting", "--node-ca-certs"));
        o.addAll(EtcdArgs.OPTIONS);
        o.addAll(ServerArgs.OPTIONS);
        OPTIONS = Set.copyOf(o);
    }

    private RouterCommand() {
    }

    static int run(String[] argv) throws InterruptedException {
        Args args = Args.parse("router", argv, 1, OPTIONS, ServerArgs.FLAGS);
        EtcdOptions etcd = EtcdArgs.parse(args);
        if (etcd == null) {
            throw new UsageException("router needs --etcd URL (where the nodes register)");
        }
        Path dir = LoadedModel.resolveDirectory(args);
        int port = ServerArgs.port(args);
        String name = args.string("--served-model-name", dir.getFileName().toString());
        ServerOptions options = ServerArgs.parse(args, port, name);
        NodeRouterService service = NodeRouterService.start(new NodeRouterService.Options(etcd,
                args.string("--router-name", EtcdArgs.defaultName(port)), dir, name, options.apiKey(), args.integer("--max-waiting", 4096),
                nodeTls(args)));
        OpenAiServer server = OpenAiServer.start(service, ServedParts.none().withNodes(service), options);
        System.err.println("xllm: routing " + name + " on " + options.scheme() + "://" + options.host() + ":" + server.port() + " across the nodes in etcd "
                + etcd.endpoints());
        ServeCommand.closeOnShutdown(service, server).await();
        return 0;
    }

    /** How to trust nodes' certificates: {@code --node-ca-certs}, else the JDK's trusted CAs (null). */
    private static SSLContext nodeTls(Args args) {
        String file = args.string("--node-ca-certs", null);
        try {
            return file == null ? null : NodeTls.trusting(Path.of(file));
        } catch (IllegalArgumentException e) {
            throw new UsageException("--node-ca-certs " + file + ": " + e.getMessage());
        }
    }
}
