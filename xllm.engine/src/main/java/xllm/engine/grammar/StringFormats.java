package xllm.engine.grammar;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code format}s the converter enforces, each as a regular expression over the decoded string whose every
 * match is valid under the format's standard (it may leave out rare valid forms, as leap seconds).
 */
final class StringFormats {
    private static final String MONTH_31 = "(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])";
    private static final String MONTH_30 = "(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)";
    private static final String FEBRUARY = "02-(?:0[1-9]|1[0-9]|2[0-8])";
    private static final String LEAP_YEAR = "(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)";
    /** RFC 3339 full-date, with each month's days and February 29 in leap years only. */
    private static final String DATE = "(?:[0-9]{4}-(?:" + MONTH_31 + "|" + MONTH_30 + "|" + FEBRUARY + ")|"
            + LEAP_YEAR + "-02-29)";
    /** RFC 3339 full-time, without leap seconds. */
    private static final String TIME = "(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?"
            + "(?:[zZ]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])";
    private static final String ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
    private static final String LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    /** RFC 1123 host names, kept under RFC 1035's 253 characters by at most 5 labels of at most 48. */
    private static final String HOSTNAME = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,46}[A-Za-z0-9])?"
            + "(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,46}[A-Za-z0-9])?){0,4}";
    private static final String HEX = "[0-9a-fA-F]";
    private static final String OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    private static final String IPV4 = OCTET + "(?:\\." + OCTET + "){3}";
    private static final String H16 = HEX + "{1,4}";
    private static final String LS32 = "(?:" + H16 + ":" + H16 + "|" + IPV4 + ")";
    /** RFC 4291's text forms, as RFC 3986 spells them out. */
    private static final String IPV6 = "(?:(?:" + H16 + ":){6}" + LS32
            + "|::(?:" + H16 + ":){5}" + LS32
            + "|(?:" + H16 + ")?::(?:" + H16 + ":){4}" + LS32
            + "|(?:(?:" + H16 + ":){0,1}" + H16 + ")?::(?:" + H16 + ":){3}" + LS32
            + "|(?:(?:" + H16 + ":){0,2}" + H16 + ")?::(?:" + H16 + ":){2}" + LS32
            + "|(?:(?:" + H16 + ":){0,3}" + H16 + ")?::" + H16 + ":" + LS32
            + "|(?:(?:" + H16 + ":){0,4}" + H16 + ")?::" + LS32
            + "|(?:(?:" + H16 + ":){0,5}" + H16 + ")?::" + H16
            + "|(?:(?:" + H16 + ":){0,6}" + H16 + ")?::)";
    private static final String PCT = "%" + HEX + "{2}";
    /** RFC 3987's ucschar: the non-ASCII characters an IRI may hold outside its query. */
    private static final String UCSCHAR = "\\u00A0-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFEF\\u{10000}-\\u{1FFFD}"
            + "\\u{20000}-\\u{2FFFD}\\u{30000}-\\u{3FFFD}\\u{40000}-\\u{4FFFD}\\u{50000}-\\u{5FFFD}\\u{60000}-\\u{6FFFD}"
            + "\\u{70000}-\\u{7FFFD}\\u{80000}-\\u{8FFFD}\\u{90000}-\\u{9FFFD}\\u{A0000}-\\u{AFFFD}\\u{B0000}-\\u{BFFFD}"
            + "\\u{C0000}-\\u{CFFFD}\\u{D0000}-\\u{DFFFD}\\u{E1000}-\\u{EFFFD}";
    private static final String IPRIVATE = "\\uE000-\\uF8FF\\u{F0000}-\\u{FFFFD}\\u{100000}-\\u{10FFFD}";
    private static final String JSON_POINTER = "(?:/(?:[^~/]|~[01])*)*";

    private static final Map<String, String> FORMATS = Map.ofEntries(
            Map.entry("date", DATE),
            Map.entry("time", TIME),
            Map.entry("date-time", DATE + "[Tt]" + TIME),
            Map.entry("duration", duration()),
            Map.entry("email", ATOM + "(?:\\." + ATOM + ")*@" + LABEL + "(?:\\." + LABEL + ")*"),
            Map.entry("hostname", HOSTNAME),
            Map.entry("ipv4", IPV4),
            Map.entry("ipv6", IPV6),
            Map.entry("uuid", HEX + "{8}-" + HEX + "{4}-" + HEX + "{4}-" + HEX + "{4}-" + HEX + "{12}"),
            Map.entry("uri", uri("", "", false)),
            Map.entry("uri-reference", uri("", "", true)),
            Map.entry("iri", uri(UCSCHAR, IPRIVATE, false)),
            Map.entry("iri-reference", uri(UCSCHAR, IPRIVATE, true)),
            Map.entry("uri-template", uriTemplate()),
            Map.entry("json-pointer", JSON_POINTER),
            Map.entry("relative-json-pointer", "(?:0|[1-9][0-9]*)(?:#|" + JSON_POINTER + ")"));

    /**
     * RFC 3986 URI (RFC 3987 IRI when {@code extra} adds the characters IRIs allow, and {@code privateUse} those
     * of its query), or a reference (also relative) when {@code reference}. Hosts are reg-names (IPv4 addresses
     * are among them) or bracketed IPv6 addresses.
     */
    private static String uri(String extra, String privateUse, boolean reference) {
        String unreserved = "A-Za-z0-9._~\\-" + extra;
        String subDelims = "!$&'()*+,;=";
        String pchar = "(?:[" + unreserved + subDelims + ":@]|" + PCT + ")";
        String segmentNz = pchar + "+";
        String authority = "(?:(?:[" + unreserved + subDelims + ":]|" + PCT + ")*@)?"
                + "(?:\\[" + IPV6 + "\\]|(?:[" + unreserved + subDelims + "]|" + PCT + ")*)(?::[0-9]*)?";
        String pathAbempty = "(?:/" + pchar + "*)*";
        String pathAbsolute = "/(?:" + segmentNz + pathAbempty + ")?";
        String pathRootless = segmentNz + pathAbempty;
        String query = "(?:\\?(?:" + pchar + "|[/?" + privateUse + "])*)?";
        String fragment = "(?:#(?:" + pchar + "|[/?])*)?";
        String absolute = "[A-Za-z][A-Za-z0-9+.-]*:(?://" + authority + pathAbempty + "|" + pathAbsolute + "|"
                + pathRootless + "|)" + query + fragment;
        if (!reference) {
            return absolute;
        }
        String segmentNzNc = "(?:[" + unreserved + subDelims + "@]|" + PCT + ")+";
        String relative = "(?://" + authority + pathAbempty + "|" + pathAbsolute + "|" + segmentNzNc + pathAbempty
                + "|)" + query + fragment;
        return "(?:" + absolute + "|" + relative + ")";
    }

    /** RFC 3339 Appendix A durations: P1Y2M3DT4H5M6S, P2W and the like. */
    private static String duration() {
        String time = "T(?:[0-9]+H(?:[0-9]+M(?:[0-9]+S)?)?|[0-9]+M(?:[0-9]+S)?|[0-9]+S)";
        String date = "(?:[0-9]+Y(?:[0-9]+M(?:[0-9]+D)?)?|[0-9]+M(?:[0-9]+D)?|[0-9]+D)";
        return "P(?:" + date + "(?:" + time + ")?|" + time + "|[0-9]+W)";
    }

    /** RFC 6570 URI templates: literals and {expressions} of variables with prefix or explode modifiers. */
    private static String uriTemplate() {
        String literal = "(?:[!#$&(-;=?-\\[\\]_a-z~" + UCSCHAR + IPRIVATE + "]|" + PCT + ")";
        String varchar = "(?:[A-Za-z0-9_]|" + PCT + ")";
        String varspec = varchar + "(?:\\.?" + varchar + ")*(?::[1-9][0-9]{0,3}|\\*)?";
        return "(?:" + literal + "|\\{[+#./;?&=,!@|]?" + varspec + "(?:," + varspec + ")*\\})*";
    }

    /** Parsed once: expressions are immutable. */
    private static final Map<String, GbnfExpr> PARSED = new ConcurrentHashMap<>();

    private StringFormats() {
    }

    /** The strings of {@code format}, over characters. */
    static GbnfExpr strings(String format) {
        String regex = FORMATS.get(format);
        if (regex == null) {
            throw new UnsupportedFeature("format", "format '" + format + "' is not supported; supported formats: "
                    + String.join(", ", FORMATS.keySet().stream().sorted().toList()));
        }
        return PARSED.computeIfAbsent(format, f -> RegexParser.parse(regex).getFirst().body());
    }
}
