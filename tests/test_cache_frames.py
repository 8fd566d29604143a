"""Frame loading for the cache (METHOD 1.1): RGB order, greyscale, resize rule, bad frames."""

import cv2
import numpy as np
import pytest

from preprocess.frames import FrameError, load_frames


def test_bgr_becomes_rgb_and_grey_becomes_three_channels(tmp_path):
    bgr = np.zeros((30, 30, 3), np.uint8)
    bgr[..., 0] = 200  # blue in OpenCV's BGR order
    cv2.imwrite(str(tmp_path / "a.png"), bgr)
    grey = np.arange(900, dtype=np.uint8).reshape(30, 30)
    cv2.imwrite(str(tmp_path / "g.png"), grey)
    a = load_frames([tmp_path / "a.png"], size=30)
    assert a.shape == (1, 30, 30, 3) and np.all(a[0, ..., 2] == 200) and np.all(a[0, ..., :2] == 0)
    g = load_frames([tmp_path / "g.png"], size=30)
    assert np.array_equal(g[0, ..., 0], grey) and np.array_equal(g[0, ..., 1], grey) and np.array_equal(g[0, ..., 2], grey)


@pytest.mark.parametrize("shape, interpolation", [((300, 260), cv2.INTER_AREA), ((100, 90), cv2.INTER_LINEAR),
                                                  ((300, 200), cv2.INTER_LINEAR)])  # fmt: skip
def test_resize_area_when_shrinking_linear_otherwise(tmp_path, shape, interpolation):
    img = np.random.default_rng(0).integers(0, 256, shape + (3,), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "f.png"), img)
    expected = cv2.cvtColor(cv2.resize(img, (224, 224), interpolation=interpolation), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(load_frames([tmp_path / "f.png"], size=224)[0], expected)


def test_bad_frames_name_the_file_and_reason(tmp_path):
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.zeros((20, 20, 3), np.uint8))
    cases = {
        "missing.png": (None, "unreadable"),
        "empty.png": (b"", "empty file"),
        "junk.jpg": (b"\xff\xd8\xff\xe0 not really", "corrupt"),
        "deep.png": (np.zeros((20, 20), np.uint16), "uint16"),
        "alpha.png": (np.zeros((20, 20, 4), np.uint8), "4 channels"),
        "small.png": (np.zeros((18, 20, 3), np.uint8), "differs from the clip's first frame"),
    }
    for name, (content, reason) in cases.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            cv2.imwrite(str(path), content)
        with pytest.raises(FrameError) as err:
            load_frames([good, path], size=20)
        assert str(path) in str(err.value) and reason in str(err.value), str(err.value)
