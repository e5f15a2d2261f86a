"""llama.cpp's throughput on this machine for a packaged model: the quantisation as shipped
(Q4_K_M) beside the same weights requantised to Q4_0 and IQ4_NL (which llama.cpp repacks for
AVX2/AVX-512 at load), and the micro-batch and flash-attention knobs. Prompt tokens are decoded
where a question's go, after a 700-token cached prefix; generation is one token per step.

    python -m evaluation.bench_llama [--model qwen2.5-coder-1.5b] [--out eval/results/latest/speed]

Requantising a Q4_K_M file loses a little more precision than quantising the original weights; a
quantisation is only worth adopting if it is clearly faster, and then it must be evaluated (and the
answerability probe retrained for its weights). Run it with nothing else on the CPU.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from rag.llm.gguf import ensure_gguf
from rag.settings import Settings

QUANTS = {"Q4_0": 2, "IQ4_NL": 25}  # llama.cpp's LLAMA_FTYPE_MOSTLY_*
TEXT = (
    "Korea Utara mengirim rudal dan peluru artileri ke Rusia melalui pelabuhan Najin, "
    "menurut citra satelit dan pejabat intelijen Korea Selatan. "
)


def requantise(source: Path, target: Path, ftype: int) -> float:
    """Write ``source`` requantised to ``ftype`` at ``target``; returns the seconds it took."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype, params.allow_requantize, params.nthread = ftype, True, 2
    started = time.perf_counter()
    if llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), ctypes.byref(params)) != 0:
        raise RuntimeError(f"llama.cpp could not requantise {source}")
    return time.perf_counter() - started


def throughput(path: Path, ubatch: int, flash_attn: bool, rounds: int = 3) -> dict[str, float]:
    """Median prompt and generation tokens/s: 400 prompt tokens after a 700-token prefix, then 24
    single-token steps."""
    import llama_cpp

    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=4096,
        n_threads=2,
        n_threads_batch=2,
        n_batch=512,
        n_ubatch=ubatch,
        flash_attn=flash_attn,
        verbose=False,
    )
    filler = llm.tokenize(TEXT.encode(), add_bos=False)
    tokens = (filler * (1200 // len(filler) + 1))[:1200]
    llm.eval(tokens[:700])
    base = llm.n_tokens
    prompt, generated = [], []
    for _ in range(rounds):
        llm.n_tokens = base
        started = time.perf_counter()
        llm.eval(tokens[700:1100])
        prompt.append(400 / (time.perf_counter() - started))
        started = time.perf_counter()
        for token in tokens[:24]:
            llm.eval([token])
        generated.append(24 / (time.perf_counter() - started))
    llm.close()
    return {
        "prompt_tokens_per_s": round(statistics.median(prompt), 1),
        "generated_tokens_per_s": round(statistics.median(generated), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--out", default="eval/results/latest/speed")
    args = parser.parse_args(argv)
    shipped = ensure_gguf(args.model, Settings().model_cache)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kutip-quant-") as work:
        files = {"Q4_K_M (shipped)": shipped}
        seconds: dict[str, float] = {}
        for name, ftype in QUANTS.items():
            files[name] = Path(work) / f"{name}.gguf"
            seconds[name] = round(requantise(shipped, files[name], ftype), 1)
        for name, path in files.items():
            for ubatch, flash in ((128, True), (32, True), (512, True), (128, False)):
                if name != "Q4_K_M (shipped)" and (ubatch, flash) != (128, True):
                    continue
                row = {"weights": name, "ubatch": ubatch, "flash_attn": flash, **throughput(path, ubatch, flash)}
                row["bytes"], row["requantise_s"] = path.stat().st_size, seconds.get(name)
                rows.append(row)
                print(row, flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"model": args.model, "created": time.strftime("%Y-%m-%d %H:%M:%S"), "rows": rows}
    (out / f"throughput-{args.model}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# llama.cpp throughput, {args.model} (2 threads; `python -m evaluation.bench_llama --model {args.model}`)",
        "",
        "| weights | n_ubatch | flash attention | prompt tok/s | generation tok/s | MB |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['weights']} | {r['ubatch']} | {'on' if r['flash_attn'] else 'off'} | {r['prompt_tokens_per_s']} | "
        f"{r['generated_tokens_per_s']} | {r['bytes'] / 1e6:.0f} |"
        for r in rows
    ]
    (out / f"throughput-{args.model}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
