# Writes a Qwen2 or Qwen3-MoE safetensors directory (the bundled model, one written by `xllm synth`,
# or a test fixture) as GGUF in F32, BF16, Q8_0 or Q4_0 (every weight of 2 or more dimensions), taking the
# tokenizer metadata from a GGUF of the same tokenizer; for running llama.cpp on the same weights as xllm. A
# Qwen3-MoE model is written in llama.cpp's qwen3moe layout: each layer's experts stacked into one 3-D tensor per
# projection (ffn_gate_exps, ffn_up_exps, ffn_down_exps), the router as ffn_gate_inp.
#
#   python3 safetensors_to_gguf.py SRC_DIR TOKENIZER.gguf|- OUT.gguf f32|bf16|q8_0|q4_0
#
# F32 sources are taken too (rounded to nearest even for bf16). With - the file has no tokenizer metadata.
#
# Needs numpy and llama.cpp's gguf-py (GGUF_PY=path/to/llama.cpp/gguf-py, or the directory holding Debian's
# python3-gguf package's gguf/).
import glob, json, os, struct, sys
import numpy as np
sys.path.insert(0, os.environ.get('GGUF_PY', 'gguf-py'))
import gguf
src, ref, out, qtype = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
cfg = json.load(open(src + '/config.json'))
header = {}
for path in sorted(glob.glob(src + '/*.safetensors')):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    for k, h in json.loads(raw[8:8 + n]).items():
        if k != '__metadata__':
            header[k] = (h, raw, 8 + n)
def tensor(name):
    # as bf16 bits; F32 sources rounded to nearest even (exact when the values came from bf16)
    h, raw, base = header[name]
    a, b = h['data_offsets']
    if h['dtype'] == 'F32':
        u = np.frombuffer(raw[base + a: base + b], dtype=np.uint32).reshape(h['shape'])
        return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16), u.view(np.float32)
    assert h['dtype'] == 'BF16', h['dtype']
    bits = np.frombuffer(raw[base + a: base + b], dtype=np.uint16).reshape(h['shape'])
    return bits, (bits.astype(np.uint32) << 16).view(np.float32)
reader = gguf.GGUFReader(ref) if ref != '-' else None
moe = cfg['model_type'] == 'qwen3_moe'
experts = cfg.get('num_experts') or cfg.get('num_local_experts')  # transformers 5 writes the latter
w = gguf.GGUFWriter(out, 'qwen3moe' if moe else 'qwen2')
for f in (reader.fields.values() if reader else []):
    if f.name.startswith('tokenizer.'):
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            vals = [f.parts[i].tobytes().decode('utf-8') if f.types[-1] == gguf.GGUFValueType.STRING else f.parts[i].tolist()[0] for i in f.data]
            w.add_array(f.name, vals)
        elif f.types[0] == gguf.GGUFValueType.STRING:
            w.add_string(f.name, f.parts[f.data[0]].tobytes().decode('utf-8'))
        else:
            w.add_key_value(f.name, f.parts[f.data[0]].tolist()[0], f.types[0])
L = cfg['num_hidden_layers']
w.add_block_count(L)
w.add_context_length(cfg['max_position_embeddings'])
w.add_embedding_length(cfg['hidden_size'])
w.add_feed_forward_length(cfg['intermediate_size'])
w.add_head_count(cfg['num_attention_heads'])
w.add_head_count_kv(cfg['num_key_value_heads'])
w.add_rope_freq_base(cfg.get('rope_theta') or cfg['rope_parameters']['rope_theta'])
w.add_layer_norm_rms_eps(cfg['rms_norm_eps'])
if 'head_dim' in cfg:
    w.add_key_length(cfg['head_dim'])
    w.add_value_length(cfg['head_dim'])
if moe:
    w.add_expert_count(experts)
    w.add_expert_used_count(cfg['num_experts_per_tok'])
    w.add_expert_feed_forward_length(cfg['moe_intermediate_size'])
ftype = {'f32': gguf.LlamaFileType.ALL_F32, 'bf16': gguf.LlamaFileType.MOSTLY_BF16, 'q8_0': gguf.LlamaFileType.MOSTLY_Q8_0, 'q4_0': gguf.LlamaFileType.MOSTLY_Q4_0}[qtype]
w.add_file_type(ftype)
if not reader:
    w.add_uint32('tokenizer.ggml.bos_token_id', cfg.get('bos_token_id') or 0)
    w.add_uint32('tokenizer.ggml.eos_token_id', cfg.get('eos_token_id') or 0)
names = {'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight'}
if 'lm_head.weight' in header:
    names['lm_head.weight'] = 'output.weight'
for i in range(L):
    p = f'model.layers.{i}.'
    for hf, gg in [('self_attn.q_proj', 'attn_q'), ('self_attn.k_proj', 'attn_k'), ('self_attn.v_proj', 'attn_v'),
                   ('self_attn.o_proj', 'attn_output'), ('mlp.gate_proj', 'ffn_gate'), ('mlp.up_proj', 'ffn_up'),
                   ('mlp.down_proj', 'ffn_down')]:
        if p + hf + '.weight' in header:
            names[p + hf + '.weight'] = f'blk.{i}.{gg}.weight'
        if p + hf + '.bias' in header:
            names[p + hf + '.bias'] = f'blk.{i}.{gg}.bias'
    names[p + 'input_layernorm.weight'] = f'blk.{i}.attn_norm.weight'
    for hf, gg in [('self_attn.q_norm', 'attn_q_norm'), ('self_attn.k_norm', 'attn_k_norm'), ('mlp.gate', 'ffn_gate_inp')]:
        if p + hf + '.weight' in header:
            names[p + hf + '.weight'] = f'blk.{i}.{gg}.weight'
    names[p + 'post_attention_layernorm.weight'] = f'blk.{i}.ffn_norm.weight'
def stacked(i, proj):
    parts = [tensor(f'model.layers.{i}.mlp.experts.{e}.{proj}_proj.weight') for e in range(experts)]
    return np.stack([p[0] for p in parts]), np.stack([p[1] for p in parts])
tensors = [(gg, lambda hf=hf: tensor(hf)) for hf, gg in names.items()]
if moe:
    tensors += [(f'blk.{i}.ffn_{proj}_exps.weight', lambda i=i, proj=proj: stacked(i, proj)) for i in range(L) for proj in ('gate', 'up', 'down')]
for gg, load in tensors:
    bits, floats = load()
    # the router stays F32, as llama.cpp's own converter keeps it
    if bits.ndim == 1 or qtype == 'f32' or gg.endswith('ffn_gate_inp.weight'):
        w.add_tensor(gg, floats)
    elif qtype == 'bf16':
        w.add_tensor(gg, bits, raw_dtype=gguf.GGMLQuantizationType.BF16)
    else:
        qt = gguf.GGMLQuantizationType.Q8_0 if qtype == 'q8_0' else gguf.GGMLQuantizationType.Q4_0
        q = gguf.quants.quantize(floats, qt)
        w.add_tensor(gg, q, raw_shape=q.shape, raw_dtype=qt)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print('wrote', out)
