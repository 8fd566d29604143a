"""Fold-batched training (train/foldbatch.py) against the per-fold reference: one model per fold,
``torch.optim.Adam`` and ``train.step.train_step`` on the same batches.

Exactness is checked in float64: there the two agree to ~1e-14. In float32 the weights are not
compared element by element: rounding noise of ~1e-9 in a gradient that cancels to ~1e-8 (the
size of Adam's eps) moves Adam's first steps by up to ~lr/2, in one implementation as in another.
The float32 check is the contract that matters to a run, the probabilities (1e-4).
"""

import math
import warnings
from contextlib import contextmanager

import pytest
import torch

from mpt_core.model import VARIANTS, ModelSettings, build_model, trainable_state_dict
from train.foldbatch import (FoldAdam, FoldBatchError, StackedFolds, fold_module_names, pad_stack, predict_folds,
                             supports_fold_batch, train_step_folds)
from train.step import predict, train_step

BATCHED = [v for v in VARIANTS if v not in ("full-ft", "no-pretrain")]
SIZES = (7, 4, 2)  # train clips per fold; batch 3 -> 3, 2 and 1 steps per epoch
B, LR, EPOCHS, SEED = 3, 3e-3, 2, 10


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: on a busy 2-core machine, intra-op threads cost more than they give."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def _settings(variant):
    return ModelSettings(variant=variant, backbone="vit_tiny_patch16_224", depth=2, img_size=32, frames=4,
                         num_classes=3, embed_channels=16)


def _model(settings, seed):
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="no weights file given")
        return build_model(settings)


def _data(n, seed):
    g = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    motion = torch.randint(0, 256, (n, 4, 3, 32, 32), dtype=torch.uint8, generator=g)
    return image, motion, torch.randint(0, 3, (n,), generator=g)


def _fold_batches(sizes, epochs, seed=0):
    """Per fold: its list of (image, motion, label) batches over all epochs, each epoch shuffled."""
    out = []
    for f, n in enumerate(sizes):
        image, motion, label = _data(n, seed + f)
        g = torch.Generator().manual_seed(100 + f)
        batches = []
        for _ in range(epochs):
            order = torch.randperm(n, generator=g)
            batches += [[t[order[a:a + B]] for t in (image, motion, label)] for a in range(0, n, B)]
        out.append(batches)
    return out


def _batched_step(stacked, opt, step_batches, **kw):
    """step_batches[f]: fold f's batch at this step or None."""
    parts = list(zip(*[b if b is not None else (None, None, None) for b in step_batches]))
    image, motion, label = (pad_stack(p, B) for p in parts)
    counts = [0 if b is None else len(b[2]) for b in step_batches]
    return train_step_folds(stacked, opt, image, motion, label, counts, **kw)


def _epoch_steps(fold_batches, epochs):
    """Steps in the fold-batched order: per epoch, step j holds batch j of each fold that has one."""
    per_epoch = [len(b) // epochs for b in fold_batches]
    for e in range(epochs):
        for j in range(max(per_epoch)):
            yield [b[e * k + j] if j < k else None for b, k in zip(fold_batches, per_epoch)]


def _close(a: dict, b: dict, atol):
    assert list(a) == list(b)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=atol, rtol=0), (k, (a[k] - b[k]).abs().max().item())


@contextmanager
def default_dtype(dtype):
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)  # models are built in it, and Adam's step counts
    try:
        yield dtype
    finally:
        torch.set_default_dtype(saved)


@pytest.fixture(params=[torch.float64, torch.float32], ids=["float64", "float32"])
def dtype(request):
    with default_dtype(request.param):
        yield request.param


