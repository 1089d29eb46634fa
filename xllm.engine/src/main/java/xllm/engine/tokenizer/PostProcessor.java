package xllm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code post_processor} of tokenizer.json reduced to what a single sequence needs: ids put
 * before and after the encoded text when special tokens are requested (e.g. Llama's {@code <s>}).
 */
record PostProcessor(int[] prefix, int[] suffix) {
    static final PostProcessor NONE = new PostProcessor(new int[0], new int[0]);

    static PostProcessor fromJson(JsonNode node, TokenizerJson json) {
        if (node == null || node.isNull()) {
            return NONE;
        }
        String type = json.text(node, "type", "post_processor");
        return switch (type) {
            case "TemplateProcessing" -> template(node, json);
            case "BertProcessing", "RobertaProcessing" -> new PostProcessor(
                new int[] {specialId(node, "cls", json)}, new int[] {specialId(node, "sep", json)});
            // ByteLevel only adjusts offsets, which this engine does not report.
            case "ByteLevel" -> NONE;
            case "Sequence" -> {
                List<Integer> prefix = new ArrayList<>();
                List<Integer> suffix = new ArrayList<>();
                for (JsonNode child : json.array(node, "processors", "post_processor")) {
                    PostProcessor p = fromJson(child, json);
                    for (int id : p.prefix()) {
                        prefix.add(id);
                    }
                    for (int id : p.suffix()) {
                        suffix.add(id);
                    }
                }
                yield new PostProcessor(toArray(prefix), toArray(suffix));
            }
            default -> throw json.error("unsupported post_processor type '" + type + "'");
        };
    }

    private static PostProcessor template(JsonNode node, TokenizerJson json) {
        JsonNode specials = node.path("special_tokens");
        List<Integer> prefix = new ArrayList<>();
        List<Integer> suffix = new ArrayList<>();
        boolean seenSequence = false;
        for (JsonNode piece : json.array(node, "single", "post_processor")) {
            if (piece.has("Sequence")) {
                seenSequence = true;
                continue;
            }
            JsonNode special = piece.path("SpecialToken");
            String name = json.text(special, "id", "post_processor.single");
            JsonNode ids = specials.path(name).path("ids");
            if (!ids.isArray()) {
                throw json.error("TemplateProcessing: special token '" + name + "' has no ids");
            }
            for (JsonNode id : ids) {
                if (!id.canConvertToInt() || id.intValue() < 0) {
                    throw json.error("TemplateProcessing: special token '" + name + "' has an invalid id");
                }
                (seenSequence ? suffix : prefix).add(id.intValue());
            }
        }
        return new PostProcessor(toArray(prefix), toArray(suffix));
    }

    private static int specialId(JsonNode node, String field, TokenizerJson json) {
        JsonNode pair = node.path(field);
        if (!pair.isArray() || pair.size() != 2 || !pair.get(1).canConvertToInt()) {
            throw json.error("post_processor: '" + field + "' must be [token, id]");
        }
        return pair.get(1).intValue();
    }

    private static int[] toArray(List<Integer> ids) {
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}
