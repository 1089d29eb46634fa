package xllm.cli;

import xllm.engine.weights.ModelFileException;
import xllm.kv.files.PrivateFiles;
import xllm.kv.files.PrivatePathException;

/** Entry point of the {@code xllm} command: dispatches to a subcommand; errors are one line on stderr. */
public final class Main {
    private static final String USAGE = """
            usage: xllm <command> [options]
              serve      serve a model with an OpenAI-compatible HTTP API
              router     route the OpenAI API across nodes registered in etcd
              worker     one engine process of serve --workers (started by the router)
              generate   complete a prompt with a model
              tokenize   print the token ids of a text
              bench      measure throughput (bench offline | serve | membw | grammar)
              grammar    check texts against a structured-output constraint (grammar check)
              synth      write a random-weight model of a published shape
            Run "xllm <command> --help" for a command's options.""";

    /** Commands that keep state (queues, KV pages, jobs): everything they create, libraries' files too, is owner-only. */
    private static final java.util.Set<String> SERVING = java.util.Set.of("serve", "router", "worker");

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h")) {
            System.out.println(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        try {
            if (args.length > 1 && (args[1].equals("--help") || args[1].equals("-h"))) {
                System.out.println(usageOf(args[0]));
                return 0;
            }
            if (SERVING.contains(args[0])) {
                PrivateFiles.ownerOnlyByDefault();
            }
            return switch (args[0]) {
                case "serve" -> ServeCommand.run(args);
                case "router" -> RouterCommand.run(args);
                case "worker" -> WorkerCommand.run(args);
                case "generate" -> GenerateCommand.run(args);
                case "synth" -> SynthCommand.run(args);
                case "tokenize" -> TokenizeCommand.run(args);
                case "bench" -> BenchCommand.run(args);
                case "grammar" -> GrammarCommand.run(args);
                default -> throw new UsageException("unknown command \"" + args[0] + "\" (commands: serve, router, worker, generate, tokenize, bench, synth, grammar)");
            };
        } catch (UsageException e) {
            System.err.println("xllm: " + e.getMessage());
            return 2;
        } catch (ModelFileException | IllegalArgumentException | PrivatePathException e) {
            System.err.println("xllm: " + e.getMessage());
            return 1;
        } catch (java.io.IOException e) {
            System.err.println("xllm: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 130;
        }
    }

    private static String usageOf(String command) {
        return switch (command) {
            case "generate" -> GenerateCommand.USAGE;
            case "tokenize" -> TokenizeCommand.USAGE;
            case "bench" -> BenchCommand.USAGE;
            case "serve" -> ServeCommand.USAGE;
            case "worker" -> WorkerCommand.USAGE;
            case "router" -> RouterCommand.USAGE;
            case "synth" -> SynthCommand.USAGE;
            case "grammar" -> GrammarCommand.USAGE;
            default -> USAGE;
        };
    }
}
