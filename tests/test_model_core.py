"""MPTModel on a tiny random ViT: identity at init, training, eval mode, variants, inputs."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mpt_core.compat import import_timm
from mpt_core.model import VARIANTS, AdaptedBlock, ModelSettings, build_model, create_backbone, parameter_counts

T, K, CLASSES, SIZE = 4, 3, 3, 32
D, DEPTH, HIDDEN, C = 192, 2, 24, 16  # vit_tiny width, 2 blocks, r = 8, tokenizer channels


def tiny(variant="mpt", **kw):
    return ModelSettings(variant=variant, backbone="vit_tiny_patch16_224", num_classes=CLASSES, prompts=K,
                         frames=T, embed_channels=C, img_size=SIZE, depth=DEPTH, **kw)


def build(variant="mpt", seed=0, **kw):
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_model(tiny(variant, **kw))


def batch(B=2, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, 3, SIZE, SIZE, generator=g), torch.rand(B, T, 3, SIZE, SIZE, generator=g)


def structurally_dead(variant):
    """Adapter branches whose output never reaches the class token: only x[:, 0] after the last
    block feeds the head, so the last block's visual and prompt branches get zero gradients
    (they are part of the method's 5,540,621 parameters all the same)."""
    last = f"vit.blocks.{DEPTH - 1}.adapter."
    if variant in ("mpt", "full-ft", "no-pretrain", "vpt-shallow"):
        return (last + "visual.", last + "prompt.")
    if variant == "adapter-only":
        return (last + "visual.",)
    return (last + "visual.",) if variant == "vpt-deep" else ()


def expected_trainable(variant, backbone_params):
    branch = 2 * D * HIDDEN + HIDDEN + D
    tok = 3 * C * 16 * 16 + C + 2 * (C * K + K) + C * D + D
    head = D * CLASSES + CLASSES
    return {
        "mpt": 3 * DEPTH * branch + tok + head,
        "prompt-only": tok + head,
        "adapter-only": 2 * DEPTH * branch + head,
        "head-only": head,
        "full-ft": backbone_params + 3 * DEPTH * branch + tok + head,
        "no-pretrain": backbone_params + 3 * DEPTH * branch + tok + head,
        "vpt-shallow": 3 * DEPTH * branch + K * D + head,
        "vpt-deep": 2 * DEPTH * branch + DEPTH * K * D + head,  # no prompt branch (see mpt.py)
        "primitive-adapter": DEPTH * branch + tok + head,
    }[variant]


@pytest.mark.parametrize("backbone, size", [("vit_tiny_patch16_224", SIZE), ("vit_small_patch14_reg4_dinov2", 28)])
def test_zero_init_adapters_are_identities(backbone, size):
    # the DINOv2 backbone has 4 register tokens (5 prefix tokens) and no class position embedding
    settings = ModelSettings(**{**tiny().to_dict(), "backbone": backbone, "img_size": size})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(settings).eval()
    bare = create_backbone(settings).eval()  # same fixed seed: the same frozen weights
    assert model.num_prefix == bare.num_prefix_tokens == (1 if "tiny" in backbone else 5)
    image = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1))
    cfg = import_timm().data.resolve_data_config({}, model=bare)
    mean, std = torch.tensor(cfg["mean"]).view(3, 1, 1), torch.tensor(cfg["std"]).view(3, 1, 1)
    ref = bare.forward_features((image - mean) / std)[:, 0]
    with torch.no_grad():
        ours = model.encode(model.embed(image))[:, 0]  # the wrapped blocks, prompts removed
        torch.testing.assert_close(ours, ref, rtol=0, atol=1e-5)
        # the comparison can fail: a non-zero up-projection changes the class token
        nn.init.normal_(model.vit.blocks[0].adapter.prefix.up.weight, std=0.1)
        assert not torch.allclose(model.encode(model.embed(image))[:, 0], ref, atol=1e-3)
        # and the full model runs with its prompts on this backbone
        assert model(image, torch.rand(2, T, 3, size, size)).shape == (2, CLASSES)


def test_every_block_wrapped_with_base_block_inside():
    model = build("mpt")
    assert len(model.vit.blocks) == DEPTH
    assert all(isinstance(b, AdaptedBlock) and not isinstance(b.base_block, AdaptedBlock) for b in model.vit.blocks)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_trains_only_its_parameters(variant):
    model = build(variant)
    counts = parameter_counts(model)
    backbone = sum(p.numel() for p in create_backbone(tiny()).parameters())
    assert counts["trainable"] == expected_trainable(variant, backbone)
    assert counts["total"] == counts["trainable"] + counts["frozen"]
    assert counts["frozen"] == (0 if variant in ("full-ft", "no-pretrain") else backbone)

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    image, motion = batch(B=4)
    target = torch.tensor([0, 1, 2, 1])
    model.train()
    for _ in range(3):  # zero-init up-projections give the down-projections a gradient from step 2 on
        opt.zero_grad()
        logits = model(image, motion)
        assert logits.shape == (4, CLASSES)
        F.cross_entropy(logits, target).backward()
        opt.step()
    dead = structurally_dead(variant)
    for n, p in model.named_parameters():
        if n in trainable and n.startswith(dead):
            assert p.grad is not None and not p.grad.any(), f"{n} should not reach the logits"
        elif n in trainable:
            assert p.grad is not None and p.grad.abs().sum() > 0, f"{n} got no gradient"
            assert not torch.equal(p, before[n]), f"{n} did not change"
        else:
            assert p.grad is None and torch.equal(p, before[n]), f"frozen {n} changed"


