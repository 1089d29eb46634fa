package xllm.cli;

/** Entry point of the {@code xllm} command. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.out.println("xllm");
    }
}
