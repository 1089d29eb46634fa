# TTFT of a long prompt on a freshly started server: cold (nothing cached) vs from the disk tier.
# Each run: start the server, compute a different prompt of the same length first (so the JIT has compiled
# the long-prompt paths), then time the target prompt with max_tokens=1. Alternates cold and disk runs.
import json, subprocess, sys, time, urllib.request, os, shutil, statistics
# usage: ttft.py MODEL_DIR TOKENS ROUNDS [serve options]
model, n, rounds, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), 18300
name = os.path.basename(model.rstrip('/'))
extra = sys.argv[4:]
def post(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=600))
def prompt_of(tag, n):
    lines, i = [], 0
    while True:
        lines.append(f"def {tag}_{i}(request, retries={i}):\n    return request.get('{tag}_value_{i}', {i}) * {i}\n"); i += 1
        if i % 10 == 0:
            ids = post("/tokenize", {"prompt": "".join(lines)})["tokens"]
            if len(ids) >= n: return ids[:n]
def start(offload):
    env = dict(os.environ, XLLM_NO_BUILD="1")
    p = subprocess.Popen([os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "xllm"), "serve", "--port", str(port), "--model", model, "--kv-offload-dir", offload, *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(600):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).status == 200: return p
        except Exception: pass
        time.sleep(0.2)
    raise SystemExit("server did not start")
def ttft(ids):
    t = time.time(); r = post("/v1/completions", {"model": name, "prompt": ids, "max_tokens": 1, "temperature": 0})
    return time.time() - t, r["usage"].get("prompt_tokens_details", {}).get("cached_tokens", 0)
import tempfile
base = tempfile.mkdtemp(prefix="xllm-ttft-")
off = os.path.join(base, "offload")
shutil.rmtree(off, ignore_errors=True)
p = start(off); target = prompt_of("target", n); post("/v1/completions", {"model": name, "prompt": target, "max_tokens": 1}); time.sleep(3); p.terminate(); p.wait()
saved = os.path.join(base, "saved"); shutil.rmtree(saved, ignore_errors=True); shutil.copytree(off, saved)
cold, warm = [], []
for r in range(rounds):
    for kind in ("cold", "disk"):
        shutil.rmtree(off, ignore_errors=True)
        if kind == "disk": shutil.copytree(saved, off)  # the server makes the directory itself (owner-only) when cold
        p = start(off)
        post("/v1/completions", {"model": name, "prompt": prompt_of(f"warm{r}", n), "max_tokens": 1})
        t, cached = ttft(target)
        (cold if kind == "cold" else warm).append(t)
        print(f"{kind}: {t:.3f} s, cached {cached}", flush=True)
        p.terminate(); p.wait()
print(f"{n} tokens: cold median {statistics.median(cold):.3f} s, disk median {statistics.median(warm):.3f} s, ratio {statistics.median(cold)/statistics.median(warm):.1f}x")
shutil.rmtree(base, ignore_errors=True)
