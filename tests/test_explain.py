"""`mpt explain`: Grad-CAM, the motion prompts' Gaussians, head features, the CLI.

Tiny random ViT-Ti/16 at 64 px (a 4 x 4 patch grid), CPU. The trained run is the fabricated cache
of test_train_helpers, where each class is a bright square at its own place: the truth the maps
are checked against.
"""

import json
import shutil
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_train_helpers import write_cache
from torch import nn
from typer.testing import CliRunner

from mpt.cli.app import app
from train import explain
from train.explain import gaussian_weights, gradcam, head_features, randomisation_spearman, upsample
from train.explain_plots import clip_figure

SUBJECTS = ("sub01", "sub02")
PER_SUBJECT = 5  # labels 0..4 in each subject: every class once per fold's training set


def tiny_model(**kw):
    from mpt_core.model import ModelSettings, build_model

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="no weights file given")
        return build_model(ModelSettings(backbone="vit_tiny_patch16_224", depth=1, img_size=64, num_classes=5, **kw))


def square_patches(label: int, grid: int = 4, cache_size: int = 32, img: int = 64) -> set[tuple[int, int]]:
    """The patches (row, col) that write_cache's bright square of class ``label`` overlaps."""
    y, x = divmod(label, 3)
    s = img / cache_size
    rows = range(int((4 + 8 * y) * s) // (img // grid), (int((10 + 8 * y) * s) - 1) // (img // grid) + 1)
    cols = range(int((4 + 8 * x) * s) // (img // grid), (int((10 + 8 * x) * s) - 1) // (img // grid) + 1)
    return {(r, c) for r in rows for c in cols}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny LOSO run on the learnable cache, with a final model: (run folder, cache)."""
    from train.loop import run_loso
    from train.settings import TrainSettings
    from mpt_core.model import ModelSettings

    root = tmp_path_factory.mktemp("explain")
    cache = write_cache(root, subjects=SUBJECTS, per_subject=PER_SUBJECT)
    ts = TrainSettings(epochs=6, batch_size=5, lr=1e-2, device="cpu", precision="fp32", flip=False)
    ms = ModelSettings(backbone="vit_tiny_patch16_224", depth=1, img_size=64)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        run = run_loso(cache, train_settings=ts, model_settings=ms, out=root / "run", progress=False, final=True)
    return run, cache


def loso_only(run, tmp_path):
    """A copy of the run without its final model."""
    copy = tmp_path / "loso"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("final.*", "explain"))
    return copy


def clip_tensors(cache, rows):
    from mpt_core.cache import open_cache

    with open_cache(cache) as f:
        rank = torch.from_numpy(f["rank"][sorted(rows)]).permute(0, 3, 1, 2)
        motion = torch.from_numpy(f["motion"][sorted(rows)]).permute(0, 1, 4, 2, 3)
        labels = f["label"][sorted(rows)]
    return rank, motion, labels


# Grad-CAM

class ReadOne(nn.Module):
    """A stand-in for the last timm block: the class token becomes a copy of token ``index``."""

    def __init__(self, index: int):
        super().__init__()
        self.index = index

    def forward(self, x, **kwargs):
        out = x.clone()
        out[:, 0] = x[:, self.index]
        return out


def test_gradcam_peaks_at_the_one_patch_the_logit_reads():
    # Grad-CAM weights channels by the mean gradient and maps w . A per patch, so it can only
    # localise what the features tell apart. Patch j carries feature channel 0, patch k an equally
    # strong channel 1, the rest nothing; the class and prompt tokens carry channel 0 strongly (a
    # map over the wrong tokens would show them); the logit of class 0 reads channel 0 of patch j
    # only. The map must be non-zero at j alone: a gradient-free map (activation norms) would tie
    # j and k, a shifted token slice or a transposed grid would move the peak.
    model = tiny_model()
    vit, P = model.vit, model.num_prefix
    j, k = (1, 2), (2, 0)
    with torch.no_grad():
        vit.pos_embed.zero_()
        vit.cls_token.zero_()
        vit.cls_token[0, 0, 0] = 3.0
        vit.patch_embed.proj.weight.zero_()
        vit.patch_embed.proj.bias.zero_()
        vit.patch_embed.proj.weight[0, 0] = 1 / 256  # channel 0 = mean of normalised red over the patch
        vit.patch_embed.proj.weight[1, 1] = 1 / 256  # channel 1 = mean of normalised green
        model.prompts.proj.weight.zero_()
        model.prompts.proj.bias.zero_()
        model.prompts.proj.bias[0] = 5.0
        model.head.weight.zero_()
        model.head.bias.zero_()
        model.head.weight[0, 0] = 1.0
    vit.blocks[-1].base_block = ReadOne(P + 4 * j[0] + j[1])
    vit.norm = nn.Identity()  # keep the read-out linear (a LayerNorm is scale-invariant)

    image = torch.full((1, 3, 64, 64), 0.5)  # the backbone's mean: zero after normalisation
    image[0, 0, 16 * j[0]:16 * j[0] + 16, 16 * j[1]:16 * j[1] + 16] = 1.0
    image[0, 1, 16 * k[0]:16 * k[0] + 16, 16 * k[1]:16 * k[1] + 16] = 1.0
    motion = torch.rand(1, 16, 3, 64, 64)
    cam, probs = gradcam(model, image, motion)
    assert probs.argmax().item() == 0
    expected = torch.zeros(4, 4)
    expected[j] = 1.0 / 16  # w = e_0 / N, A_j = e_0 (red 1.0 normalises to 1)
    assert torch.allclose(cam[0], expected, atol=1e-6), cam[0]
    assert torch.equal(gradcam(model, image, motion, target=torch.tensor([0]))[0], cam)
    up = upsample(cam, (64, 64))[0]
    y, x = divmod(int(up.argmax()), 64)
    assert 16 * j[0] <= y < 16 * j[0] + 16 and 16 * j[1] <= x < 16 * j[1] + 16


def test_gradcam_of_a_trained_model_lands_on_the_class_square(trained):
    from train.runs import RunFolder
    from mpt_core.model import load_checkpoint

    run, cache = trained
    hits, n = 0, 0
    for rec in RunFolder(run).fold_records():
        model, _ = load_checkpoint(RunFolder(run).fold_weight_files()[rec["subject"]])
        rank, motion, labels = clip_tensors(cache, rec["rows"])
        cam, _ = gradcam(model, rank, motion)
        for m, label in zip(cam, labels):
            r, c = divmod(int(m.argmax()), 4)
            hits += (r, c) in square_patches(int(label))
            n += 1
    assert hits >= 0.8 * n, f"{hits}/{n} maps peak on the square"


def test_model_randomisation_sanity_check(trained, monkeypatch):
    # Adebayo et al. 2018: maps that survive re-initialising the learned weights explain the
    # input, not the model
    from train.runs import RunFolder
    from mpt_core.model import load_checkpoint

    run, cache = trained
    rhos = []
    for rec in RunFolder(run).fold_records():
        model, _ = load_checkpoint(RunFolder(run).fold_weight_files()[rec["subject"]])
        rank, motion, _ = clip_tensors(cache, rec["rows"])
        rhos += randomisation_spearman(model, rank, motion, seed=1).tolist()
    assert len(rhos) == len(SUBJECTS) * PER_SUBJECT and not np.isnan(rhos).any()
    assert np.mean(rhos) < 0.5, rhos
    # ... and the check can fail: a map that ignores the learned weights correlates perfectly
    monkeypatch.setattr(explain, "reinitialised", lambda m, seed: m)
    assert randomisation_spearman(model, rank, motion).mean() > 0.99


# features and Gaussians

def test_head_features_are_what_the_head_receives():
    model = tiny_model()
    image, motion = torch.rand(2, 3, 64, 64), torch.rand(2, 16, 3, 64, 64)
    feats = head_features(model, image, motion)
    assert feats.shape == (2, model.vit.embed_dim)
    with torch.no_grad():
        assert torch.allclose(model.head(feats), model(image, motion), atol=1e-5)
        final = model.forward_features(image, motion)[:, 0]  # the class token after the backbone's norm
    assert torch.allclose(feats, final, atol=1e-6)


def test_drawn_gaussians_equal_method_formulas(tmp_path):
    from mpt_core.compat import import_timm

    model = tiny_model()
    tok = model.prompts
    with torch.no_grad():  # spread the Gaussians: a random init puts every mean near the middle
        tok.mu.weight.mul_(40)
        tok.sigma.weight.mul_(20)
    torch.manual_seed(3)
    motion = torch.randint(0, 256, (1, 16, 3, 64, 64), dtype=torch.uint8)
    mu, sigma, w = gaussian_weights(model, motion)
    cam, probs = gradcam(model, motion[:, 8], motion)
    drawn = clip_figure(tmp_path / "clip.png", rank=motion[0, 8].permute(1, 2, 0).numpy(), cam=cam[0].numpy(),
                        motion=motion[0].permute(0, 2, 3, 1).numpy(), mu=mu[0].numpy(), sigma=sigma[0].numpy(),
                        weights=w[0].numpy(), classes=["a", "b", "c", "d", "e"], label=1, probs=probs[0].numpy(),
                        subject="s1", clip="c1", model_name="test", held_out=True)
    assert (tmp_path / "clip.png").stat().st_size > 10_000

    # METHOD.md 2.1, from the tokenizer's parameters and timm's normalisation
    cfg = import_timm().data.resolve_model_data_config(model.vit)
    frames = (motion[0].double() / 255 - torch.tensor(cfg["mean"]).view(3, 1, 1)) / torch.tensor(cfg["std"]).view(3, 1, 1)
    with torch.no_grad():
        f = F.conv2d(frames, tok.embed.weight.double(), tok.embed.bias.double(), stride=16).mean((2, 3))  # (T, C)
        g = f.mean(0)
        T = f.shape[0]
        mu_ref = (T - 1) * torch.sigmoid(tok.mu.weight.double() @ g + tok.mu.bias.double())
        sigma_ref = F.softplus(tok.sigma.weight.double() @ g + tok.sigma.bias.double()) + 0.5
    t = torch.arange(T, dtype=torch.float64)
    raw = torch.exp(-(t - mu_ref[:, None]) ** 2 / (2 * sigma_ref[:, None] ** 2))
    w_ref = raw / raw.sum(1, keepdim=True)
    assert np.ptp(mu_ref.numpy()) > 2 and sigma_ref.min() < 3  # the check has something to see
    np.testing.assert_allclose(drawn["weights"], w_ref.numpy(), atol=1e-4)
    np.testing.assert_allclose(drawn["mu"], mu_ref.numpy(), atol=1e-3)
    np.testing.assert_allclose(sigma[0].numpy(), sigma_ref.numpy(), rtol=1e-4)


def test_a_variant_without_motion_prompts_is_explained_without_gaussians(tmp_path):
    from train.explain import ExplainError

    with pytest.raises(ExplainError, match="no motion prompts"):
        gaussian_weights(tiny_model(variant="adapter-only"), torch.rand(1, 16, 3, 64, 64))
    # head-only: nothing before the head is trainable, the map still exists
    image = torch.rand(1, 3, 64, 64)
    cam, probs = gradcam(tiny_model(variant="head-only"), image, None)
    assert cam.shape == (1, 4, 4) and (cam >= 0).all() and cam.sum() > 0
    drawn = clip_figure(tmp_path / "c.png", rank=(image[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8),
                        cam=cam[0].numpy(), motion=None, classes=list("abcde"), label=0, probs=probs[0].numpy(),
                        subject="s", clip="c", model_name="m", held_out=True, description="brows: up")
    assert "weights" not in drawn and (tmp_path / "c.png").is_file()


# the command

def invoke(*args):
    return CliRunner().invoke(app, ["explain", *map(str, args)])


def test_cli_on_a_loso_run_writes_every_figure(trained, tmp_path):
    run = loso_only(trained[0], tmp_path)
    res = invoke(run, "--device", "cpu")
    assert res.exit_code == 0, res.stderr
    out = run / "explain"
    for subject in SUBJECTS:
        rec = json.loads((run / "folds" / f"{subject}.json").read_text())
        for clip in rec["clips"]:
            assert (out / subject / f"{clip}.png").stat().st_size > 10_000, clip
    assert len(list(out.rglob("*.png"))) == len(SUBJECTS) * PER_SUBJECT + 2
    for name in ("gradcam_by_class.png", "tsne.png"):
        assert (out / name).stat().st_size > 10_000
        assert str(out / name) in res.stdout
    assert f"({len(SUBJECTS)} panel(s))" in res.stdout  # one t-SNE panel per fold


def test_cli_on_a_run_with_a_final_model_draws_one_tsne_panel(trained, tmp_path):
    run = trained[0]
    out = tmp_path / "ex"
    res = invoke(run, "--clips", "EP00_01,sub02/EP06_01", "--out", out, "--device", "cpu")
    assert res.exit_code == 0, res.stderr
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "gradcam_by_class.png", "sub01/EP00_01.png", "sub02/EP06_01.png", "tsne.png"]
    assert "(1 panel(s))" in res.stdout


def test_cli_errors_are_one_line(trained, tmp_path):
    run = loso_only(trained[0], tmp_path)
    res = invoke(run, "--clips", "EP99_99", "--no-tsne")
    assert res.exit_code == 1 and res.stderr.startswith("error: --clips: no clip named EP99_99")
    res = invoke(run, "--model", "final")
    assert res.exit_code == 1 and "no final.safetensors" in res.stderr
    res = invoke(tmp_path / "nothing")
    assert res.exit_code == 1 and "not a run folder" in res.stderr
    assert not (run / "explain").exists()
