// The per-CPU kernel parameters (see kernels.h), set by the engine at start. Built for baseline x86-64.

#define HIDDEN __attribute__((visibility("hidden")))

HIDDEN int xllm_decode_rows = 8;
HIDDEN int xllm_decode_panels = 2;
HIDDEN int xllm_prefetch_rows = 8;

void xllm_configure(int decode_rows, int decode_panels, int prefetch_rows) {
    xllm_decode_rows = decode_rows >= 8 ? 8 : 4;
    xllm_decode_panels = decode_panels >= 4 ? 4 : (decode_panels >= 2 ? 2 : 1);
    xllm_prefetch_rows = prefetch_rows < 0 ? 0 : prefetch_rows;
}