@pytest.mark.parametrize("variant", BATCHED)
def test_fold_batched_training_matches_per_fold_training(variant, dtype):
    exact = dtype == torch.float64
    settings = _settings(variant)
    seeds = [SEED + f for f in range(len(SIZES))]
    models = [_model(settings, s) for s in seeds]
    opts = [torch.optim.Adam([p for p in m.parameters() if p.requires_grad], lr=LR) for m in models]
    stacked = StackedFolds.build(settings, seeds=seeds)
    opt = FoldAdam(stacked.parameters(), lr=LR)
    initial = [stacked.fold_state_dict(f) for f in range(len(SIZES))]
    for f, m in enumerate(models):  # same construction -> the very same initial weights
        _close(initial[f], trainable_state_dict(m), atol=0)

    batches = _fold_batches(SIZES, EPOCHS)
    sat_out = 0
    for step in _epoch_steps(batches, EPOCHS):
        before = [(stacked.fold_state_dict(f), opt.fold_optimizer_state(f)) for f in range(len(SIZES))]
        losses = _batched_step(stacked, opt, step)
        for f, b in enumerate(step):
            if b is None:  # no batch: weights, moments and step count untouched
                sat_out += 1
                _close(stacked.fold_state_dict(f), before[f][0], atol=0)
                after = opt.fold_optimizer_state(f)["state"]
                for i, s in before[f][1]["state"].items():
                    assert after[i]["step"] == s["step"]
                    assert torch.equal(after[i]["exp_avg"], s["exp_avg"])
                    assert torch.equal(after[i]["exp_avg_sq"], s["exp_avg_sq"])
                assert losses[f] == 0
            else:
                ref = train_step(models[f], opts[f], *b)
                assert abs(losses[f].item() - ref.item()) < 1e-5  # the loss is float32 in both
    assert sat_out == 6  # per epoch: fold 1 misses step 3, fold 2 steps 2 and 3

    probe_image, probe_motion, _ = _data(5, 99)
    rows = [5, 3, 4]  # ragged evaluation batches too
    probs = predict_folds(stacked, pad_stack([probe_image[:r] for r in rows], 5),
                          pad_stack([probe_motion[:r] for r in rows], 5))
    assert probs.dtype == torch.float32
    for f, m in enumerate(models):
        w = stacked.fold_state_dict(f)
        assert any(not torch.equal(w[k], initial[f][k]) for k in w)  # it did train
        ref = predict(m, probe_image[:rows[f]], probe_motion[:rows[f]])
        assert torch.allclose(probs[f, :rows[f]], ref, atol=1e-6 if exact else 1e-4, rtol=0)
        if exact:
            _close(w, trainable_state_dict(m), atol=1e-10)
        state, ref_state = opt.fold_optimizer_state(f), opts[f].state_dict()
        assert state["param_groups"] == ref_state["param_groups"]
        assert state["state"].keys() == ref_state["state"].keys()
        for i, s in ref_state["state"].items():
            assert s["step"].dtype == state["state"][i]["step"].dtype
            assert state["state"][i]["step"].item() == s["step"].item() == math.ceil(SIZES[f] / B) * EPOCHS
            if exact:
                assert torch.allclose(state["state"][i]["exp_avg"], s["exp_avg"], atol=1e-10, rtol=0)
                assert torch.allclose(state["state"][i]["exp_avg_sq"], s["exp_avg_sq"], atol=1e-12, rtol=1e-8)


def _continue_per_fold(settings, seed, weights, opt_state, batches):
    model = _model(settings, seed + 1000)  # other trainable init: loading must overwrite it
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert not unexpected and not set(weights) & set(missing)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=LR)
    opt.load_state_dict(opt_state)
    for b in batches:
        train_step(model, opt, *b)
    return model, opt


def test_fold_state_round_trips_through_the_per_fold_formats():
    with default_dtype(torch.float64):  # exact: see the module docstring
        _round_trip()


def _round_trip():
    settings = _settings("mpt")
    seeds = [SEED, SEED + 1, SEED + 2]
    batches = _fold_batches(SIZES, 2, seed=5)
    first, more = batches[0][:3], batches[0][3:]
    stacked = StackedFolds.build(settings, seeds=seeds)
    opt = FoldAdam(stacked.parameters(), lr=LR)
    for b in first:
        _batched_step(stacked, opt, [b, None, None])

    # export fold 0 -> a fresh per-fold model + torch Adam; both go on training the same batches
    model, torch_opt = _continue_per_fold(settings, SEED, stacked.fold_state_dict(0), opt.fold_optimizer_state(0),
                                          more)
    for b in more:
        _batched_step(stacked, opt, [b, None, None])
    _close(stacked.fold_state_dict(0), trainable_state_dict(model), atol=1e-10)

    # import: the per-fold model's state into fold 2 of the stacked folds (never trained there)
    opt.load_fold_optimizer_state(2, torch_opt.state_dict())
    stacked.load_fold_state(2, trainable_state_dict(model))
    extra = batches[1][:2]
    for b in extra:
        _batched_step(stacked, opt, [None, None, b])
        train_step(model, torch_opt, *b)
    _close(stacked.fold_state_dict(2), trainable_state_dict(model), atol=1e-10)
    assert opt.fold_optimizer_state(2)["state"][0]["step"].item() == len(first) + len(more) + len(extra)
    assert opt.fold_optimizer_state(1)["state"] == {}  # fold 1 never stepped, as a fresh torch Adam

    # the saved-checkpoint view of a fold is that fold's weights
    _close(trainable_state_dict(stacked.fold_model(2)), trainable_state_dict(model), atol=1e-10)


