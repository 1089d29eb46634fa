package xllm.engine.grammar;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.function.Function;

/**
 * A GBNF expression the converters build and print. The factories simplify as they go: a sequence with
 * {@link #NEVER} in it is {@link #NEVER}, a choice drops it, so that an empty language (a {@code false} schema)
 * never reaches the printed grammar, which cannot say "nothing".
 */
sealed interface GbnfExpr {
    /** The empty language: no sentence at all. */
    GbnfExpr NEVER = new Choice(List.of());
    /** The language of one empty sentence. */
    GbnfExpr EMPTY = new Sequence(List.of());

    /** Exactly {@code text}. */
    record Literal(String text) implements GbnfExpr {
    }

    /** One code point of {@code chars}. */
    record CharSet(CharRanges chars) implements GbnfExpr {
    }

    record Sequence(List<GbnfExpr> items) implements GbnfExpr {
    }

    record Choice(List<GbnfExpr> options) implements GbnfExpr {
    }

    /** {@code min} to {@code max} repetitions of {@code item}; {@code max} -1 for no limit. */
    record Repeat(GbnfExpr item, int min, int max) implements GbnfExpr {
    }

    record RuleRef(String name) implements GbnfExpr {
    }

    static GbnfExpr lit(String text) {
        return text.isEmpty() ? EMPTY : new Literal(text);
    }

    static GbnfExpr chars(CharRanges chars) {
        if (chars.isEmpty()) {
            return NEVER;
        }
        int single = chars.singleCodePoint();
        return single >= 0 ? new Literal(Character.toString(single)) : new CharSet(chars);
    }

    static GbnfExpr ref(String name) {
        return new RuleRef(name);
    }

    static GbnfExpr seq(GbnfExpr... items) {
        return seq(List.of(items));
    }

    static GbnfExpr seq(List<GbnfExpr> items) {
        List<GbnfExpr> flat = new ArrayList<>();
        for (GbnfExpr item : items) {
            if (item.isNever()) {
                return NEVER;
            }
            List<GbnfExpr> parts = item instanceof Sequence s ? s.items : List.of(item);
            for (GbnfExpr part : parts) {
                int last = flat.size() - 1;
                if (part instanceof Literal l && last >= 0 && flat.get(last) instanceof Literal prev) {
                    flat.set(last, new Literal(prev.text + l.text));
                } else {
                    flat.add(part);
                }
            }
        }
        return flat.size() == 1 ? flat.getFirst() : new Sequence(List.copyOf(flat));
    }

    static GbnfExpr alt(GbnfExpr... options) {
        return alt(List.of(options));
    }

    static GbnfExpr alt(List<GbnfExpr> options) {
        LinkedHashSet<GbnfExpr> flat = new LinkedHashSet<>();
        CharRanges singles = CharRanges.EMPTY;
        boolean empty = false;
        for (GbnfExpr option : options) {
            for (GbnfExpr part : option instanceof Choice c ? c.options : List.of(option)) {
                if (part.equals(EMPTY)) {
                    empty = true;
                } else if (part instanceof CharSet cs) {
                    singles = singles.union(cs.chars);
                } else if (part instanceof Literal l && l.text.codePointCount(0, l.text.length()) == 1) {
                    singles = singles.union(CharRanges.single(l.text.codePointAt(0)));
                } else {
                    flat.add(part);
                }
            }
        }
        List<GbnfExpr> all = new ArrayList<>();
        if (!singles.isEmpty()) {
            all.add(chars(singles));
        }
        all.addAll(flat);
        if (all.isEmpty()) {
            return empty ? EMPTY : NEVER;
        }
        GbnfExpr choice = all.size() == 1 ? all.getFirst() : new Choice(List.copyOf(all));
        if (!empty) {
            return choice;
        }
        return repeat(choice, 0, 1);
    }

    static GbnfExpr opt(GbnfExpr item) {
        return repeat(item, 0, 1);
    }

    static GbnfExpr star(GbnfExpr item) {
        return repeat(item, 0, -1);
    }

    static GbnfExpr repeat(GbnfExpr item, int min, int max) {
        if (max == 0 || item.equals(EMPTY)) {
            return EMPTY;
        }
        if (item.isNever()) {
            return min == 0 ? EMPTY : NEVER;
        }
        if (min == 1 && max == 1) {
            return item;
        }
        if (item instanceof Repeat r && r.min == 0 && r.max == 1 && max == 1) {
            return r;
        }
        return new Repeat(item, min, max);
    }

    default boolean isNever() {
        return this instanceof Choice c && c.options.isEmpty();
    }

    /** This expression with every character set replaced by what {@code map} makes of it. */
    default GbnfExpr mapChars(Function<CharRanges, GbnfExpr> map) {
        return switch (this) {
            case CharSet cs -> map.apply(cs.chars);
            case Literal l -> seq(l.text.codePoints().mapToObj(cp -> map.apply(CharRanges.single(cp))).toList());
            case Sequence s -> seq(s.items.stream().map(i -> i.mapChars(map)).toList());
            case Choice c -> alt(c.options.stream().map(o -> o.mapChars(map)).toList());
            case Repeat r -> repeat(r.item.mapChars(map), r.min, r.max);
            case RuleRef r -> r;
        };
    }

    /** The fewest code points a sentence has; rule references count as empty. */
    default long minLength() {
        return switch (this) {
            case CharSet cs -> 1;
            case Literal l -> l.text.codePointCount(0, l.text.length());
            case Sequence s -> s.items.stream().mapToLong(GbnfExpr::minLength).sum();
            case Choice c -> c.options.stream().mapToLong(GbnfExpr::minLength).min().orElse(0);
            case Repeat r -> r.item.minLength() * r.min;
            case RuleRef r -> 0;
        };
    }

    /** The most code points a sentence has, or -1 for no limit (also for rule references). */
    default long maxLength() {
        return switch (this) {
            case CharSet cs -> 1;
            case Literal l -> l.text.codePointCount(0, l.text.length());
            case Sequence s -> {
                long sum = 0;
                for (GbnfExpr item : s.items) {
                    long m = item.maxLength();
                    if (m < 0) {
                        yield -1;
                    }
                    sum += m;
                }
                yield sum;
            }
            case Choice c -> {
                long max = 0;
                for (GbnfExpr option : c.options) {
                    long m = option.maxLength();
                    if (m < 0) {
                        yield -1;
                    }
                    max = Math.max(max, m);
                }
                yield max;
            }
            case Repeat r -> {
                long m = r.item.maxLength();
                yield m == 0 ? 0 : r.max < 0 || m < 0 ? -1 : m * r.max;
            }
            case RuleRef r -> -1;
        };
    }

    /** This expression as GBNF text. */
    default String gbnf() {
        StringBuilder out = new StringBuilder();
        GbnfPrinter.print(this, out, GbnfPrinter.CHOICE);
        return out.toString();
    }
}
