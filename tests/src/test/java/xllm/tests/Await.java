package xllm.tests;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Waits with a deadline, so that a server that stops answering fails the test with what it waited for
 * instead of hanging the build. The limits are generous: they bound a hang, they do not measure speed.
 */
final class Await {
    private Await() {
    }

    /** Polls {@code condition} until it holds; fails after {@code limit} naming {@code what} it waited for. */
    static void until(String what, Duration limit, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("waited " + limit.toSeconds() + " s for " + what);
            }
            Thread.sleep(20);
        }
    }

    /** The value of {@code future}; after {@code limit} it is cancelled and the test fails naming {@code what}. */
    static <T> T result(String what, Duration limit, Future<T> future) throws InterruptedException, ExecutionException {
        try {
            return future.get(limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new AssertionError("waited " + limit.toSeconds() + " s for " + what, e);
        }
    }
}