def test_a_non_finite_loss_updates_no_fold():
    settings = _settings("head-only")
    stacked = StackedFolds.build(settings, seeds=[0, 1])
    opt = FoldAdam(stacked.parameters(), lr=LR)
    with torch.no_grad():
        stacked.params["head.bias"][1, 0] = float("nan")
    before = [stacked.fold_state_dict(f) for f in range(2)]
    image, motion, label = _data(4, 0)
    losses = train_step_folds(stacked, opt, image.view(2, 2, *image.shape[1:]), motion.view(2, 2, *motion.shape[1:]),
                              label.view(2, 2), [2, 2])
    assert math.isfinite(losses[0].item()) and math.isnan(losses[1].item())
    for f in range(2):
        assert all(torch.equal(v, before[f][k]) for k, v in stacked.fold_state_dict(f).items() if k != "head.bias")
    assert opt.steps == [0, 0]


def test_bf16_autocast_trains_fp32_weights_close_to_fp32():
    settings = _settings("mpt")
    image, motion, label = _data(6, 3)
    args = (image.view(2, 3, *image.shape[1:]), motion.view(2, 3, *motion.shape[1:]), label.view(2, 3), [3, 2])
    runs = {}
    for dtype in (None, torch.bfloat16):
        stacked = StackedFolds.build(settings, seeds=[0, 1])
        opt = FoldAdam(stacked.parameters(), lr=LR)
        losses = train_step_folds(stacked, opt, *args, autocast_dtype=dtype)
        assert losses.dtype == torch.float32 and torch.isfinite(losses).all()
        assert all(p.dtype == torch.float32 for p in stacked.parameters())
        assert opt.exp_avg.dtype == torch.float32
        runs[dtype] = predict_folds(stacked, *args[:2], autocast_dtype=dtype)
    assert runs[torch.bfloat16].dtype == torch.float32
    assert torch.allclose(runs[None], runs[torch.bfloat16], atol=0.05)


def test_variants_that_train_the_backbone_are_refused():
    for variant in VARIANTS:
        # the two variants whose backbone learns have nothing frozen to share
        assert supports_fold_batch(variant) == (variant not in ("full-ft", "no-pretrain"))
    with pytest.raises(FoldBatchError, match="full-ft"):
        StackedFolds.build(_settings("full-ft"), seeds=[0, 1])


def test_mismatched_states_are_refused():
    settings = _settings("head-only")
    stacked = StackedFolds.build(settings, seeds=[0, 1])
    opt = FoldAdam(stacked.parameters(), lr=LR)
    other = torch.optim.Adam([p for p in _model(settings, 0).parameters() if p.requires_grad], lr=LR * 2)
    with pytest.raises(FoldBatchError, match="lr"):
        opt.load_fold_optimizer_state(0, other.state_dict())
    with pytest.raises(FoldBatchError, match="missing"):
        stacked.load_fold_state(0, {"head.weight": torch.zeros(3, 192)})
    a, b = _model(settings, 0), _model(_settings("head-only"), 0)
    with torch.no_grad():
        next(p for p in b.parameters() if not p.requires_grad).add_(1)
    with pytest.raises(FoldBatchError, match="frozen backbones differ"):
        StackedFolds.from_models([a, b])


def test_only_the_trainable_modules_run_per_fold():
    model = _model(_settings("vpt-deep"), 0)
    # METHOD.md 2: input prompts, an adapter after every block, VPT-deep tokens before block 1, the head
    names = ["vit.blocks.0.adapter", "vit.blocks.1.adapter", "vit.blocks.1.prompt", "prompts", "head"]
    assert sorted(fold_module_names(model)) == sorted(names)
    stacked = pad_stack([torch.ones(2, 3), None, torch.ones(1, 3)], 3)  # (F, rows, 3)
    assert stacked.shape == (3, 3, 3) and stacked.sum().item() == 9 and stacked[0, 2].abs().sum() == 0
    with pytest.raises(FoldBatchError, match="more than the batch"):
        pad_stack([torch.ones(4, 3)], 3)
