# The tables of table.sh from compare.sh's JSON lines: per row the median of the passes of each side, and the
# ratio of the medians.
#
#   python3 table.py RESULTS.jsonl ...
import collections
import json
import statistics
import sys
from pathlib import Path

offline = collections.OrderedDict()  # row -> who -> [result]
serving = collections.defaultdict(list)  # (who, streams) -> [result]
for name in sys.argv[1:]:
    for line in Path(name).read_text().splitlines():
        if not line.startswith('{'):
            continue
        entry = json.loads(line)
        if 'streams' in entry:
            serving[(entry['who'], entry['streams'])].append(entry['r'])
        else:
            offline.setdefault(entry['row'], {}).setdefault(entry['who'], []).append(entry['r'])


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float('nan')


def ratio(a, b):
    return a / b if b else float('nan')


if offline:
    print('| row | xllm prefill | llama.cpp pp512 | ratio | xllm decode b1 | llama.cpp tg128 | ratio | xllm b8 | xllm b32 | passes |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for row, sides in offline.items():
        ours, theirs = sides.get('xllm', []), sides.get('llama.cpp', [])
        prefill, pp = median([r.get('prefill_tok_s') for r in ours]), median([r.get('pp512') for r in theirs])
        decode = {b: median([r.get('decode_tok_s', {}).get(str(b)) for r in ours]) for b in (1, 8, 32)}
        tg = median([r.get('tg128') for r in theirs])
        print(f'| {row} | {prefill:.0f} | {pp:.0f} | {ratio(prefill, pp):.2f}x | {decode[1]:.1f} | {tg:.1f} | '
              f'{ratio(decode[1], tg):.2f}x | {decode[8]:.0f} | {decode[32]:.0f} | {len(ours)} |')
    print()
    print('| row | xllm decode b1 GB/s | bench membw read GB/s | share |')
    print('| --- | --- | --- | --- |')
    for row, sides in offline.items():
        read = median([r.get('read_gbps') for r in sides.get('membw', [])])
        decode = median([r.get('decode_gbps') for r in sides.get('xllm', [])])
        print(f'| {row} | {decode:.1f} | {read:.1f} | {100 * ratio(decode, read):.0f}% |')
    print()
    print('A row whose weights partly stay in the caches (pycoder-22m) can read faster than memory.')
if serving:
    print()
    print('| streams | xllm tok/s | llama-server tok/s | ratio | TTFT ms (xllm / llama) | TPOT ms (xllm / llama) | passes |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for streams in sorted({s for _, s in serving}):
        ours, theirs = serving[('xllm', streams)], serving[('llama-server', streams)]
        field = lambda runs, key: median([r.get(key) for r in runs])
        tok, their_tok = field(ours, 'output_throughput'), field(theirs, 'output_throughput')
        print(f'| {streams} | {tok:.0f} | {their_tok:.0f} | {ratio(tok, their_tok):.2f}x | '
              f'{field(ours, "median_ttft_ms"):.1f} / {field(theirs, "median_ttft_ms"):.1f} | '
              f'{field(ours, "median_tpot_ms"):.2f} / {field(theirs, "median_tpot_ms"):.2f} | {len(ours)} |')
