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
    private static final String HEX = "[0-9a-fA-F]";
    private static final String PCT = "%" + HEX + "{2}";
    private static final String PCHAR = "(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|" + PCT + ")";
    private static final String SEGMENT_NZ = PCHAR + "+";
    /** RFC 3986 URI; hosts are reg-names (IPv4 addresses are among them), not IPv6 literals. */
    private static final String URI = "[A-Za-z][A-Za-z0-9+.-]*:"
            + "(?://(?:(?:[A-Za-z0-9._~!$&'()*+,;=:-]|" + PCT + ")*@)?(?:[A-Za-z0-9._~!$&'()*+,;=-]|" + PCT + ")*"
            + "(?::[0-9]*)?(?:/" + PCHAR + "*)*"
            + "|/(?:" + SEGMENT_NZ + "(?:/" + PCHAR + "*)*)?"
            + "|" + SEGMENT_NZ + "(?:/" + PCHAR + "*)*"
            + "|)"
            + "(?:\\?(?:" + PCHAR + "|[/?])*)?(?:#(?:" + PCHAR + "|[/?])*)?";

    private static final Map<String, String> FORMATS = Map.of(
            "date", DATE,
            "time", TIME,
            "date-time", DATE + "[Tt]" + TIME,
            "email", ATOM + "(?:\\." + ATOM + ")*@" + LABEL + "(?:\\." + LABEL + ")*",
            "uuid", HEX + "{8}-" + HEX + "{4}-" + HEX + "{4}-" + HEX + "{4}-" + HEX + "{12}",
            "uri", URI);

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
