package xllm.sched;

import java.nio.file.Path;
import xllm.engine.scheduler.EngineCore;
import xllm.kv.DiskBlockStore;

/**
 * The metrics of an engine's KV memory tiers, in Prometheus text: resident bytes of the weights and of the KV
 * cache, prefix-cache hits by tier, and the disk tier's traffic. Read on the metrics thread; stateless.
 */
final class KvTierMetrics {
    private KvTierMetrics() {
    }

    static String render(EngineCore core, DiskBlockStore disk, Path model) {
        StringBuilder out = new StringBuilder(1024);
        try {
            long weights = ResidentMemory.ofWeights(model);
            long kv = core.kvResidentBytes();
            long process = ResidentMemory.ofProcess();
            PrometheusText.family(out, "xllm:resident_memory_bytes", "gauge", "Memory resident now, by what holds it.");
            PrometheusText.sample(out, "xllm:resident_memory_bytes", "part=\"weights\"", weights);
            PrometheusText.sample(out, "xllm:resident_memory_bytes", "part=\"kv\"", kv);
            PrometheusText.sample(out, "xllm:resident_memory_bytes", "part=\"process\"", process);
        } catch (IllegalStateException unmapped) {
            // the engine went to sleep meanwhile
        }
        PrometheusText.family(out, "xllm:prefix_cache_hit_tokens_total", "counter", "Prompt tokens whose KV was found cached, by tier.");
        PrometheusText.sample(out, "xllm:prefix_cache_hit_tokens_total", "tier=\"memory\"", core.memoryHitTokens());
        PrometheusText.sample(out, "xllm:prefix_cache_hit_tokens_total", "tier=\"disk\"", core.diskHitTokens());
        if (disk != null) {
            PrometheusText.family(out, "xllm:kv_offload_bytes_total", "counter", "Bytes of KV blocks written to and read from the disk tier.");
            PrometheusText.sample(out, "xllm:kv_offload_bytes_total", "direction=\"write\"", disk.bytesWritten());
            PrometheusText.sample(out, "xllm:kv_offload_bytes_total", "direction=\"read\"", disk.bytesRead());
            PrometheusText.gauge(out, "xllm:kv_offload_disk_bytes", "Bytes the disk tier's files take.", disk.diskBytes());
            PrometheusText.counter(out, "xllm:kv_offload_dropped_total", "Blocks not written because the writer was behind.", disk.dropped());
        }
        return out.toString();
    }
}
