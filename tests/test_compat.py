import subprocess
import sys


def test_import_timm_works_in_a_fresh_interpreter():
    # A fresh interpreter: the workaround must run before anything imported torchvision.
    code = (
        "from mpt_core.compat import import_timm\n"
        "import torch\n"
        "timm = import_timm()\n"
        "m = timm.create_model('vit_tiny_patch16_224', num_classes=0, depth=1)\n"
        "print(tuple(m(torch.zeros(1, 3, 224, 224)).shape))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("(1, 192)")


def test_ensure_torchvision_is_idempotent():
    from mpt_core import compat

    compat.ensure_torchvision()
    compat.ensure_torchvision()
    import torchvision

    assert torchvision.__version__
