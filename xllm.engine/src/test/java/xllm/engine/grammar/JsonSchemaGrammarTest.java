package xllm.engine.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** JSON Schemas as grammars: what a user's schema lets a model write, and what it refuses to compile. */
class JsonSchemaGrammarTest {
    private static Grammar schema(String json) {
        return Grammar.parse(JsonSchemaGrammar.toGbnf(json));
    }

    private static void accepts(String schema, String... texts) {
        Grammar g = schema(schema);
        for (String text : texts) {
            assertTrue(g.accepts(text), schema + " should accept " + text);
        }
    }

    private static void rejects(String schema, String... texts) {
        Grammar g = schema(schema);
        for (String text : texts) {
            assertFalse(g.accepts(text), schema + " should reject " + text);
        }
    }

    private static String refusal(String schema) {
        return assertThrows(UnsupportedFeature.class, () -> JsonSchemaGrammar.toGbnf(schema)).feature();
    }

    @Test
    void jsonObjectModeAcceptsAnyObjectInCompactOrSpacedForm() {
        String any = "{\"type\":\"object\"}";
        accepts(any, "{}", "{\"a\":1}", "{\"a\": [1, {\"b\": null}], \"c\": \"d\"}", "{\"x\":{\"y\":{}}}");
        rejects(any, "[]", "1", " {}", "{} ", "{\"a\":1,}", "{\"a\" : 1}", "{\"a\":1,  \"b\":2}", "{\n\"a\":1}");
    }

    @Test
    void propertiesComeInSchemaOrderAndOptionalOnesMayBeAbsent() {
        String s = """
                {"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},
                 "required":["b"],"additionalProperties":false}""";
        accepts(s, "{\"b\":\"x\"}", "{\"a\":1,\"b\":\"x\"}", "{\"a\": 1, \"b\": \"x\", \"c\": true}", "{\"b\":\"\",\"c\":false}");
        rejects(s, "{}", "{\"a\":1}", "{\"b\":\"x\",\"a\":1}", "{\"b\":\"x\",\"d\":1}", "{\"a\":\"1\",\"b\":\"x\"}");
    }

    @Test
    void manyLeadingOptionalPropertiesStayExact() {
        String s = """
                {"type":"object","properties":{"a":{},"b":{},"c":{},"d":{},"e":{},"f":{}},"additionalProperties":false}""";
        accepts(s, "{}", "{\"f\":1}", "{\"a\":1,\"f\":2}", "{\"b\":1,\"c\":2,\"e\":3}", "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6}");
        rejects(s, "{\"f\":1,\"a\":2}", "{\"a\":1,\"a\":2}", "{,\"a\":1}", "{\"a\":1,}", "{\"g\":1}");
    }

    @Test
    void additionalPropertiesNeverReuseADeclaredName() {
        String s = """
                {"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer"}},
                 "additionalProperties":{"type":"boolean"}}""";
        accepts(s, "{\"name\":\"x\",\"extra\":true}", "{\"nam\":false}", "{\"names\":true}", "{\"\":true}",
                "{\"n\":1,\"nx\":true,\"y\\n\":false}");
        rejects(s, "{\"name\":true}", "{\"n\":true}", "{\"extra\":1}", "{\"name\":\"x\",\"name\":true}");
    }

    @Test
    void withoutTypeOnlyInstancesOfTheKeywordsTypeAreConstrained() {
        String s = "{\"properties\":{\"a\":{\"type\":\"integer\"}},\"minLength\":2}";
        accepts(s, "{\"a\":1}", "\"ab\"", "12", "[1]", "null", "true", "{\"b\":\"x\"}");
        rejects(s, "{\"a\":\"x\"}", "\"a\"");
        accepts("{}", "1", "{\"a\":[]}", "\"x\"", "-1.5e3");
        accepts("true", "null");
    }

    @Test
    void stringLengthsCountCharactersNotBytesOrEscapes() {
        String s = "{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}";
        accepts(s, "\"ab\"", "\"日本語\"", "\"😀😀\"", "\"a\\n\"", "\"\\ud83d\\ude00x\"", "\"\\u00e9\\\"\"");
        rejects(s, "\"a\"", "\"abcd\"", "\"😀\"", "\"\\ud83d\\ude00\"", "\"a\nb\"", "\"\\ud83d\"");
    }

