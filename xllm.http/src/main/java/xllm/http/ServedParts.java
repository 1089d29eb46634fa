package xllm.http;

import xllm.api.GenerationChannel;
import xllm.api.JobService;
import xllm.api.NodePool;
import xllm.api.SleepMode;
import xllm.api.WorkerPool;

/**
 * What a server offers beyond the OpenAI API of its service; each part null when absent.
 *
 * @param jobs offline jobs ({@code /v1/jobs}); the server starts their runner
 * @param workers the worker processes behind a router ({@code /admin/workers})
 * @param nodes the nodes behind a multi-node router ({@code /admin/nodes})
 * @param channel how routers run requests on this node ({@code /internal/generate})
 * @param sleep sleep mode ({@code /sleep}, {@code /wake_up}, {@code /is_sleeping})
 */
public record ServedParts(JobService jobs, WorkerPool workers, NodePool nodes, GenerationChannel channel, SleepMode sleep) {
    public static ServedParts none() {
        return new ServedParts(null, null, null, null, null);
    }

    public ServedParts withJobs(JobService value) {
        return new ServedParts(value, workers, nodes, channel, sleep);
    }

    public ServedParts withWorkers(WorkerPool value) {
        return new ServedParts(jobs, value, nodes, channel, sleep);
    }

    public ServedParts withNodes(NodePool value) {
        return new ServedParts(jobs, workers, value, channel, sleep);
    }

    public ServedParts withChannel(GenerationChannel value) {
        return new ServedParts(jobs, workers, nodes, value, sleep);
    }

    public ServedParts withSleep(SleepMode value) {
        return new ServedParts(jobs, workers, nodes, channel, value);
    }
}
