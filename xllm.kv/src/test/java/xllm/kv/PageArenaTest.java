package xllm.kv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The arena's size and slot addresses for each element type. */
class PageArenaTest {

    @Test
    void anF16ArenaHoldsTheSameSlotsInHalfTheBytes() {
        try (PageArena f32 = new PageArena(4, 16, 3, 256); PageArena f16 = new PageArena(4, 16, 3, 256, KvDtype.F16)) {
            assertEquals(4L * 16 * 3 * 256 * 4, f32.byteSize());
            assertEquals(f32.byteSize() / 2, f16.byteSize());
            assertEquals(PageArena.bytesPerToken(3, 256) / 2, PageArena.bytesPerToken(3, 256, KvDtype.F16));
            // the last slot of the last block ends exactly at the end of the memory
            assertEquals(f16.byteSize(), f16.slotOffset(3, 2, 15) + 256 * 2);
            assertEquals(f32.byteSize(), f32.slotOffset(3, 2, 15) + 256 * 4);
        }
    }

    @Test
    void floatsGoOnlyIntoAFloatArena() {
        try (PageArena f16 = new PageArena(1, 16, 1, 8, KvDtype.F16)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> f16.writeSlot(0, 0, 0, new float[8], 0, 8, 0));
            assertTrue(e.getMessage().contains("F16"), e.getMessage());
        }
    }

    @Test
    void dtypeNamesParseAndOthersAreRefusedByName() {
        assertEquals(KvDtype.F16, KvDtype.parse("f16"));
        assertEquals(KvDtype.F32, KvDtype.parse("F32"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KvDtype.parse("fp8"));
        assertTrue(e.getMessage().contains("fp8"), e.getMessage());
    }

    @Test
    void aLargeArenaTakesMemoryOnlyAsBlocksAreWrittenAndGivesItBack() {
        // 4 GiB of address space: reserved, not resident
        try (PageArena arena = new PageArena(16_384, 16, 8, 2048)) {
            assertEquals(16_384L * 16 * 8 * 2048 * 4, arena.byteSize());
            assertEquals(0, arena.residentBytes());
            for (int block : new int[] {3, 4, 5, 100}) {
                arena.writeSlot(block, 0, 0, new float[] {1, 2, 3}, 0, 3, 0);
                arena.writeSlot(block, 7, 15, new float[] {4}, 0, 1, 2047);
            }
            long perBlock = arena.blockBytes();
            assertTrue(arena.residentBytes() >= 2 * 4096 * 4 && arena.residentBytes() <= 4 * perBlock, "" + arena.residentBytes());
            assertEquals(3 * perBlock, arena.releaseBlocks(new int[] {3, 4, 5}, 3));
            assertEquals(0f, arena.memory().get(java.lang.foreign.ValueLayout.JAVA_FLOAT, arena.slotOffset(4, 0, 0)),
                    "a given-back block reads as zeros");
            assertEquals(1f, arena.memory().get(java.lang.foreign.ValueLayout.JAVA_FLOAT, arena.slotOffset(100, 0, 0)),
                    "other blocks keep their contents");
            assertTrue(arena.residentBytes() <= perBlock, "only block 100 stays resident: " + arena.residentBytes());
        }
    }
}
