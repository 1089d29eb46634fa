package xllm.http.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StopStringsTest {
    @Test
    void holdsBackWhatMayStartAStopString() {
        StopStrings stops = new StopStrings(List.of("\nUser:"));
        assertEquals("Hello", stops.accept("Hello\n"));
        assertEquals("", stops.accept("Us"));
        assertEquals("\nUsually", stops.accept("ually"));
        assertFalse(stops.matched());
    }

    @Test
    void cutsBeforeTheEarliestStopAcrossPieces() {
        StopStrings stops = new StopStrings(List.of("END", "N"));
        assertEquals("the e", stops.accept("the e"));
        assertEquals("", stops.accept("N"));
        assertTrue(stops.matched());
        assertEquals("", stops.accept("more"));
    }

    @Test
    void releasesHeldTextAtTheEnd() {
        StopStrings stops = new StopStrings(List.of("###"));
        assertEquals("a", stops.accept("a##"));
        assertEquals("##", stops.release());
    }

    @Test
    void passesEverythingWithoutStops() {
        StopStrings stops = new StopStrings(List.of());
        assertEquals("abc", stops.accept("abc"));
        assertEquals("", stops.release());
    }
}
