package xllm.http.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import xllm.api.FinishReason;
import xllm.api.Logprobs;
import xllm.api.Usage;

class TokenLogTest {
    @Test
    void readerSeesEveryTokenInOrderWhileTheLogGrows() throws Exception {
        int total = 5000;
        TokenLog log = new TokenLog(16, 2);
        Thread engine = Thread.ofPlatform().start(() -> {
            Logprobs reused = new Logprobs();
            for (int i = 0; i < total; i++) {
                reused.set(i, -i);
                reused.addTop(i + 1, -1f);
                reused.addTop(i + 2, -2f);
                reused.addTop(i + 3, -3f);
                log.onToken(i, reused);
            }
            log.onFinish(FinishReason.LENGTH, new Usage(1, total, 0));
        });
        int seen = 0;
        while (true) {
            boolean finished = log.finished();
            int count = log.count();
            for (; seen < count; seen++) {
                assertEquals(seen, log.token(seen));
                assertEquals(-seen, log.logprob(seen));
                assertEquals(2, log.topCount(seen));
                assertEquals(seen + 2, log.topId(seen, 1));
            }
            if (finished) {
                break;
            }
            LockSupport.park();
        }
        engine.join();
        assertEquals(total, seen);
        assertEquals(FinishReason.LENGTH, log.finishReason());
        assertTrue(log.usage().completionTokens() == total);
    }
}
