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
            out.append("# HELP xllm:resident_memory_bytes Memory resident now, by what holds it.\n")
                    .append("# TYPE xllm:resident_memory_bytes gauge\n")
                    .append("xllm:resident_memory_bytes{part=\"weights\"} ").append(ResidentMemory.ofFilesUnder(model)).append('\n')
                    .append("xllm:resident_memory_bytes{part=\"kv\"} ").append(core.kvResidentBytes()).append('\n')
                    .append("xllm:resident_memory_bytes{part=\"process\"} ").append(ResidentMemory.ofProcess()).append('\n');
        } catch (IllegalStateException unmapped) {
            // the engine went to sleep meanwhile
        }
        out.append("# HELP xllm:prefix_cache_hit_tokens_total Prompt tokens whose KV was found cached, by tier.\n")
                .append("# TYPE xllm:prefix_cache_hit_tokens_total counter\n")
                .append("xllm:prefix_cache_hit_tokens_total{tier=\"memory\"} ").append(core.memoryHitTokens()).append('\n')
                .append("xllm:prefix_cache_hit_tokens_total{tier=\"disk\"} ").append(core.diskHitTokens()).append('\n');
        if (disk != null) {
            out.append("# HELP xllm:kv_offload_bytes_total Bytes of KV blocks written to and read from the disk tier.\n")
                    .append("# TYPE xllm:kv_offload_bytes_total counter\n")
                    .append("xllm:kv_offload_bytes_total{direction=\"write\"} ").append(disk.bytesWritten()).append('\n')
                    .append("xllm:kv_offload_bytes_total{direction=\"read\"} ").append(disk.bytesRead()).append('\n')
                    .append("# HELP xllm:kv_offload_disk_bytes Bytes the disk tier's files take.\n")
                    .append("# TYPE xllm:kv_offload_disk_bytes gauge\n")
                    .append("xllm:kv_offload_disk_bytes ").append(disk.diskBytes()).append('\n')
                    .append("# HELP xllm:kv_offload_dropped_total Blocks not written because the writer was behind.\n")
                    .append("# TYPE xllm:kv_offload_dropped_total counter\n")
                    .append("xllm:kv_offload_dropped_total ").append(disk.dropped()).append('\n');
        }
        return out.toString();
    }
}
