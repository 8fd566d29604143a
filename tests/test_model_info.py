"""ViT-B sizes from the method (METHOD.md 2.5, 2.6) and `mpt model-info`."""

import json

import pytest
from typer.testing import CliRunner

from mpt.cli import app
from mpt_core.model import ModelSettings, build_model, model_info, print_trainable_parameters

D, L, H, K, C, T = 768, 12, 768 // 8, 5, 128, 16
BRANCH = 2 * D * H + H + D  # Linear(D, D/r) + Linear(D/r, D)
TOKENIZER = 3 * C * 16 * 16 + C + 2 * (C * K + K) + C * D + D
HEAD3 = D * 3 + 3


def test_method_figures():
    assert BRANCH * 3 * L == 5_339_520 and TOKENIZER == 198_794 and HEAD3 == 2_307


@pytest.mark.parametrize(
    "variant, expected",
    [
        ("mpt", 5_540_621),
        ("head-only", 2_307),
        ("adapter-only", 2 * L * BRANCH + HEAD3),          # 3.56 M
        ("primitive-adapter", L * BRANCH + TOKENIZER + HEAD3),  # ~2.0 M
        ("prompt-only", TOKENIZER + HEAD3),
        ("vpt-shallow", 3 * L * BRANCH + K * D + HEAD3),
        ("vpt-deep", 2 * L * BRANCH + L * K * D + HEAD3),
    ],
)
def test_vit_b_trainable_counts(variant, expected):
    info = model_info(ModelSettings(variant=variant, num_classes=3))
    assert info["trainable"] == expected
    assert info["frozen"] == 85_798_656  # ViT-B/16 without head: 86.6 M minus the 1000-class head
    assert info["total"] == info["trainable"] + info["frozen"]
    if variant == "adapter-only":
        assert round(expected / 1e6, 2) == 3.56
    if variant == "primitive-adapter":
        assert round(expected / 1e6, 1) == 2.0 and round(L * BRANCH / 1e6, 2) == 1.78


def test_full_ft_trains_everything():
    info = model_info(ModelSettings(variant="full-ft", num_classes=3))
    assert info["frozen"] == 0 and info["trainable"] == 85_798_656 + 5_540_621


def test_cli_model_info_json():
    result = CliRunner().invoke(app, ["model-info", "--classes", "3", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert set(info) == {"variant", "backbone", "classes", "trainable", "frozen", "total", "gmacs"}
    assert info["trainable"] == 5_540_621 and info["variant"] == "mpt" and info["classes"] == 3
    # ViT-B/16 on 202 tokens ~18.0 G + adapters ~0.36 G + frame embedding ~0.31 G (METHOD.md 2.5)
    assert abs(info["gmacs"] - 18.7) <= 0.4


def test_cli_model_info_table_and_errors():
    runner = CliRunner()
    result = runner.invoke(app, ["model-info", "--backbone", "vit_tiny_patch16_224", "--variant", "head-only",
                                 "--classes", "4", "--img-size", "32", "--depth", "1"])
    assert result.exit_code == 0, result.output
    assert "trainable" in result.stdout and f"{192 * 4 + 4:,}" in result.stdout
    result = runner.invoke(app, ["model-info", "--variant", "lora"])
    assert result.exit_code == 1 and result.stderr.startswith("error: --variant 'lora' is not one of mpt,")
    result = runner.invoke(app, ["model-info", "--backbone", "no_such_vit"])
    assert result.exit_code == 1 and "no_such_vit" in result.stderr and "Traceback" not in result.output


def test_print_trainable_parameters(capsys):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_model(ModelSettings(variant="head-only", backbone="vit_tiny_patch16_224", num_classes=2,
                                          img_size=32, depth=1))
    print_trainable_parameters(model)
    frozen = sum(p.numel() for p in model.vit.parameters())
    out = capsys.readouterr().out
    assert f"trainable params: {386:,} || all params: {frozen + 386:,} || trainable%:" in out
