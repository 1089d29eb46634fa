package xllm.engine.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The weights of a Hugging Face model directory: {@code model.safetensors.index.json} with its shards,
 * or the {@code *.safetensors} files present. All files are mapped into one arena, closed together.
 */
public final class SafetensorsDirectory implements WeightSource {
    private final Arena arena;
    private final Map<String, Tensor> tensors;

    private SafetensorsDirectory(Arena arena, Map<String, Tensor> tensors) {
        this.arena = arena;
        this.tensors = tensors;
    }

    public static SafetensorsDirectory open(Path dir) {
        Arena arena = Arena.ofShared();
        try {
            Map<String, Tensor> all = new LinkedHashMap<>();
            Path index = dir.resolve("model.safetensors.index.json");
            if (Files.isRegularFile(index)) {
                Map<String, String> fileOf = readIndex(index);
                Map<String, SafetensorsFile> shards = new HashMap<>();
                for (String shard : new java.util.TreeSet<>(fileOf.values())) {
                    Path shardPath = dir.resolve(shard).normalize();
                    if (!shardPath.startsWith(dir.normalize()) || !Files.isRegularFile(shardPath)) {
                        throw new ModelFileException(index, "names shard " + shard + " which is not a file in " + dir);
                    }
                    shards.put(shard, SafetensorsFile.open(shardPath, arena));
                }
                for (Map.Entry<String, String> e : fileOf.entrySet()) {
                    SafetensorsFile shard = shards.get(e.getValue());
                    Tensor t = shard.tensors().get(e.getKey());
                    if (t == null) {
                        throw new ModelFileException(shard.path(), "lacks tensor " + e.getKey() + " that the index places there");
                    }
                    all.put(e.getKey(), t);
                }
            } else {
                for (Path file : safetensorsFiles(dir)) {
                    all.putAll(SafetensorsFile.open(file, arena).tensors());
                }
            }
            if (all.isEmpty()) {
                throw new ModelFileException(dir, "no safetensors weights found");
            }
            return new SafetensorsDirectory(arena, all);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Map<String, String> readIndex(Path index) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(index.toFile());
        } catch (IOException e) {
            throw new ModelFileException(index, "is not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        JsonNode map = root == null ? null : root.get("weight_map");
        if (map == null || !map.isObject()) {
            throw new ModelFileException(index, "has no weight_map object");
        }
        Map<String, String> fileOf = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new ModelFileException(index, "weight_map entry " + e.getKey() + " is not a file name");
            }
            fileOf.put(e.getKey(), e.getValue().asText());
        }
        return fileOf;
    }

    private static java.util.List<Path> safetensorsFiles(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        } catch (IOException e) {
            throw new ModelFileException(dir, "cannot list: " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<Tensor> find(String name) {
        return Optional.ofNullable(tensors.get(name));
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public void close() {
        arena.close();
    }
}