    @Test
    void patternsSearchUnlessAnchoredAndSeeDecodedCharacters() {
        accepts("{\"type\":\"string\",\"pattern\":\"a+\"}", "\"a\"", "\"xxaxx\"", "\"b\\\"a\"");
        rejects("{\"type\":\"string\",\"pattern\":\"a+\"}", "\"\"", "\"bcd\"");
        accepts("{\"type\":\"string\",\"pattern\":\"x*|^b{2,3}\"}", "\"\"", "\"abc\"");
        accepts("{\"type\":\"string\",\"pattern\":\"^b{2,3}c|d{2}$\"}", "\"bbc\"", "\"bbbcx\"", "\"xdd\"");
        rejects("{\"type\":\"string\",\"pattern\":\"^b{2,3}c|d{2}$\"}", "\"bc\"", "\"xbbc\"", "\"ddx\"");
        String quoted = "{\"type\":\"string\",\"pattern\":\"^\\\"[^\\\"]*\\\"\\\\n$\"}";
        accepts(quoted, "\"\\\"hi\\\"\\n\"");
        rejects(quoted, "\"\\\"hi\\\"\"", "\"\"hi\"\\n\"");
        String digits = "{\"type\":\"string\",\"pattern\":\"^[0-9]+$\",\"maxLength\":3}";
        accepts(digits, "\"1\"", "\"123\"");
        rejects(digits, "\"\"", "\"1234\"", "\"12a\"");
    }

    @Test
    void formatsAcceptOnlyValidValues() {
        String date = "{\"type\":\"string\",\"format\":\"date\"}";
        accepts(date, "\"2024-02-29\"", "\"2000-02-29\"", "\"1999-12-31\"", "\"2023-04-30\"");
        rejects(date, "\"2023-02-29\"", "\"1900-02-29\"", "\"2023-04-31\"", "\"2023-13-01\"", "\"2023-1-01\"");
        String dateTime = "{\"type\":\"string\",\"format\":\"date-time\"}";
        accepts(dateTime, "\"2024-05-01T12:30:00Z\"", "\"2024-05-01t23:59:59.123+05:30\"");
        rejects(dateTime, "\"2024-05-01 12:30:00Z\"", "\"2024-05-01T24:00:00Z\"", "\"2024-05-01T12:30:00\"");
        accepts("{\"format\":\"time\"}", "\"08:00:00-01:00\"", "3");
        rejects("{\"format\":\"time\"}", "\"8:00:00Z\"");
        accepts("{\"format\":\"email\"}", "\"joe.bloggs+x@example.co.uk\"");
        rejects("{\"format\":\"email\"}", "\"joe@\"", "\"@example.com\"", "\"a b@c.d\"", "\"a..b@c.d\"");
        accepts("{\"format\":\"uuid\"}", "\"123e4567-e89b-12d3-a456-426614174000\"");
        rejects("{\"format\":\"uuid\"}", "\"123e4567e89b12d3a456426614174000\"");
        accepts("{\"format\":\"uri\"}", "\"https://example.com:8080/a/b?q=1#frag\"", "\"urn:isbn:0451450523\"",
                "\"mailto:joe@example.com\"", "\"file:///etc/hosts\"");
        rejects("{\"format\":\"uri\"}", "\"//example.com/a\"", "\"/relative\"", "\"http://exa mple.com\"", "\"1http:x\"");
        assertEquals("format", refusal("{\"format\":\"credit-card\"}"));
        assertEquals("format", refusal("{\"format\":\"idn-hostname\"}"));
    }

