package xllm.engine.kernel;

/**
 * What BF16 weights are multiplied against. {@link #BF16} rounds each matrix's input activations to bf16
 * and uses the CPU's bf16 dot products (as llama.cpp, and bf16 inference in PyTorch, do): twice the
 * arithmetic rate and half the activation traffic, at about three significant digits in each product.
 * {@link #F32} keeps float activations and widens the weights inside the kernel, reproducing a float32
 * reference over the same weights. Other weight formats are unaffected.
 */
public enum ActivationPrecision {
    F32,
    BF16;

    /** BF16 where the native bf16 kernels can run, else F32 (the Vector API kernels read float activations). */
    public static ActivationPrecision fastest() {
        return NativeKernels.available() ? BF16 : F32;
    }

    /** {@code f32} or {@code bf16}, as given on the command line. */
    public static ActivationPrecision parse(String s) {
        return switch (s) {
            case "f32" -> F32;
            case "bf16" -> BF16;
            default -> throw new IllegalArgumentException("activations must be f32 or bf16, got \"" + s + "\"");
        };
    }
}
