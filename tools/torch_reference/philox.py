"""detnn's Philox4x32-10 streams in NumPy (runtime/philox.h, DESIGN §4), for the dropout masks
the whole-model references must apply: the mask is part of the model's function, so PyTorch
has to drop exactly the elements detnn drops."""
import numpy as np

_MUL0, _MUL1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_WEYL0, _WEYL1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = np.uint64(0xFFFFFFFF)
PURPOSE_DROPOUT = 5


def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """The raw bijection on arrays of counters (uint64 arrays holding 32-bit words)."""
    c = [np.asarray(x, dtype=np.uint64) & _MASK32 for x in (c0, c1, c2, c3)]
    for r in range(10):
        rk0 = np.uint64((k0 + r * _WEYL0) & 0xFFFFFFFF)
        rk1 = np.uint64((k1 + r * _WEYL1) & 0xFFFFFFFF)
        p0 = _MUL0 * c[0]
        p1 = _MUL1 * c[2]
        hi0, lo0 = p0 >> np.uint64(32), p0 & _MASK32
        hi1, lo1 = p1 >> np.uint64(32), p1 & _MASK32
        c = [hi1 ^ c[1] ^ rk0, lo1, hi0 ^ c[3] ^ rk1, lo0]
    return c


def stream_key(seed, purpose):
    w = philox4x32_10(purpose, 0x6465746E, 0, 0, seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF)
    return int(w[0]), int(w[1])


def stable_name_hash(name):
    """FNV-1a 32-bit, as runtime/philox.h hashes layer paths."""
    h = 2166136261
    for byte in name.encode():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


def uniform(key, index, a, b):
    """random_uniform for an array of element indices: (bits >> 8) * 2^-24, exact in float64."""
    index = np.asarray(index, dtype=np.uint64)
    block = index >> np.uint64(2)
    words = philox4x32_10(block & _MASK32, block >> np.uint64(32), a, b, *key)
    word = np.choose((index & np.uint64(3)).astype(np.int64), words)
    return (word >> np.uint64(8)).astype(np.float64) * 2.0**-24


def dropout_keep(seed, step, layer_name, batch, sample_size, p):
    """The keep mask [batch, sample_size] of a dropout layer at a training step (0-based), for the
    samples at global batch positions 0..batch-1: element e of sample s keeps when u >= p."""
    key = stream_key(seed, PURPOSE_DROPOUT)
    index = np.arange(batch * sample_size, dtype=np.uint64)
    u = uniform(key, index, step, stable_name_hash(layer_name))
    return (u >= np.float32(p)).reshape(batch, sample_size)
