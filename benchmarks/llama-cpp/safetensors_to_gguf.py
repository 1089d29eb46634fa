# Writes a Qwen2 safetensors directory with BF16 weights and tied embeddings (the bundled model, or one written
# by `xllm synth`) as GGUF in F32, BF16, Q8_0 or Q4_0 (every 2-D weight), taking the tokenizer metadata from a
# GGUF of the same tokenizer; for running llama.cpp on the same weights as xllm.
#
#   python3 safetensors_to_gguf.py SRC_DIR TOKENIZER.gguf OUT.gguf f32|bf16|q8_0|q4_0
#
# Needs numpy and llama.cpp's gguf-py (GGUF_PY=path/to/llama.cpp/gguf-py).
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
    h, raw, base = header[name]
    a, b = h['data_offsets']
    assert h['dtype'] == 'BF16', h['dtype']
    return np.frombuffer(raw[base + a: base + b], dtype=np.uint16).reshape(h['shape'])
def f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)
reader = gguf.GGUFReader(ref)
w = gguf.GGUFWriter(out, 'qwen2')
for f in reader.fields.values():
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
ftype = {'f32': gguf.LlamaFileType.ALL_F32, 'bf16': gguf.LlamaFileType.MOSTLY_BF16, 'q8_0': gguf.LlamaFileType.MOSTLY_Q8_0, 'q4_0': gguf.LlamaFileType.MOSTLY_Q4_0}[qtype]
w.add_file_type(ftype)
names = {'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight'}
for i in range(L):
    p = f'model.layers.{i}.'
    for hf, gg in [('self_attn.q_proj', 'attn_q'), ('self_attn.k_proj', 'attn_k'), ('self_attn.v_proj', 'attn_v'),
                   ('self_attn.o_proj', 'attn_output'), ('mlp.gate_proj', 'ffn_gate'), ('mlp.up_proj', 'ffn_up'),
                   ('mlp.down_proj', 'ffn_down')]:
        names[p + hf + '.weight'] = f'blk.{i}.{gg}.weight'
        if p + hf + '.bias' in header:
            names[p + hf + '.bias'] = f'blk.{i}.{gg}.bias'
    names[p + 'input_layernorm.weight'] = f'blk.{i}.attn_norm.weight'
    names[p + 'post_attention_layernorm.weight'] = f'blk.{i}.ffn_norm.weight'
for hf, gg in names.items():
    bits = tensor(hf)
    if bits.ndim == 1 or qtype == 'f32':
        w.add_tensor(gg, f32(bits))
    elif qtype == 'bf16':
        w.add_tensor(gg, bits, raw_dtype=gguf.GGMLQuantizationType.BF16)
    else:
        qt = gguf.GGMLQuantizationType.Q8_0 if qtype == 'q8_0' else gguf.GGMLQuantizationType.Q4_0
        q = gguf.quants.quantize(f32(bits), qt)
        w.add_tensor(gg, q, raw_shape=q.shape, raw_dtype=qt)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print('wrote', out)
