"""Registry entries for the sequence layers: embeddings, recurrent cells and their unrolled
layers, the temporal affine and loss, and scaled dot-product attention.

Configurations carry "T" (steps, from 1 up), so the sequence laws can vary it.
Integer indices and masks are targets (inputs the layer does not differentiate),
drawn by ``properties.sequence_strategies`` with repeated indices and padded
tails on purpose. An unrolled layer names its cell (``cell``), and the laws
check backpropagation through time against the cell stepped over time.
"""
from hypothesis import strategies as st

import layers as L
from properties.registry import Entry, register
from properties.sequence_strategies import index_tensor, padded_mask, sequence_configs, steps

SIZES = st.integers(1, 4)


def recurrent(cls):
    """``make`` for a recurrent layer or cell from a {"D", "H"} config."""
    return lambda config, rng, dtype: cls(config["D"], config["H"], rng=rng, dtype=dtype)


def cell_inputs(n_state):
    """x (N, D) then ``n_state`` states (N, H)."""
    return lambda c, n: [(n, c["D"]), *[(n, c["H"])] * n_state]


def unrolled_inputs(c, n):
    """x (N, T, D) and h0 (N, H)."""
    return [(n, c["T"], c["D"]), (n, c["H"])]


def cell_of(layer):
    return layer.cell()


CELL_CONFIGS = st.fixed_dictionaries({"D": SIZES, "H": SIZES})

register(Entry("Embedding", lambda c, rng, dtype: L.Embedding(c["V"], c["D"], rng=rng, dtype=dtype),
               st.fixed_dictionaries({"T": steps(), "V": st.integers(1, 6), "D": SIZES}),
               input_shapes=lambda c, n: [],
               targets=lambda c, n, rng, dtype: (index_tensor(rng, (n, c["T"]), c["V"]),),
               positionwise=True))
register(Entry("RNNCell", recurrent(L.RNNCell), CELL_CONFIGS, input_shapes=cell_inputs(1)))
register(Entry("RNN", recurrent(L.RNN), sequence_configs(), input_shapes=unrolled_inputs,
               cell=cell_of, causal=True))
register(Entry("LSTMCell", recurrent(L.LSTMCell), CELL_CONFIGS, input_shapes=cell_inputs(2)))
register(Entry("LSTM", recurrent(L.LSTM), sequence_configs(), input_shapes=unrolled_inputs,
               cell=cell_of, causal=True))
register(Entry("GRUCell", recurrent(L.GRUCell), CELL_CONFIGS, input_shapes=cell_inputs(1)))
register(Entry("TemporalDense",
               lambda c, rng, dtype: L.TemporalDense(c["D"], c["H"], rng=rng, dtype=dtype),
               sequence_configs(), input_shapes=lambda c, n: [(n, c["T"], c["D"])],
               positionwise=True))


def labels_and_mask(c, n, rng, dtype):
    """y: (N, T) class indices with repeats; mask: (N, T) with padded tails."""
    return index_tensor(rng, (n, c["T"]), c["V"]), padded_mask(rng, n, c["T"])


register(Entry("TemporalSoftmaxCrossEntropy", lambda c, rng, dtype: L.TemporalSoftmaxCrossEntropy(),
               st.fixed_dictionaries({"T": steps(), "V": st.integers(2, 5)}),
               input_shapes=lambda c, n: [(n, c["T"], c["V"])], targets=labels_and_mask,
               batch_rule="mean", mask_target=1))


def attention(config, rng, dtype):
    return L.ScaledDotProductAttention(causal=config["causal"])


def qkv(c, n):
    """q: (N, T, d); k: (N, S, d); v: (N, S, dv)."""
    return [(n, c["T"], c["d"]), (n, c["S"], c["d"]), (n, c["S"], c["dv"])]


register(Entry("ScaledDotProductAttention", attention,
               st.fixed_dictionaries({"T": steps(), "S": steps(), "d": SIZES, "dv": SIZES,
                                      "causal": st.just(False)}), input_shapes=qkv))
register(Entry("ScaledDotProductAttention.causal", attention,
               st.fixed_dictionaries({"T": steps(), "d": SIZES, "dv": SIZES,
                                      "causal": st.just(True)}),
               input_shapes=lambda c, n: qkv({**c, "S": c["T"]}, n), causal=True))