    @Test
    void networkAndPointerFormatsAcceptOnlyValidValues() {
        format("ipv4", List.of("192.168.0.1", "0.0.0.0", "255.255.255.255"),
                List.of("256.0.0.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", "1.2.3.-4"));
        format("ipv6", List.of("::1", "::", "2001:db8::8a2e:370:7334", "1:2:3:4:5:6:7:8", "::ffff:192.0.2.1", "fe80::"),
                List.of("1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", ":1", "1:2:3:4:5:6:7", "::ffff:256.0.0.1"));
        format("hostname", List.of("example.com", "a", "xn--bcher-kva.example", "a-b.c-d"),
                List.of("-a.com", "a-.com", "a..b", "a_b.com", "example.com.", "a".repeat(49)));
        format("uri-reference", List.of("http://x.org/a", "/a/b?c#d", "a/b", "#frag", "", "//host/p", "../x"),
                List.of("a b", "a:b c", "%zz", "\\\\x"));
        format("iri", List.of("http://例え.jp/パス?q=値", "urn:ex:ø", "http://[::1]:80/"),
                List.of("/relative", "http://a b", "http://x/\uE000"));
        format("iri-reference", List.of("例/パス", "#ø", "http://x/?\uE000"), List.of("a b", "%g0"));
        format("uri-template", List.of("http://example.com/{id}", "/search{?q,lang}", "{+path:6}/x{/a*}", "plain"),
                List.of("{}", "{a", "a}", "{a b}", "{a:0}", "http://x/'"));
        format("json-pointer", List.of("", "/", "/a/b", "/a~0b/c~1d", "/ü"), List.of("a", "/a~2", "/~"));
        format("relative-json-pointer", List.of("0", "1/a", "2#", "10/~1"), List.of("", "01", "-1", "/a", "1#/a"));
        format("duration", List.of("P1Y", "P1Y2M3DT4H5M6S", "PT0S", "P4W", "P1D", "PT1H30M"),
                List.of("P", "PT", "P1Y2D3M", "P1W2D", "1Y", "PT1D", "P1.5Y"));
    }

    private static void format(String format, List<String> valid, List<String> invalid) {
        Grammar g = schema("{\"type\":\"string\",\"format\":\"" + format + "\"}");
        for (String v : valid) {
            assertTrue(g.accepts("\"" + JsonText.escape(v) + "\""), format + " should accept " + v);
        }
        for (String v : invalid) {
            assertFalse(g.accepts("\"" + JsonText.escape(v) + "\""), format + " should reject " + v);
        }
    }

    @Test
    void integerBoundsMatchExactly() {
        Random random = new Random(7);
        for (int trial = 0; trial < 60; trial++) {
            long lo = random.nextInt(2000) - 1000;
            long hi = lo + 1 + random.nextInt(trial < 30 ? 50 : 5000);
            boolean exclusive = random.nextBoolean();
            String s = "{\"type\":\"integer\",\"" + (exclusive ? "exclusiveMinimum" : "minimum") + "\":" + lo
                    + ",\"maximum\":" + hi + "}";
            Grammar g = schema(s);
            for (long v = lo - 3; v <= hi + 3; v += Math.max(1, (hi - lo) / 40)) {
                boolean valid = (exclusive ? v > lo : v >= lo) && v <= hi;
                assertEquals(valid, g.accepts(Long.toString(v)), s + " on " + v);
            }
            assertEquals(!exclusive, g.accepts(Long.toString(lo)), s + " on its lower bound");
            assertTrue(g.accepts(Long.toString(hi)), s + " on its upper bound");
        }
        accepts("{\"type\":\"integer\",\"minimum\":-5}", "-5", "0", "99999999999999999999");
        rejects("{\"type\":\"integer\",\"minimum\":-5}", "-6", "-10", "1.0", "01", "-0");
        accepts("{\"type\":\"integer\",\"maximum\":1.5}", "1", "-3");
        rejects("{\"type\":\"integer\",\"maximum\":1.5}", "2");
    }

