package xllm.engine.tokenizer;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Writes Java values (maps, lists, strings, numbers, booleans, null) as Python's {@code json.dumps} does with
 * {@code ensure_ascii=False}, which is what transformers' {@code tojson} template filter calls: {@code ", "} and
 * {@code ": "} between items (with an indent, {@code ","} and a line break), non-ASCII text kept as is, floats
 * spelled as Python's {@code repr}. A tool description rendered into a prompt must be byte for byte what the
 * model saw in training. Stateless.
 */
final class PythonJson {
    private PythonJson() {
    }

    /**
     * @param indent null for one line, else the spaces per nesting level
     * @param sortKeys whether object keys are written in sorted order
     */
    static String dumps(Object value, Integer indent, boolean sortKeys) {
        StringBuilder out = new StringBuilder();
        write(value, indent, sortKeys, 0, out);
        return out.toString();
    }

    private static void write(Object value, Integer indent, boolean sortKeys, int level, StringBuilder out) {
        switch (value) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case CharSequence s -> string(s.toString(), out);
            case Double d -> out.append(pythonFloat(d));
            case Float f -> out.append(pythonFloat(f.doubleValue()));
            case BigDecimal d -> out.append(pythonFloat(d.doubleValue()));
            case Number n -> out.append(n);
            case Map<?, ?> map -> object(map, indent, sortKeys, level, out);
            case Collection<?> items -> array(items, indent, sortKeys, level, out);
            case Object[] items -> array(List.of(items), indent, sortKeys, level, out);
            default -> string(value.toString(), out);
        }
    }

    private static void object(Map<?, ?> map, Integer indent, boolean sortKeys, int level, StringBuilder out) {
        if (map.isEmpty()) {
            out.append("{}");
            return;
        }
        List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
        if (sortKeys) {
            entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
        }
        out.append('{');
        for (int i = 0; i < entries.size(); i++) {
            separate(i, indent, level + 1, out);
            string(String.valueOf(entries.get(i).getKey()), out);
            out.append(": ");
            write(entries.get(i).getValue(), indent, sortKeys, level + 1, out);
        }
        close(indent, level, out);
        out.append('}');
    }

    private static void array(Collection<?> items, Integer indent, boolean sortKeys, int level, StringBuilder out) {
        if (items.isEmpty()) {
            out.append("[]");
            return;
        }
        out.append('[');
        int i = 0;
        for (Object item : items) {
            separate(i++, indent, level + 1, out);
            write(item, indent, sortKeys, level + 1, out);
        }
        close(indent, level, out);
        out.append(']');
    }

    private static void separate(int index, Integer indent, int level, StringBuilder out) {
        if (indent == null) {
            out.append(index == 0 ? "" : ", ");
            return;
        }
        out.append(index == 0 ? "\n" : ",\n").append(" ".repeat(indent * level));
    }

    private static void close(Integer indent, int level, StringBuilder out) {
        if (indent != null) {
            out.append('\n').append(" ".repeat(indent * level));
        }
    }

    private static void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /** Python's float repr: the shortest digits that round-trip, fixed notation for exponents in [-4, 16). */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return 1 / d < 0 ? "-0.0" : "0.0";
        }
        // Double.toString gives the shortest round-tripping digits (JDK 19+), as Python's repr does.
        BigDecimal exact = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        String digits = exact.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - exact.scale();
        String sign = d < 0 ? "-" : "";
        if (exponent >= -4 && exponent < 16) {
            String plain = exact.abs().toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }
}
