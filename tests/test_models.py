import jax
import jax.numpy as jnp
import numpy as np
import pytest

from timbre_jax.errors import ParameterError
from timbre_jax.model.autoencoder import HIDDEN_WIDTHS, N_BINS, Autoencoder, validate_model_fields

FRAMES = jnp.asarray(np.random.default_rng(0).uniform(0, 1, (5, N_BINS)), jnp.float32)
CHROMA = jnp.eye(12)[jnp.arange(5)]


def init(model):
    return model.init(jax.random.key(0), FRAMES, CHROMA, FRAMES)["params"]


def shapes(model):
    """The parameters' shapes (as `jax.ShapeDtypeStruct`s), without computing them."""
    return jax.eval_shape(model.init, jax.random.key(0), FRAMES, CHROMA, FRAMES)["params"]


@pytest.mark.parametrize(
    "augment, n_inputs", [("none", N_BINS), ("diff", 2 * N_BINS), ("chroma", N_BINS + 12)]
)
def test_encoder_input_follows_the_augmentation(augment, n_inputs):
    params = shapes(Autoencoder(augment=augment))
    assert params["encoder"]["Dense_0"]["kernel"].shape == (n_inputs, 1024)


@pytest.mark.parametrize("chroma_skip, n_inputs", [(False, 3), (True, 15)])
def test_chroma_skip_feeds_the_decoder(chroma_skip, n_inputs):
    model = Autoencoder(latent_dim=3, chroma_skip=chroma_skip)
    params = init(model)
    assert params["decoder"]["Dense_0"]["kernel"].shape == (n_inputs, 16)
    z = jnp.full((2, 3), 0.5)
    c_note = model.apply({"params": params}, z, CHROMA[:1].repeat(2, 0), method="decode")
    d_note = model.apply({"params": params}, z, CHROMA[2:3].repeat(2, 0), method="decode")
    assert np.allclose(c_note, d_note) != chroma_skip  # the note changes the sound only with skip


def test_widths_halve_from_1024_to_16_and_mirror():
    params = shapes(Autoencoder(latent_dim=8))
    enc = [params["encoder"][f"Dense_{i}"]["kernel"].shape[1] for i in range(7)]
    dec = [params["decoder"][f"Dense_{i}"]["kernel"].shape[1] for i in range(7)]
    assert tuple(enc) == HIDDEN_WIDTHS and tuple(dec) == HIDDEN_WIDTHS[::-1]
    assert params["encoder"]["bottleneck"]["kernel"].shape == (16, 8)
    assert params["decoder"]["output"]["kernel"].shape == (1024, N_BINS)


def test_activations():
    for bottleneck in ("sigmoid", "leaky_relu"):
        model = Autoencoder(bottleneck=bottleneck)
        params = init(model)
        recon, z, kl = model.apply({"params": params}, FRAMES * 50, CHROMA, FRAMES)
        assert recon.shape == FRAMES.shape and np.all(np.asarray(recon) >= 0)  # ReLU output
        assert np.all(np.asarray(kl) == 0)
        if bottleneck == "sigmoid":
            assert np.all((np.asarray(z) > 0) & (np.asarray(z) < 1))
    relu_out = Autoencoder(bottleneck="leaky_relu")
    z = relu_out.apply({"params": init(relu_out)}, -FRAMES * 1e3, CHROMA, method="encode")
    assert z.shape == (5, 2)


def test_encode_and_decode_compose_to_the_call():
    model = Autoencoder()
    params = init(model)
    z = model.apply({"params": params}, FRAMES, CHROMA, method="encode")
    recon = model.apply({"params": params}, z, CHROMA, method="decode")
    np.testing.assert_allclose(recon, model.apply({"params": params}, FRAMES, CHROMA)[0], rtol=1e-6)
    decode_one = jax.vmap(
        lambda zi, ci: model.apply({"params": params}, zi[None], ci[None], method="decode")[0]
    )
    np.testing.assert_allclose(decode_one(z, CHROMA), recon, rtol=1e-5, atol=1e-7)


def test_vae_samples_with_an_rng_and_reports_kl_per_dimension():
    model = Autoencoder(kind="vae", latent_dim=3)
    params = init(model)
    assert set(params["encoder"]) >= {"mean", "log_variance"}
    _, z_mean, kl = model.apply({"params": params}, FRAMES, CHROMA)
    _, z_sample, _ = model.apply(
        {"params": params}, FRAMES, CHROMA, rngs={"sample": jax.random.key(1)}
    )
    assert kl.shape == (5, 3) and np.all(np.asarray(kl) >= 0)
    assert not np.allclose(z_mean, z_sample)
    np.testing.assert_allclose(
        model.apply({"params": params}, FRAMES, CHROMA, method="encode"), z_mean
    )


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"kind": "gan"}, "model.kind"),
        ({"latent_dim": 0}, "model.latent_dim"),
        ({"bottleneck": "tanh"}, "model.bottleneck"),
        ({"augment": "mfcc"}, "model.augment"),
        ({"conditioning": "octave"}, "model.conditioning"),
    ],
)
def test_invalid_fields_are_named(fields, match):
    good = {"kind": "ae", "latent_dim": 2, "bottleneck": "sigmoid", "augment": "chroma",
            "conditioning": "chroma"}  # fmt: skip
    with pytest.raises(ParameterError, match=match):
        validate_model_fields(**(good | fields))
