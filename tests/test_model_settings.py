"""ModelSettings validation and the GaussianTokenizer (METHOD.md 2.1)."""

import math

import pytest
import torch

from mpt_core.model import GaussianTokenizer, ModelSettings, SettingsError, VARIANTS


def test_settings_round_trip_and_defaults():
    s = ModelSettings()
    assert (s.variant, s.backbone, s.num_classes, s.prompts, s.reduction, s.frames) == ("mpt", "vit_base_patch16_224", 5, 5, 8, 16)
    assert (s.embed_channels, s.img_size, s.depth) == (128, 224, None)
    t = ModelSettings(variant="vpt-deep", num_classes=3, depth=2)
    assert ModelSettings.from_dict(t.to_dict()) == t
    with pytest.raises(Exception):
        t.num_classes = 4  # frozen


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"colour": 1}, "unknown model setting.*colour"),
        ({"num_classes": "5"}, "num_classes"),
        ({"prompts": True}, "prompts"),
        ({"reduction": 0}, "reduction"),
        ({"depth": 1.5}, "depth"),
        ({"variant": "lora"}, "unknown variant"),
        ({"frames": 1}, "frames"),
    ],
)
def test_settings_from_dict_rejects(bad, match):
    with pytest.raises(SettingsError, match=match):
        ModelSettings.from_dict({**ModelSettings().to_dict(), **bad})


def test_variant_names():
    assert set(VARIANTS) == {"mpt", "prompt-only", "adapter-only", "head-only", "full-ft", "no-pretrain",
                             "vpt-shallow", "vpt-deep", "primitive-adapter"}


def test_tokenizer_parameter_count_matches_method():
    tok = GaussianTokenizer(dim=768, num_tokens=5, channels=128, patch_size=16)
    conv = 3 * 128 * 16 * 16 + 128
    mu_sigma = 2 * (128 * 5 + 5)
    proj = 128 * 768 + 768
    assert sum(p.numel() for p in tok.parameters()) == conv + mu_sigma + proj == 198_794


def test_tokenizer_weights_means_and_shape():
    torch.manual_seed(0)
    B, T, K, D = 3, 16, 5, 64
    tok = GaussianTokenizer(dim=D, num_tokens=K, channels=32, patch_size=16)
    frames = torch.randn(B, T, 3, 32, 32)
    out = tok(frames)
    assert out.shape == (B, K, D)

    f = tok.embed_frames(frames)
    assert f.shape == (B, T, 32)
    w, mu, sigma = tok.gaussian_weights(f)
    assert w.shape == (B, K, T)
    torch.testing.assert_close(w.sum(-1), torch.ones(B, K))
    assert (mu >= 0).all() and (mu <= T - 1).all() and (sigma >= 0.5).all()

    # the closed form of eqs. 8-12, written out directly
    g = torch.stack([f[:, t] for t in range(T)]).mean(0)
    mu_ref = (T - 1) / (1 + torch.exp(-(g @ tok.mu.weight.T + tok.mu.bias)))
    sig_ref = torch.log1p(torch.exp(g @ tok.sigma.weight.T + tok.sigma.bias)) + 0.5
    tokens = torch.empty(B, K, D)
    for b in range(B):
        for k in range(K):
            e = [math.exp(-(t - mu_ref[b, k].item()) ** 2 / (2 * sig_ref[b, k].item() ** 2)) for t in range(T)]
            pooled = sum(e[t] / sum(e) * f[b, t] for t in range(T))
            tokens[b, k] = pooled @ tok.proj.weight.T + tok.proj.bias
    torch.testing.assert_close(mu, mu_ref)
    torch.testing.assert_close(out, tokens, rtol=1e-4, atol=1e-5)


def test_tokenizer_means_saturate_inside_the_clip():
    T = 8
    tok = GaussianTokenizer(dim=16, num_tokens=2, channels=8, patch_size=16)
    with torch.no_grad():
        tok.mu.bias.copy_(torch.tensor([1e4, -1e4]))
        tok.sigma.bias.fill_(-1e4)  # narrowest Gaussians: sigma = 0.5
    w, mu, sigma = tok.gaussian_weights(torch.randn(2, T, 8))
    torch.testing.assert_close(mu, torch.tensor([[T - 1.0, 0.0]] * 2))
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 2))
    assert (w[:, 0, -1] > 0.8).all() and (w[:, 1, 0] > 0.8).all()
