package xllm.engine.grammar;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The named rules of a grammar under construction, printed with {@code root} first. A name is reserved before
 * its rule is defined, so that a rule may refer to itself.
 */
final class GbnfRules {
    private final Map<String, GbnfExpr> rules = new LinkedHashMap<>();
    private final Set<String> reserved = new HashSet<>();

    /** A new rule name made from {@code hint}, reserved for the caller. */
    String fresh(String hint) {
        String base = hint.replaceAll("[^a-zA-Z0-9-]+", "-").replaceAll("^-+|-+$", "");
        String name = base.isEmpty() ? "r" : base;
        for (int n = 2; reserved.contains(name) || name.equals("root"); n++) {
            name = base + "-" + n;
        }
        reserved.add(name);
        return name;
    }

    /** Reserves {@code name} for a rule shared by name; false when it is taken already. */
    boolean reserve(String name) {
        return reserved.add(name);
    }

    void define(String name, GbnfExpr body) {
        if (body.isNever()) {
            throw new IllegalStateException("rule " + name + " has an empty language");
        }
        rules.put(name, body);
    }

    /** The grammar text: {@code root ::= start} then every rule defined. */
    String gbnf(GbnfExpr start) {
        StringBuilder out = new StringBuilder("root ::= ").append(start.gbnf()).append('\n');
        rules.forEach((name, body) -> out.append(name).append(" ::= ").append(body.gbnf()).append('\n'));
        return out.toString();
    }
}
