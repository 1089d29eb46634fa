package xllm.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class ReservedMemoryTest {
    @Test
    void hugePageReservationStartsAtABoundaryAndHoldsWhatWasAsked() {
        long bytes = 3 * ReservedMemory.HUGE_PAGE + 12_345;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = ReservedMemory.reserveOnHugePages(bytes, arena);
            assertEquals(0, m.address() % ReservedMemory.HUGE_PAGE, "a segment off the 2 MB boundary cannot be backed by huge pages");
            assertEquals(bytes, m.byteSize());
            assertEquals(0, m.get(ValueLayout.JAVA_BYTE, bytes - 1), "fresh memory reads as zeros");
            m.set(ValueLayout.JAVA_LONG, 0, 42L);
            m.set(ValueLayout.JAVA_BYTE, bytes - 1, (byte) 7);
            assertEquals(42L, m.get(ValueLayout.JAVA_LONG, 0));
            assertEquals(7, m.get(ValueLayout.JAVA_BYTE, bytes - 1));
        }
    }
}
