"""The names a user can choose from, defined once (no imports: the CLI reads them for a fast --help)."""

# every corpus a cache can hold (preprocess/readers has one reader per name)
DATASETS = ("casme2", "samm", "smic", "megc2019", "casme3", "cas2", "samm-lv")

# the long-video corpora among them: spotting reads their videos, recognition their micro-expressions
LONG_VIDEO_DATASETS = ("cas2", "samm-lv")

# the corpora `mpt spot --dataset` / `mpt spot evaluate` read: the long-video corpora, and CAS(ME)^3 Part A's recordings
# (micro-expressions only; no recognition view, so not a LONG_VIDEO_DATASETS member for `mpt str`)
SPOT_DATASETS = LONG_VIDEO_DATASETS + ("casme3-lv",)

# what the cache stores as motion (METHOD 1.2): uint8 magnified frames, or the float16 band signal
MOTION_OUTPUTS = ("magnified", "band")

# onset-to-apex optical flow of the flow cache (the baselines' input): OpenCV core's DIS, or dual TV-L1
# (needs cv2.optflow from opencv-contrib)
FLOW_METHODS = ("dis", "tvl1")

# face handling of raw frames: align from dlib's landmarks (auto) or OpenCV's Haar eyes (haar), one transform
# per clip; or use frames as they are (none)
FACE_MODES = ("auto", "haar", "none")

# landmark model of --face auto: dlib's 68 points (regions for mpt describe) or 5 (eye corners and nose: alignment only)
LANDMARK_MODELS = ("68", "5")

# model variant -> what it trains (see mpt_core.model.mpt.VARIANT_SPECS for the architecture of each)
VARIANTS = (
    "mpt",                # motion prompts + group adapters + head (the method)
    "prompt-only",        # motion prompts + head
    "adapter-only",       # group adapter with two branches (class, visual) + head
    "head-only",          # partial fine-tuning: only the head
    "full-ft",            # mpt with the backbone trainable too
    "no-pretrain",        # mpt on a random backbone, everything trainable
    "vpt-shallow",        # mpt with the motion prompts replaced by K learnable input tokens
    "vpt-deep",           # ... by fresh learnable tokens in every block
    "primitive-adapter",  # motion prompts + one bottleneck shared by all tokens + head
)

# training optimiser: Adam (METHOD.md) or SGD with momentum (some baselines' published recipe)
OPTIMIZERS = ("adam", "sgd")

# the hand-crafted baselines (mpt_core/features); the baseline networks are listed by mpt_core/model/zoo
HANDCRAFTED = ("lbp-top", "flow-grid")

# training precision: auto (bf16 autocast where the device computes bf16 natively, else fp32)
PRECISIONS = ("auto", "fp32", "bf16")

# what `mpt instruct` writes: LLaVA JSON, messages JSONL, or both
INSTRUCT_FORMATS = ("llava", "messages", "both")

# `mpt instruct --format megc-vqa`: MEGC 2025's ME-VQA files instead (no images, no motion measured)
MEGC_VQA_FORMAT = "megc-vqa"

# evaluation protocols of `mpt train`: leave one subject out, leave one dataset (composite part) out, train on
# one cache and test on another
PROTOCOLS = ("loso", "lodo", "cross")

# what `mpt train` learns: the cache's emotion classes, or multi-label Action Unit detection
TASKS = ("emotion", "au")

# mpt predict --spot: long inputs spotted first (auto: those over 2 s without --onset/--offset)
SPOT_MODES = ("auto", "on", "off")
