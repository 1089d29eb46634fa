package xllm.cli;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Parsed {@code --name value} options and {@code --flag} switches of one subcommand. Every option must be
 * declared, so a typo is an error naming the option, not a silently ignored setting.
 */
final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> flags = new HashSet<>();

    private Args() {
    }

    static Args parse(String command, String[] args, int from, Set<String> valueOptions, Set<String> flagOptions) {
        Args parsed = new Args();
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            String name = a;
            String inline = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                name = a.substring(0, eq);
                inline = a.substring(eq + 1);
            }
            if (flagOptions.contains(name) && inline == null) {
                parsed.flags.add(name);
            } else if (valueOptions.contains(name)) {
                if (inline == null) {
                    if (i + 1 >= args.length) {
                        throw new UsageException(command + ": option " + name + " needs a value");
                    }
                    inline = args[++i];
                }
                parsed.values.put(name, inline);
            } else {
                throw new UsageException(command + ": unknown option " + a + " (try: xllm " + command + " --help)");
            }
        }
        return parsed;
    }

    boolean has(String name) {
        return values.containsKey(name) || flags.contains(name);
    }

    String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    int integer(String name, int fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("option " + name + " needs an integer, got \"" + v + "\"");
        }
    }

    long longValue(String name, long fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("option " + name + " needs an integer, got \"" + v + "\"");
        }
    }

    float decimal(String name, float fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Float.parseFloat(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("option " + name + " needs a number, got \"" + v + "\"");
        }
    }

    int[] integers(String name) {
        String v = values.get(name);
        if (v == null) {
            return null;
        }
        String[] parts = v.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new UsageException("option " + name + " needs comma-separated integers, got \"" + parts[i].trim() + "\"");
            }
        }
        return out;
    }

    boolean flag(String name) {
        return flags.contains(name);
    }
}
