package xllm.engine.tokenizer;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Rewrites a template's source where Jinjava reads Python's Jinja differently, as Qwen3's template needs:
 * <ul>
 *   <li>Jinjava binds {@code name=value} tighter than arithmetic, so {@code namespace(last=messages|length - 1)}
 *   subtracts from the keyword argument itself and fails; each keyword value is put in parentheses,
 *   {@code namespace(last=(messages|length - 1))}, which both read alike.
 *   <li>Jinjava has no slice step; the reversing slice {@code [::-1]} becomes {@code |reverse}.
 * </ul>
 * Only code inside {@code {{ }}} and {@code {% %}} is touched, never string literals or text. Stateless.
 */
final class JinjavaSyntax {
    private JinjavaSyntax() {
    }

    /** One open bracket: its kind, and for a parenthesis whether a keyword value is open in it. */
    private static final class Group {
        final char open;
        boolean keywordValue;

        Group(char open) {
            this.open = open;
        }
    }

    static String rewrite(String source) {
        StringBuilder out = new StringBuilder(source.length() + 16);
        Deque<Group> groups = new ArrayDeque<>();
        boolean code = false;
        int i = 0;
        while (i < source.length()) {
            char c = source.charAt(i);
            if (!code) {
                if (source.startsWith("{#", i)) {
                    int end = source.indexOf("#}", i + 2);
                    int stop = end < 0 ? source.length() : end + 2;
                    out.append(source, i, stop);
                    i = stop;
                    continue;
                }
                code = source.startsWith("{{", i) || source.startsWith("{%", i);
                int step = code ? 2 : 1;
                out.append(source, i, i + step);
                i += step;
                continue;
            }
            if (c == '\'' || c == '"') {
                int end = stringEnd(source, i);
                out.append(source, i, end);
                i = end;
                continue;
            }
            // "}}" inside brackets closes two dicts; "%}" can only end the tag.
            if (groups.isEmpty() && source.startsWith("}}", i) || source.startsWith("%}", i)) {
                code = false;
                groups.clear();
                out.append(source, i, i + 2);
                i += 2;
                continue;
            }
            if (source.startsWith("[::-1]", i)) {
                out.append("|reverse");
                i += "[::-1]".length();
                continue;
            }
            switch (c) {
                case '(', '[', '{' -> {
                    out.append(c);
                    groups.push(new Group(c));
                    i = c == '(' ? keyword(source, i + 1, out, groups.peek()) : i + 1;
                }
                case ')', ']', '}' -> {
                    Group group = groups.poll();
                    if (group != null && group.keywordValue) {
                        out.append(')');
                    }
                    out.append(c);
                    i++;
                }
                case ',' -> {
                    Group group = groups.peek();
                    if (group != null && group.keywordValue) {
                        out.append(')');
                        group.keywordValue = false;
                    }
                    out.append(c);
                    i = group != null && group.open == '(' ? keyword(source, i + 1, out, group) : i + 1;
                }
                default -> {
                    out.append(c);
                    i++;
                }
            }
        }
        return out.toString();
    }

    /** At the start of an argument: copies {@code name=} and opens a parenthesis after it if one is there. */
    private static int keyword(String source, int i, StringBuilder out, Group group) {
        int j = i;
        while (j < source.length() && Character.isWhitespace(source.charAt(j))) {
            j++;
        }
        int nameStart = j;
        while (j < source.length() && (Character.isLetterOrDigit(source.charAt(j)) || source.charAt(j) == '_')) {
            j++;
        }
        if (j == nameStart || Character.isDigit(source.charAt(nameStart))) {
            return i;
        }
        while (j < source.length() && Character.isWhitespace(source.charAt(j))) {
            j++;
        }
        if (j >= source.length() || source.charAt(j) != '=' || source.startsWith("==", j)) {
            return i;
        }
        out.append(source, i, j + 1).append('(');
        group.keywordValue = true;
        return j + 1;
    }

    private static int stringEnd(String source, int start) {
        char quote = source.charAt(start);
        int i = start + 1;
        while (i < source.length() && source.charAt(i) != quote) {
            i += source.charAt(i) == '\\' ? 2 : 1;
        }
        return Math.min(i + 1, source.length());
    }
}
