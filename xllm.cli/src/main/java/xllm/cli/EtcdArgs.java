package xllm.cli;

import java.nio.file.Path;
import java.util.Set;
import xllm.sched.nodes.EtcdOptions;

/** The etcd options shared by serve and router; the password comes from the environment, never from argv. */
final class EtcdArgs {
    /** Where the etcd password comes from: never argv, which every user of the machine can read. */
    static final String PASSWORD_VARIABLE = "XLLM_ETCD_PASSWORD";
    static final Set<String> OPTIONS = Set.of("--etcd", "--etcd-namespace", "--etcd-user", "--etcd-cacert", "--etcd-cert", "--etcd-key");
    static final String USAGE = """
              --etcd URL[,URL]   etcd's client URLs (http://127.0.0.1:2379); with --etcd-namespace PREFIX before every key,
                            --etcd-user USER (password from the environment variable XLLM_ETCD_PASSWORD), and for https
                            --etcd-cacert FILE, --etcd-cert FILE, --etcd-key FILE (PEM)
            """.stripTrailing();

    private EtcdArgs() {
    }

    /** The etcd options given, or null without {@code --etcd}. */
    static EtcdOptions parse(Args args) {
        if (!args.has("--etcd")) {
            for (String o : OPTIONS) {
                if (args.has(o)) {
                    throw new UsageException(o + " needs --etcd URL");
                }
            }
            return null;
        }
        String user = args.string("--etcd-user", null);
        try {
            return new EtcdOptions(EtcdOptions.parseEndpoints(args.string("--etcd", "")), args.string("--etcd-namespace", ""), user,
                    user == null ? null : System.getenv(PASSWORD_VARIABLE), path(args, "--etcd-cacert"), path(args, "--etcd-cert"),
                    path(args, "--etcd-key"));
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** A name for this process in etcd when none is given: host and port, unique on a network. */
    static String defaultName(int port) {
        try {
            return java.net.InetAddress.getLocalHost().getHostName() + "-" + port;
        } catch (java.net.UnknownHostException e) {
            return "localhost-" + port;
        }
    }

    private static Path path(Args args, String option) {
        String v = args.string(option, null);
        return v == null ? null : Path.of(v);
    }
}