    @Test
    void decimalBoundsMatchExactly() {
        Random random = new Random(11);
        List<String> bounds = List.of("1.1", "-2.25", "0", "0.05", "3", "-0.5", "10.001", "-7");
        for (String low : bounds) {
            for (String high : bounds) {
                for (boolean exclusive : new boolean[] {false, true}) {
                    BigDecimal lo = new BigDecimal(low);
                    BigDecimal hi = new BigDecimal(high);
                    String s = "{\"type\":\"number\",\"" + (exclusive ? "exclusiveMinimum" : "minimum") + "\":" + low
                            + ",\"" + (exclusive ? "maximum" : "exclusiveMaximum") + "\":" + high + "}";
                    String gbnf;
                    try {
                        gbnf = JsonSchemaGrammar.toGbnf(s);
                    } catch (NoValidInstance e) {
                        assertTrue(lo.compareTo(hi) >= 0, s + " has instances");
                        continue;
                    }
                    Grammar g = Grammar.parse(gbnf);
                    for (int i = 0; i < 200; i++) {
                        BigDecimal v = i < 8 ? new BigDecimal(bounds.get(i))
                                : BigDecimal.valueOf(random.nextInt(2400) - 1200, random.nextInt(4));
                        boolean valid = (exclusive ? v.compareTo(lo) > 0 : v.compareTo(lo) >= 0)
                                && (exclusive ? v.compareTo(hi) <= 0 : v.compareTo(hi) < 0);
                        assertEquals(valid, g.accepts(v.toPlainString()), s + " on " + v.toPlainString());
                    }
                }
            }
        }
        accepts("{\"type\":\"number\",\"minimum\":1.1}", "1.1", "1.10", "1.100001", "2", "1.2");
        rejects("{\"type\":\"number\",\"minimum\":1.1}", "1.09999", "1", "-1.2", "1.1e0");
    }

    @Test
    void arraysFollowPrefixItemsThenItemsWithinCounts() {
        String s = """
                {"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":{"type":"boolean"},
                 "minItems":1,"maxItems":4}""";
        accepts(s, "[\"a\"]", "[\"a\",1]", "[\"a\", 1, true]", "[\"a\",1,true,false]");
        rejects(s, "[]", "[1]", "[\"a\",\"b\"]", "[\"a\",1,true,false,true]", "[\"a\",1,2]");
        String closed = "{\"prefixItems\":[{\"const\":1},{\"const\":2}],\"items\":false}";
        accepts(closed, "[]", "[1]", "[1,2]", "{}");
        rejects(closed, "[2]", "[1,2,3]");
    }

    @Test
    void enumAndConstWriteTheirValuesExactly() {
        String s = "{\"enum\":[\"a\\nb\",{\"x\":[1,2.50]},null,-2.0]}";
        accepts(s, "\"a\\nb\"", "{\"x\":[1,2.5]}", "{\"x\": [1, 2.5]}", "null", "-2");
        rejects(s, "\"a\nb\"", "{\"x\":[1,2.50]}", "-2.0", "\"b\"");
        rejects("{\"const\":false}", "0", "null");
        assertThrows(NoValidInstance.class, () -> JsonSchemaGrammar.toGbnf("{\"enum\":[]}"));
        assertThrows(NoValidInstance.class, () -> JsonSchemaGrammar.toGbnf("false"));
        assertThrows(NoValidInstance.class, () -> JsonSchemaGrammar.toGbnf("{\"type\":\"string\",\"enum\":[1,2]}"));
    }

    @Test
    void enumValuesMustAlsoSatisfyTheOtherKeywords() {
        String lengths = "{\"type\":\"string\",\"minLength\":2,\"enum\":[\"a\",\"bb\",3,\"ccc\"],\"maxLength\":2}";
        accepts(lengths, "\"bb\"");
        rejects(lengths, "\"a\"", "3", "\"ccc\"");
        String objects = "{\"enum\":[{\"a\":1},{\"a\":\"x\"},[1]],\"properties\":{\"a\":{\"type\":\"integer\"}}}";
        accepts(objects, "{\"a\":1}", "[1]");
        rejects(objects, "{\"a\":\"x\"}");
        String merged = "{\"type\":\"integer\",\"minimum\":2,\"anyOf\":[{\"const\":1},{\"enum\":[2,3.5,4]}]}";
        accepts(merged, "2", "4");
        rejects(merged, "1", "3.5");
    }

