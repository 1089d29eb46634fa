package xllm.engine.grammar;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * The members of a JSON object in the grammar's fixed layout: declared properties in the schema's order, each
 * optional one possibly absent, then any additional members, whose names are none of the declared ones.
 */
final class ObjectGrammar {
    /** A declared property: its name, whether it must be present, and the grammar of its value. */
    record Member(String name, boolean required, GbnfExpr value) {
    }

    /** Leading optional properties beyond this many share their tails through rules, to stay linear in size. */
    private static final int INLINE_OPTIONALS = 3;

    private final JsonText json;

    ObjectGrammar(JsonText json) {
        this.json = json;
    }

    /**
     * Objects with {@code members} in order, then additional members whose values match {@code additional}
     * ({@link GbnfExpr#NEVER} for none) and whose names are not in {@code declared}.
     */
    GbnfExpr objects(List<Member> members, Set<String> declared, GbnfExpr additional) {
        List<GbnfExpr> items = new ArrayList<>();
        List<Boolean> required = new ArrayList<>();
        for (Member m : members) {
            GbnfExpr member = GbnfExpr.seq(GbnfExpr.lit("\"" + JsonText.escape(m.name) + "\""), json.colon(), m.value);
            if (member.isNever()) {
                if (m.required) {
                    return GbnfExpr.NEVER;
                }
                continue;
            }
            items.add(member);
            required.add(m.required);
        }
        GbnfExpr extra = additional.isNever() ? GbnfExpr.NEVER
                : GbnfExpr.seq(otherNames(declared), json.colon(), additional);
        String rulePrefix = null;
        int leadingOptional = 0;
        while (leadingOptional < items.size() && !required.get(leadingOptional)) {
            leadingOptional++;
        }
        if (leadingOptional > INLINE_OPTIONALS) {
            rulePrefix = json.rules.fresh("object-tail");
        }
        // tails[i]: the members from i on, each after a comma.
        GbnfExpr[] tails = new GbnfExpr[items.size() + 1];
        tails[items.size()] = GbnfExpr.star(GbnfExpr.seq(json.comma(), extra));
        for (int i = items.size() - 1; i >= 0; i--) {
            GbnfExpr one = GbnfExpr.seq(json.comma(), items.get(i));
            tails[i] = GbnfExpr.seq(required.get(i) ? one : GbnfExpr.opt(one), tails[i + 1]);
            if (rulePrefix != null && i > 0 && i <= leadingOptional) {
                String name = rulePrefix + "-" + i;
                json.rules.define(name, tails[i]);
                tails[i] = GbnfExpr.ref(name);
            }
        }
        // The first member present carries no comma: choose which one it is.
        List<GbnfExpr> firsts = new ArrayList<>();
        boolean allOptional = true;
        for (int i = 0; i < items.size(); i++) {
            firsts.add(GbnfExpr.seq(items.get(i), tails[i + 1]));
            if (required.get(i)) {
                allOptional = false;
                break;
            }
        }
        if (allOptional) {
            firsts.add(GbnfExpr.opt(GbnfExpr.seq(extra, tails[items.size()])));
        }
        return GbnfExpr.seq(GbnfExpr.lit("{"), GbnfExpr.alt(firsts), GbnfExpr.lit("}"));
    }

    /** A JSON string whose value is none of {@code names}. */
    private GbnfExpr otherNames(Set<String> names) {
        Trie trie = new Trie();
        names.forEach(trie::add);
        return GbnfExpr.seq(GbnfExpr.lit("\""), trie.others(json), GbnfExpr.lit("\""));
    }

    /** Names as a tree of their characters, to say "any string but these". */
    private static final class Trie {
        private final TreeMap<Integer, Trie> next = new TreeMap<>();
        private boolean end;

        void add(String name) {
            Trie node = this;
            for (int cp : name.codePoints().toArray()) {
                node = node.next.computeIfAbsent(cp, c -> new Trie());
            }
            node.end = true;
        }

        /**
         * The string contents that, read from this node on, spell no name: each character on a name's path in
         * its one JSON form, so that the first character off every path is known to be off it, then anything.
         */
        GbnfExpr others(JsonText json) {
            CharRanges taken = CharRanges.EMPTY;
            List<GbnfExpr> options = new ArrayList<>();
            if (!end) {
                options.add(GbnfExpr.EMPTY);
            }
            for (var e : next.entrySet()) {
                taken = taken.union(CharRanges.single(e.getKey()));
                options.add(GbnfExpr.seq(JsonText.encoded(CharRanges.single(e.getKey())), e.getValue().others(json)));
            }
            options.add(GbnfExpr.seq(json.encodedShared(CharRanges.ANY.minus(taken)), GbnfExpr.star(json.character())));
            return GbnfExpr.alt(options);
        }
    }
}