def test_backbone_stays_eval_without_dropout_randomness():
    model = build("mpt")
    for m in model.vit.modules():  # give the backbone real dropout
        if isinstance(m, nn.Dropout):
            m.p = 0.5
    model.train()
    assert model.training and model.head.training and model.prompts.training
    assert all(b.adapter.training for b in model.vit.blocks)
    assert not model.vit.training
    assert not any(m.training for b in model.vit.blocks for m in b.base_block.modules())
    assert not model.vit.patch_embed.training and not model.vit.norm.training
    image, motion = batch()
    with torch.no_grad():
        a, b = model(image, motion), model(image, motion)
        assert torch.equal(a, b)
        model.vit.train()  # control: with the backbone in train mode the dropout does act
        assert not torch.equal(model(image, motion), a)


def test_prompts_change_the_class_token():
    model = build("mpt").eval()
    image, motion = batch()
    with torch.no_grad():
        assert not torch.allclose(model(image, motion), model(image, motion.flip(1)))


def test_uint8_and_float_inputs_agree_and_other_sizes_are_resized():
    model = build("mpt").eval()
    g = torch.Generator().manual_seed(3)
    image8 = torch.randint(0, 256, (2, 3, SIZE, SIZE), dtype=torch.uint8, generator=g)
    motion8 = torch.randint(0, 256, (2, T, 3, SIZE, SIZE), dtype=torch.uint8, generator=g)
    with torch.no_grad():
        torch.testing.assert_close(model(image8, motion8), model(image8 / 255.0, motion8 / 255.0))
        big_i, big_m = batch()
        big_i = F.interpolate(big_i, size=(48, 48), mode="bilinear")
        big_m = F.interpolate(big_m.flatten(0, 1), size=(48, 48), mode="bilinear").view(2, T, 3, 48, 48)
        small_i = F.interpolate(big_i, size=(SIZE, SIZE), mode="bilinear", antialias=True)
        small_m = F.interpolate(big_m.flatten(0, 1), size=(SIZE, SIZE), mode="bilinear", antialias=True)
        torch.testing.assert_close(model(big_i, big_m), model(small_i, small_m.view(2, T, 3, SIZE, SIZE)))


def test_bad_shapes_are_rejected():
    model = build("mpt")
    image, motion = batch()
    with pytest.raises(ValueError, match="motion must be"):
        model(image, motion[:, :2])
    with pytest.raises(ValueError, match="motion must be"):
        model(image, None)
    with pytest.raises(ValueError, match="image must be"):
        model(image[:, :1], motion)


def test_random_backbone_warns_and_is_reproducible():
    with pytest.warns(UserWarning, match="random"):
        a = build_model(tiny())
    b = build("mpt", seed=123)  # a different global seed: the frozen backbone is the same
    for (n, p), q in zip(a.vit.named_parameters(), b.vit.parameters()):
        if not p.requires_grad:
            assert torch.equal(p, q), n
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_model(tiny("no-pretrain"))  # expected to be random: no warning


def test_bf16_autocast_forward_backward():
    model = build("mpt")
    image, motion = batch()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(image, motion)
    logits.float().sum().backward()
    assert logits.shape == (2, CLASSES) and torch.isfinite(logits.float()).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_forward_has_no_host_device_sync(variant):
    # meta tensors have no values: .item(), nonzero() or a branch on a tensor value would raise here
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(tiny(variant))
        image = torch.empty(2, 3, SIZE, SIZE, dtype=torch.uint8)
        motion = torch.empty(2, T, 3, 48, 48, dtype=torch.uint8)  # another size: resized on the device
        assert model(image, motion).shape == (2, CLASSES)


@pytest.mark.parametrize("backbone, match", [("resnet18", "not a timm ViT"), ("no_such_vit", "unknown timm backbone"),
                                             ("vit_base_patch16_siglip_224", "no class token")])
def test_unusable_backbones_are_rejected(backbone, match):
    with torch.device("meta"), pytest.raises(ValueError, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build_model(ModelSettings(backbone=backbone, depth=1))


def test_motion_size_resizes_only_the_motion_frames():
    # motion_size (a demo setting): the tokenizer sees the motion frames at 16 px, the image stays at SIZE
    model = build("mpt", motion_size=16).eval()
    image, motion = batch()
    small = F.interpolate(motion.flatten(0, 1), size=(16, 16), mode="bilinear", antialias=True).view(2, T, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(model(image, motion), model(image, small))
        default = build("mpt").eval()
        assert not torch.allclose(default(image, motion), model(image, motion))