    @Test
    void allOfMergesKeywordByKeyword() {
        String s = """
                {"allOf":[{"type":["integer","string"],"minimum":2},{"type":"number","maximum":5},
                          {"properties":{"a":{"type":"integer"}}}]}""";
        accepts(s, "2", "5");
        rejects(s, "1", "6", "3.5", "\"x\"", "{\"a\":1}");
        String objects = """
                {"type":"object","properties":{"a":{"minimum":0},"b":{}},"required":["a"],
                 "allOf":[{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["b"]}],
                 "additionalProperties":false}""";
        accepts(objects, "{\"a\":0,\"b\":\"x\"}");
        rejects(objects, "{\"a\":-1,\"b\":\"x\"}", "{\"a\":0.5,\"b\":\"x\"}", "{\"a\":1}", "{\"a\":1,\"b\":\"x\",\"c\":1}");
        assertEquals("allOf", refusal("{\"allOf\":[{\"pattern\":\"a\"},{\"pattern\":\"b\"}]}"));
    }

    @Test
    void oneOfCompilesOnlyWhenItsAlternativesAreDisjoint() {
        String tagged = """
                {"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number"}},"required":["kind","r"]},
                          {"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"number"}},"required":["kind","side"]}]}""";
        accepts(tagged, "{\"kind\":\"circle\",\"r\":1}", "{\"kind\":\"square\",\"side\":2}");
        rejects(tagged, "{\"kind\":\"circle\",\"side\":1}", "{\"kind\":\"triangle\",\"r\":1}");
        accepts("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "\"x\"", "null");
        assertEquals("oneOf", refusal("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}"));
        assertEquals("oneOf", refusal("{\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}"));
    }

    @Test
    void recursiveReferencesBecomeRecursiveRules() {
        String tree = """
                {"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{"value":{"type":"integer"},
                 "children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value"],"additionalProperties":false}}}""";
        accepts(tree, "{\"value\":1}", "{\"value\":1,\"children\":[{\"value\":2,\"children\":[{\"value\":3}]},{\"value\":4}]}");
        rejects(tree, "{\"value\":1,\"children\":[{\"children\":[]}]}", "{\"value\":1,\"children\":[1]}");
        String escaped = "{\"properties\":{\"p\":{\"$ref\":\"#/$defs/a~1b%25\"}},\"$defs\":{\"a/b%\":{\"type\":\"null\"}}}";
        accepts(escaped, "{\"p\":null}");
        rejects(escaped, "{\"p\":1}");
    }

    @Test
    void unsupportedKeywordsAreRefusedByName() {
        for (String keyword : List.of("multipleOf", "contains", "minContains", "maxContains", "patternProperties",
                "propertyNames", "dependentRequired", "dependentSchemas", "if", "then", "else", "not",
                "unevaluatedItems", "unevaluatedProperties", "minProperties", "maxProperties", "$dynamicRef",
                "contentMediaType", "contentEncoding", "dependencies")) {
            assertEquals(keyword, refusal("{\"type\":\"object\",\"properties\":{\"a\":{\"" + keyword + "\":1}}}"), keyword);
        }
        assertEquals("uniqueItems", refusal("{\"uniqueItems\":true}"));
        accepts("{\"uniqueItems\":false,\"title\":\"t\",\"description\":\"d\",\"default\":1,\"examples\":[1],"
                + "\"$comment\":\"c\",\"deprecated\":false,\"readOnly\":true,\"writeOnly\":false}", "1");
        assertEquals("$ref", refusal("{\"$ref\":\"https://example.com/other.json\"}"));
    }

    @Test
    void malformedSchemasAreErrorsThatSayWhatIsWrong() {
        for (String bad : List.of("{", "[1]", "{\"type\":\"text\"}", "{\"required\":\"a\"}", "{\"properties\":[]}",
                "{\"minLength\":-1}", "{\"maxItems\":1.5}", "{\"$ref\":\"#/$defs/missing\"}", "{\"pattern\":\"(\"}")) {
            GrammarException e = assertThrows(GrammarException.class, () -> JsonSchemaGrammar.toGbnf(bad), bad);
            assertFalse(e instanceof UnsupportedFeature, bad + ": " + e.getMessage());
        }
    }
}
