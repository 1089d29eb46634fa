package xllm.sched.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import xllm.sched.cluster.PrefixAwareRouting.Candidate;
import xllm.sched.cluster.PrefixAwareRouting.Route;

class PrefixAwareRoutingTest {
    @Test
    void longestCachedPrefixWinsWhileItsWorkerIsNotOverloaded() {
        Route r = PrefixAwareRouting.choose(List.of(new Candidate(0, 0, 0.1, 2), new Candidate(1, 30, 0.1, 5)), 40, 64);
        assertEquals(new Route(1, true), r);
    }

    @Test
    void aFullCacheOrQueueOutweighsThePrefix() {
        Route r = PrefixAwareRouting.choose(List.of(new Candidate(0, 0, 0.0, 1), new Candidate(1, 10, 0.9, 40)), 40, 64);
        assertEquals(new Route(0, false), r);
    }

    @Test
    void withoutAnyPrefixTheLeastLoadedWorkerIsChosen() {
        Route r = PrefixAwareRouting.choose(List.of(new Candidate(0, 0, 0.0, 3), new Candidate(1, 0, 0.0, 1), new Candidate(2, 0, 0.0, 2)), 0, 64);
        assertEquals(new Route(1, false), r);
    }
}
