import numpy as np
import pytest

from timbre_jax.synth.ringbuffer import RingBuffer


def test_samples_come_out_in_order_across_the_wrap():
    ring = RingBuffer(10)
    out = np.empty(4, np.float32)
    for start in range(0, 40, 4):
        ring.write(np.arange(start, start + 4, dtype=np.float32))
        assert ring.read_into(out) == 4
        np.testing.assert_array_equal(out, np.arange(start, start + 4))
    assert ring.underruns == 0


def test_underrun_fills_zeros_and_is_counted():
    ring = RingBuffer(8)
    ring.write(np.ones(3, np.float32))
    out = np.full(5, 7.0, np.float32)
    assert ring.read_into(out) == 3
    np.testing.assert_array_equal(out, [1, 1, 1, 0, 0])
    assert (ring.underruns, ring.missing, ring.available()) == (1, 2, 0)  # 2 zeros played


def test_overflow_is_refused():
    ring = RingBuffer(4)
    ring.write(np.ones(3, np.float32))
    with pytest.raises(OverflowError):
        ring.write(np.ones(2, np.float32))
