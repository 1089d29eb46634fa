package xllm.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import xllm.http.ConnectionLimits;
import xllm.http.ServerOptions;
import xllm.http.TlsFiles;

/** The HTTP server options that serve and router share: where to listen, whom to answer, and the connection hygiene. */
final class ServerArgs {
    static final Set<String> OPTIONS;
    static final Set<String> FLAGS = Set.of("--log-requests");
    static final String USAGE = ApiKey.USAGE + "\n" + """
              --ssl-certfile FILE --ssl-keyfile FILE  serve HTTPS with this PEM certificate chain and private key;
                            --ssl-ca-certs FILE  and require client certificates signed by these PEM CA certificates
              --header-timeout-s 30  a request's headers, then its body, must arrive within this; else the connection
                            is closed (counted from the connection's opening, or from the request line of a later request)
              --keep-alive-timeout-s 60  a connection idle this long between requests is closed
              --max-connections 2048  beyond this many open connections, a request is answered 503 and its connection closed
              --log-requests  write each request's body and its outputs to the log (off: prompts and outputs are the users')""";

    static {
        Set<String> o = new HashSet<>(Set.of("--host", "--max-body-mb", "--header-timeout-s", "--keep-alive-timeout-s", "--max-connections",
                "--ssl-certfile", "--ssl-keyfile", "--ssl-ca-certs"));
        o.addAll(ApiKey.OPTIONS);
        OPTIONS = Set.copyOf(o);
    }

    private ServerArgs() {
    }

    /** {@code --port}, 8080 by default. */
    static int port(Args args) {
        int port = args.integer("--port", 8080);
        if (port < 0 || port > 65535) {
            throw new UsageException("--port must be in 0..65535, got " + port);
        }
        return port;
    }

    static ServerOptions parse(Args args, int port, String servedModelName) {
        try {
            ConnectionLimits defaults = ConnectionLimits.DEFAULT;
            ConnectionLimits limits = new ConnectionLimits(seconds(args, "--header-timeout-s", defaults.headerTimeout()),
                    seconds(args, "--keep-alive-timeout-s", defaults.keepAliveTimeout()),
                    args.integer("--max-connections", defaults.maxConnections()));
            return new ServerOptions(args.string("--host", ServerOptions.DEFAULT_HOST), port, ApiKey.from(args),
                    (long) args.integer("--max-body-mb", 4) << 20, servedModelName, limits, tls(args), args.flag("--log-requests"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static TlsFiles tls(Args args) {
        if (!args.has("--ssl-certfile") && !args.has("--ssl-keyfile")) {
            if (args.has("--ssl-ca-certs")) {
                throw new UsageException("--ssl-ca-certs needs --ssl-certfile and --ssl-keyfile (the server's own certificate)");
            }
            return null;
        }
        if (!args.has("--ssl-certfile") || !args.has("--ssl-keyfile")) {
            throw new UsageException("HTTPS needs both --ssl-certfile and --ssl-keyfile");
        }
        String ca = args.string("--ssl-ca-certs", null);
        return new TlsFiles(Path.of(args.string("--ssl-certfile", "")), Path.of(args.string("--ssl-keyfile", "")),
                ca == null ? null : Path.of(ca));
    }

    private static Duration seconds(Args args, String option, Duration fallback) {
        if (!args.has(option)) {
            return fallback;
        }
        float s = args.decimal(option, 0);
        if (!(s > 0) || s > 86_400) {
            throw new UsageException(option + " must be in (0, 86400] seconds, got " + args.string(option, ""));
        }
        return Duration.ofMillis(Math.round(s * 1000.0));
    }
}
