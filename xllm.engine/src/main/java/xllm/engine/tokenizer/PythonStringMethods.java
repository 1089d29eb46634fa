package xllm.engine.tokenizer;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Gives template strings the Python str methods HF chat templates call ({@code startswith},
 * {@code split}, {@code lstrip('\n')}, {@code upper}, ...), which java.lang.String lacks or spells
 * differently. Only method calls on strings are handled; everything else falls through to
 * Jinjava's own resolvers. Stateless; thread-safe.
 */
final class PythonStringMethods extends ELResolver {
    private static final Object UNHANDLED = new Object();

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name)) {
            return null;
        }
        Object[] p = params == null ? new Object[0] : params;
        Object result = call(s, name, p);
        if (result == UNHANDLED) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static Object call(String s, String name, Object[] p) {
        return switch (name) {
            case "startswith" -> p.length == 1 ? anyAffix(s, p[0], true) : UNHANDLED;
            case "endswith" -> p.length == 1 ? anyAffix(s, p[0], false) : UNHANDLED;
            case "strip" -> p.length <= 1 ? strip(s, chars(p), true, true) : UNHANDLED;
            case "lstrip" -> p.length <= 1 ? strip(s, chars(p), true, false) : UNHANDLED;
            case "rstrip" -> p.length <= 1 ? strip(s, chars(p), false, true) : UNHANDLED;
            case "upper" -> p.length == 0 ? s.toUpperCase(Locale.ROOT) : UNHANDLED;
            case "lower" -> p.length == 0 ? s.toLowerCase(Locale.ROOT) : UNHANDLED;
            case "capitalize" -> p.length == 0 && !s.isEmpty()
                ? s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT) : UNHANDLED;
            case "title" -> p.length == 0 ? title(s) : UNHANDLED;
            case "split" -> split(s, p);
            case "replace" -> p.length == 2 || p.length == 3 ? replace(s, p) : UNHANDLED;
            case "join" -> p.length == 1 && p[0] instanceof Collection<?> items ? join(s, items) : UNHANDLED;
            default -> UNHANDLED;
        };
    }

    /** Python accepts one affix or a tuple of them. */
    private static Object anyAffix(String s, Object affix, boolean prefix) {
        if (affix instanceof Collection<?> options) {
            for (Object o : options) {
                if (prefix ? s.startsWith(String.valueOf(o)) : s.endsWith(String.valueOf(o))) {
                    return true;
                }
            }
            return false;
        }
        if (affix == null) {
            return UNHANDLED;
        }
        return prefix ? s.startsWith(affix.toString()) : s.endsWith(affix.toString());
    }

    private static String chars(Object[] p) {
        return p.length == 0 || p[0] == null ? null : p[0].toString();
    }

    /** {@code chars == null} strips whitespace as Python's str.isspace defines it. */
    private static String strip(String s, String chars, boolean left, boolean right) {
        int from = 0;
        int to = s.length();
        while (left && from < to && strippable(s.codePointAt(from), chars)) {
            from += Character.charCount(s.codePointAt(from));
        }
        while (right && to > from && strippable(s.codePointBefore(to), chars)) {
            to -= Character.charCount(s.codePointBefore(to));
        }
        return s.substring(from, to);
    }

    private static boolean strippable(int cp, String chars) {
        if (chars == null) {
            return WhiteSpace.test(cp) || (cp >= 0x1C && cp <= 0x1F);
        }
        return chars.indexOf(cp) >= 0;
    }

    private static Object split(String s, Object[] p) {
        String sep = p.length >= 1 && p[0] != null ? p[0].toString() : null;
        int max = p.length >= 2 && p[1] instanceof Number n ? n.intValue() : -1;
        if (p.length > 2 || (sep != null && sep.isEmpty())) {
            return UNHANDLED;
        }
        List<String> parts = new ArrayList<>();
        if (sep == null) {
            // Runs of whitespace separate; leading/trailing whitespace yields no empty parts.
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && strippable(s.codePointAt(i), null)) {
                    i += Character.charCount(s.codePointAt(i));
                }
                if (i >= n) {
                    break;
                }
                if (max >= 0 && parts.size() == max) {
                    parts.add(strip(s.substring(i), null, false, true));
                    break;
                }
                int start = i;
                while (i < n && !strippable(s.codePointAt(i), null)) {
                    i += Character.charCount(s.codePointAt(i));
                }
                parts.add(s.substring(start, i));
            }
            return parts;
        }
        int start = 0;
        int at;
        while ((max < 0 || parts.size() < max) && (at = s.indexOf(sep, start)) >= 0) {
            parts.add(s.substring(start, at));
            start = at + sep.length();
        }
        parts.add(s.substring(start));
        return parts;
    }

    private static String replace(String s, Object[] p) {
        String from = String.valueOf(p[0]);
        String to = String.valueOf(p[1]);
        int count = p.length == 3 && p[2] instanceof Number n ? n.intValue() : -1;
        if (count < 0) {
            return s.replace(from, to);
        }
        StringBuilder out = new StringBuilder();
        int start = 0;
        for (int done = 0; done < count; done++) {
            int at = s.indexOf(from, start);
            if (at < 0) {
                break;
            }
            out.append(s, start, at).append(to);
            start = at + from.length();
            if (from.isEmpty()) {
                break;
            }
        }
        return out.append(s, start, s.length()).toString();
    }

    private static String join(String separator, Collection<?> items) {
        StringBuilder out = new StringBuilder();
        for (Object item : items) {
            if (!out.isEmpty()) {
                out.append(separator);
            }
            out.append(item);
        }
        return out.toString();
    }

    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            out.appendCodePoint(previousCased ? Character.toLowerCase(cp) : Character.toTitleCase(cp));
            previousCased = Character.isLetter(cp);
            i += Character.charCount(cp);
        }
        return out.toString();
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // Not resolved here; later resolvers decide.
    }
}
