#!/usr/bin/python3
"""Generate the safetensors fixtures used by test/io (run with Debian's /usr/bin/python3).

The files are written byte by byte by a tiny writer below that follows the safetensors
format description (8-byte little-endian header length, JSON header, raw little-endian
data buffer), because Debian ships no `safetensors` Python package. torch is used only to
compute the expected float32 values of F16/BF16 bit patterns and the reference F16/BF16
rounding of float32 inputs. Output is deterministic: run it twice, get identical bytes.

    /usr/bin/python3 scripts/gen_safetensors_fixtures.py
"""

import json
import math
import os
import struct

import torch

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "io")


# ---------------------------------------------------------------- writer


def encode_header(header, extra_spaces):
    """Compact JSON header, padded with spaces so 8 + len is a multiple of 8, plus extra_spaces."""
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    pad = (8 - len(text) % 8) % 8
    return text + b" " * (pad + extra_spaces)


def write_safetensors(path, entries, metadata=None, extra_spaces=0):
    """entries: list of (name, dtype_tag, shape, raw_bytes); data laid out in list order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    chunks = []
    for name, tag, shape, raw in entries:
        header[name] = {"dtype": tag, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    head = encode_header(header, extra_spaces)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in chunks:
            f.write(raw)


# ---------------------------------------------------------------- value helpers


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f64_bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def describe(x):
    """JSON-safe rendering of a float: specials become strings."""
    if isinstance(x, bool):
        return int(x)
    if isinstance(x, int):
        return x
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0 and math.copysign(1.0, x) < 0:
        return "-0"
    return x


def to_signed16(bits):
    return bits - 0x10000 if bits >= 0x8000 else bits


def to_signed32(bits):
    return bits - 0x100000000 if bits >= 0x80000000 else bits


def half_bits_to_f32_bits(bits_list, dtype):
    """Expected float32 bit patterns of 16-bit float bit patterns, computed by torch."""
    t = torch.tensor([to_signed16(b) for b in bits_list], dtype=torch.int16).view(dtype)
    return [b & 0xFFFFFFFF for b in t.float().view(torch.int32).tolist()]


def f32_bits_to_half_bits(bits_list, dtype):
    """Reference float32 -> F16/BF16 rounding (bit patterns), computed by torch."""
    t = torch.tensor([to_signed32(b) for b in bits_list], dtype=torch.int32).view(torch.float32)
    return [b & 0xFFFF for b in t.to(dtype).view(torch.int16).tolist()]


def u32_to_float(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


# ---------------------------------------------------------------- fixture contents

F32_VALUES = [0.0, -0.0, 1.5, -3.25, math.inf, -math.inf, math.nan, u32_to_float(1), u32_to_float(0x7F7FFFFF)]
F16_BITS = [0x0000, 0x8000, 0x0001, 0x03FF, 0x0400, 0x3C00, 0xC000, 0x7BFF, 0x7C00, 0xFC00, 0x7E00, 0x2E66]
BF16_BITS = [0x0000, 0x8000, 0x0001, 0x007F, 0x0080, 0x3F80, 0xC000, 0x7F7F, 0x7F80, 0xFF80, 0x7FC0, 0x3DCD]
F64_VALUES = [1.0 / 3.0, -0.0, 1e308, 5e-324, math.inf, math.nan]
I64_VALUES = [0, -1, 2147483647, -2147483648, 123456789]
I32_VALUES = [0, -1, 2147483647, -2147483648]
I16_VALUES = [-32768, 32767, -1]
I8_VALUES = [-128, 127, 0]
U8_VALUES = [0, 255, 7]
BOOL_VALUES = [True, False, True]


def build_entries():
    """(name, tag, shape, raw, expected) for every fixture tensor."""
    out = []

    def add(name, tag, shape, raw, values, bits=None):
        exp = {"dtype": tag, "shape": shape, "values": [describe(v) for v in values]}
        if bits is not None:
            exp["bits"] = bits
        out.append((name, tag, shape, raw, exp))

    add(
        "f32_special",
        "F32",
        [9],
        struct.pack("<9f", *F32_VALUES),
        F32_VALUES,
        ["0x%08x" % f32_bits(v) for v in F32_VALUES],
    )
    f16_expected = half_bits_to_f32_bits(F16_BITS, torch.float16)
    # Independent cross-check of torch against Python's own IEEE half decoder.
    for b, e in zip(F16_BITS, f16_expected):
        ref = struct.unpack("<e", struct.pack("<H", b))[0]
        got = u32_to_float(e)
        assert (math.isnan(ref) and math.isnan(got)) or f32_bits(ref) == e, (hex(b), ref, got)
    add(
        "f16_special",
        "F16",
        [3, 4],
        struct.pack("<12H", *F16_BITS),
        [u32_to_float(e) for e in f16_expected],
        ["0x%08x" % e for e in f16_expected],
    )
    bf16_expected = half_bits_to_f32_bits(BF16_BITS, torch.bfloat16)
    for b, e in zip(BF16_BITS, bf16_expected):
        assert e == b << 16, (hex(b), hex(e))
    add(
        "bf16_special",
        "BF16",
        [12],
        struct.pack("<12H", *BF16_BITS),
        [u32_to_float(e) for e in bf16_expected],
        ["0x%08x" % e for e in bf16_expected],
    )
    add(
        "f64",
        "F64",
        [2, 3],
        struct.pack("<6d", *F64_VALUES),
        F64_VALUES,
        ["0x%016x" % f64_bits(v) for v in F64_VALUES],
    )
    add("i64", "I64", [5], struct.pack("<5q", *I64_VALUES), I64_VALUES)
    add("i32", "I32", [2, 2], struct.pack("<4i", *I32_VALUES), I32_VALUES)
    add("i16", "I16", [3], struct.pack("<3h", *I16_VALUES), I16_VALUES)
    add("i8", "I8", [3], struct.pack("<3b", *I8_VALUES), I8_VALUES)
    add("u8", "U8", [3], struct.pack("<3B", *U8_VALUES), U8_VALUES)
    add("bool", "BOOL", [3], struct.pack("<3?", *BOOL_VALUES), BOOL_VALUES)
    add("scalar_f32", "F32", [], struct.pack("<f", 2.5), [2.5], ["0x%08x" % f32_bits(2.5)])
    add("empty_f32", "F32", [0, 3], b"", [], [])
    return out


def rounding_inputs():
    """float32 bit patterns that probe F16/BF16 rounding: hand-picked edges plus a fixed sweep."""
    edges = [
        1.0,
        65504.0,
        65519.99,
        65520.0,
        1e5,
        1.0 + 2.0**-11,
        1.0 + 3 * 2.0**-11,
        2.0**-25,
        2.0**-25 * 1.0000001,
        3 * 2.0**-25,
        2.0**-14 * (1 - 2.0**-12),
        -0.0,
        0.1,
        1.0 / 3.0,
        -1.0 / 3.0,
        1.0 + 2.0**-8,
        1.0 + 3 * 2.0**-8,
        3.0e38,
    ]
    bits = [f32_bits(x) for x in edges]
    bits += [1, 0x7F7FFFFF, 0xFF7FFFFF, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00001, 0x7F800001]
    # Fixed linear congruential sweep over all bit patterns (deterministic, no RNG state).
    x = 12345
    for _ in range(1500):
        x = (x * 1103515245 + 12345) % (1 << 32)
        bits.append(x)
        # Also a value near the F16 range so the F16 normal/subnormal paths get dense coverage.
        bits.append((x & 0x807FFFFF) | ((x % 48 + 96) << 23))
    return bits


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    entries = build_entries()
    metadata = {"format": "pt", "generator": "gen_safetensors_fixtures.py"}
    raw_entries = [(n, t, s, r) for n, t, s, r, _ in entries]
    write_safetensors(os.path.join(OUT_DIR, "dtypes.safetensors"), raw_entries, metadata)
    # Same tensors, but the header is one byte longer so every tensor starts at an odd offset.
    write_safetensors(os.path.join(OUT_DIR, "dtypes-unaligned.safetensors"), raw_entries, metadata, 1)
    write_safetensors(
        os.path.join(OUT_DIR, "i64-overflow.safetensors"),
        [("big", "I64", [3], struct.pack("<3q", 1, 2147483648, 0))],
    )
    expected = {
        "generator": "scripts/gen_safetensors_fixtures.py",
        "torch_version": torch.__version__,
        "metadata": metadata,
        "tensors": {n: e for n, _, _, _, e in entries},
    }
    with open(os.path.join(OUT_DIR, "dtypes.expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")

    inputs = rounding_inputs()
    rounding = {
        "generator": "scripts/gen_safetensors_fixtures.py",
        "torch_version": torch.__version__,
        "note": "float32 bit patterns and torch's F16/BF16 conversions of them (round to nearest even)",
        "f32": ["0x%08x" % b for b in inputs],
        "f16": ["0x%04x" % b for b in f32_bits_to_half_bits(inputs, torch.float16)],
        "bf16": ["0x%04x" % b for b in f32_bits_to_half_bits(inputs, torch.bfloat16)],
    }
    with open(os.path.join(OUT_DIR, "f32-rounding.json"), "w") as f:
        json.dump(rounding, f)
        f.write("\n")


if __name__ == "__main__":
    main()
