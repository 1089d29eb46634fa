package xllm.engine.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import java.util.Map;

/**
 * The {@code tojson} filter as transformers defines it for chat templates ({@code json.dumps} with
 * {@code ensure_ascii=False} and the {@code indent} and {@code sort_keys} arguments), in place of Jinjava's,
 * which writes compact JSON. Stateless.
 */
final class PythonJsonFilter implements AdvancedFilter {
    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        // transformers' first positional argument is ensure_ascii, which stays False here.
        Object indent = kwargs.get("indent");
        Object sortKeys = kwargs.get("sort_keys");
        return PythonJson.dumps(value, indent instanceof Number n ? n.intValue() : null, Boolean.TRUE.equals(sortKeys));
    }
}
