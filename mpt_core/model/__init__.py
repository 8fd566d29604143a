"""The MPT model (METHOD.md section 2): frozen timm ViT, Gaussian motion prompts, group adapters, head."""

from .adapters import AdaptedBlock, Bottleneck, GroupAdapter, PrimitiveAdapter, wrap_blocks
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint, trainable_state_dict
from .cost import forward_gmacs, model_info, parameter_counts, print_trainable_parameters
from .mpt import VARIANT_SPECS, MPTModel, VariantSpec, build_model, create_backbone
from .prompts import DeepPromptSlot, VPTPrompts
from .settings import VARIANTS, ModelSettings, SettingsError
from .tokenizer import GaussianTokenizer
from .weights import WeightsError, load_backbone_weights

__all__ = [
    "AdaptedBlock", "Bottleneck", "CheckpointError", "DeepPromptSlot", "GaussianTokenizer", "GroupAdapter",
    "MPTModel", "ModelSettings", "PrimitiveAdapter", "SettingsError", "VARIANTS", "VARIANT_SPECS", "VPTPrompts",
    "VariantSpec", "WeightsError", "build_model", "create_backbone", "forward_gmacs", "load_backbone_weights",
    "load_checkpoint", "model_info", "parameter_counts", "print_trainable_parameters", "save_checkpoint",
    "trainable_state_dict", "wrap_blocks",
]
