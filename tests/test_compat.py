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


def test_the_patch_branch_runs_when_torchvision_fails_to_import():
    # A fresh interpreter whose first `import torchvision` fails exactly as the CUDA wheel does next
    # to CPU torch: ensure_torchvision must define the missing schemas and import it again.
    code = (
        "import sys, importlib.abc\n"
        "class Fail(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torchvision':\n"
        "            sys.meta_path.remove(self)\n"
        "            raise RuntimeError('operator torchvision::nms does not exist')\n"
        "sys.meta_path.insert(0, Fail())\n"
        "import torch\n"
        "from mpt_core import compat\n"
        "timm = compat.import_timm()\n"
        "m = timm.create_model('vit_tiny_patch16_224', num_classes=0, depth=1)\n"
        "print(compat._library is not None, hasattr(torch.ops.torchvision, 'nms'), tuple(m(torch.zeros(1, 3, 224, 224)).shape))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True True (1, 192)"


def test_other_import_errors_are_not_swallowed():
    code = (
        "import sys, importlib.abc\n"
        "class Fail(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torchvision':\n"
        "            raise RuntimeError('something else broke')\n"
        "sys.meta_path.insert(0, Fail())\n"
        "from mpt_core import compat\n"
        "compat.ensure_torchvision()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "something else broke" in out.stderr


def test_ensure_torchvision_is_idempotent():
    from mpt_core import compat

    compat.ensure_torchvision()
    compat.ensure_torchvision()
    import torchvision

    assert torchvision.__version__
