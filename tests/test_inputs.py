"""Raw input for predict: videos and frame folders, frame numbers from names, and every error."""

import cv2
import numpy as np
import pytest

from preprocess.inputs import ClipInput, InputError, frame_number, load_input

W, H = 64, 48


def level(n: int) -> int:
    """The grey level that marks frame n, far enough apart to survive lossy codecs."""
    return 10 + 20 * (n % 12)


def mark(n: int) -> np.ndarray:
    """A BGR frame: grey level(n) on the left, pure blue (in BGR) on the right, to catch RGB/BGR."""
    frame = np.full((H, W, 3), level(n), dtype=np.uint8)
    frame[:, W // 2 :] = (255, 0, 0)
    return frame


def levels(clip: ClipInput) -> list[int]:
    return [int(round(f[:, : W // 2].mean())) for f in clip.frames]


def make_video(path, n=10, codec="mp4v", fps=25.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*codec), fps, (W, H))
    assert writer.isOpened(), f"OpenCV cannot write {codec} here"
    for i in range(n):
        writer.write(mark(i))
    writer.release()
    return path


def make_folder(folder, name, numbers):
    folder.mkdir(exist_ok=True)
    for n in numbers:
        assert cv2.imwrite(str(folder / name.format(n)), mark(n))
    return folder


@pytest.mark.parametrize(
    "name, number",
    [("img46.jpg", 46), ("reg_img46.jpg", 46), ("006_05562.jpg", 5562), ("image090823.bmp", 90823),
     ("s3_frame_0012.png", 12), ("x7/clip.2/f9.jp2", 9)],
)
def test_frame_number_is_the_last_number_in_the_name(name, number):
    assert frame_number(name) == number


def test_frame_number_missing():
    with pytest.raises(InputError, match="cover.jpg: no frame number"):
        frame_number("cover.jpg")


# videos


@pytest.mark.parametrize("codec, suffix", [("mp4v", ".mp4"), ("MJPG", ".avi")])
def test_video_whole_and_selected(tmp_path, codec, suffix):
    path = make_video(tmp_path / f"clip{suffix}", n=10, codec=codec, fps=30.0)
    clip = load_input(path)
    assert clip.frames.shape == (10, H, W, 3) and clip.frames.dtype == np.uint8
    assert clip.numbers == tuple(range(10)) and (clip.onset, clip.offset) == (0, 9)
    assert clip.fps == pytest.approx(30.0) and clip.source == str(path)
    assert np.abs(np.array(levels(clip)) - [level(i) for i in range(10)]).max() <= 4
    assert (clip.frames[:, :, -1, 2] > 200).all() and (clip.frames[:, :, -1, 0] < 40).all()  # RGB: blue

    part = load_input(path, onset=3, offset=6, fps=200)
    assert part.numbers == (3, 4, 5, 6) and (part.onset, part.offset) == (3, 6)
    assert part.fps == 200.0  # the user's rate wins over the header's
    assert np.abs(np.array(levels(part)) - [level(i) for i in (3, 4, 5, 6)]).max() <= 4
    assert load_input(path, onset=8).numbers == (8, 9)
    assert load_input(path, offset=1).numbers == (0, 1)


def test_video_decodes_no_further_than_offset(tmp_path, monkeypatch):
    path = make_video(tmp_path / "clip.mp4", n=10)
    counts = {"grab": 0, "retrieve": 0}
    real = cv2.VideoCapture

    class Counting:
        def __init__(self, *args):
            self.cap = real(*args)

        def grab(self):
            counts["grab"] += 1
            return self.cap.grab()

        def retrieve(self):
            counts["retrieve"] += 1
            return self.cap.retrieve()

        def __getattr__(self, name):
            return getattr(self.cap, name)

    monkeypatch.setattr(cv2, "VideoCapture", Counting)
    clip = load_input(path, onset=2, offset=4)
    assert clip.numbers == (2, 3, 4)
    assert counts == {"grab": 5, "retrieve": 3}


def test_video_errors(tmp_path):
    path = make_video(tmp_path / "clip.mp4", n=10)
    with pytest.raises(InputError, match=r"clip\.mp4: offset 12 is outside the input \(frames 0\.\.9\)"):
        load_input(path, onset=2, offset=12)
    with pytest.raises(InputError, match=r"onset 10 is outside the input \(frames 0\.\.9\)"):
        load_input(path, onset=10)
    with pytest.raises(InputError, match="onset 5 is after offset 4"):
        load_input(path, onset=5, offset=4)
    with pytest.raises(InputError, match="onset must be a frame number >= 0"):
        load_input(path, onset=-1)
    with pytest.raises(InputError, match="a clip needs 2 or more frames"):
        load_input(path, onset=4, offset=4)
    with pytest.raises(InputError, match="a clip needs 2 or more frames"):
        load_input(make_video(tmp_path / "one.mp4", n=1))
    with pytest.raises(InputError, match="frame rate must be a positive number"):
        load_input(path, fps=0)


def test_not_a_video(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x01not a video" * 100)
    (tmp_path / "notes.txt").write_text("hello")
    for name in ("broken.mp4", "notes.txt"):
        with pytest.raises(InputError, match=rf"{name}: not a readable video or a folder of frames"):
            load_input(tmp_path / name)
    cv2.imwrite(str(tmp_path / "img1.jpg"), mark(1))
    with pytest.raises(InputError, match="img1.jpg: a single image, not a clip"):
        load_input(tmp_path / "img1.jpg")
    with pytest.raises(InputError, match="missing.mp4: not found"):
        load_input(tmp_path / "missing.mp4")


# frame folders


@pytest.mark.parametrize("name", ["img{}.jpg", "reg_img{}.jpg", "006_{:05d}.jpg", "image{:06d}.bmp"])
def test_folder_styles_order_by_number(tmp_path, name):
    numbers = [8, 9, 10, 11, 100]  # "img10" < "img100" < "img8" as text
    folder = make_folder(tmp_path / "clip", name, numbers)
    (folder / "notes.txt").write_text("not a frame")
    clip = load_input(folder, onset=8, offset=11, fps=200)
    assert clip.numbers == (8, 9, 10, 11) and (clip.onset, clip.offset) == (8, 11) and clip.fps == 200.0
    assert clip.frames.shape == (4, H, W, 3)
    assert np.abs(np.array(levels(clip)) - [level(n) for n in (8, 9, 10, 11)]).max() <= 3
    assert (clip.frames[:, :, -1, 2] > 240).all() and (clip.frames[:, :, -1, 0] < 15).all()  # RGB: blue


def test_folder_defaults_to_all_frames_and_greyscale_becomes_rgb(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    for n in (5, 6, 7):
        cv2.imwrite(str(folder / f"img{n}.png"), np.full((H, W), level(n), dtype=np.uint8))
    clip = load_input(folder, fps=100)
    assert clip.numbers == (5, 6, 7) and clip.frames.shape == (3, H, W, 3)
    assert [int(f[0, 0, 0]) for f in clip.frames] == [level(n) for n in (5, 6, 7)]
    assert (clip.frames[..., 0] == clip.frames[..., 2]).all()


def test_folder_errors(tmp_path):
    folder = make_folder(tmp_path / "clip", "img{}.jpg", [8, 9, 10, 12])
    with pytest.raises(InputError, match=r"clip: a folder of frames has no frame rate; pass --fps"):
        load_input(folder)
    with pytest.raises(InputError, match=r"missing frame\(s\) 11 between onset 9 and offset 12"):
        load_input(folder, onset=9, fps=200)
    with pytest.raises(InputError, match=r"onset 7 is outside the input \(frames 8\.\.12\)"):
        load_input(folder, onset=7, offset=9, fps=200)
    with pytest.raises(InputError, match=r"offset 13 is outside the input \(frames 8\.\.12\)"):
        load_input(folder, onset=8, offset=13, fps=200)
    with pytest.raises(InputError, match="onset 10 is after offset 9"):
        load_input(folder, onset=10, offset=9, fps=200)
    with pytest.raises(InputError, match="a clip needs 2 or more frames"):
        load_input(folder, onset=12, fps=200)
    assert load_input(folder, offset=10, fps=200).numbers == (8, 9, 10)


def test_folder_bad_files(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty: no frame images"):
        load_input(empty, fps=200)

    dup = make_folder(tmp_path / "dup", "img{}.jpg", [1, 2])
    cv2.imwrite(str(dup / "img02.jpg"), mark(2))
    with pytest.raises(InputError, match=r"frame number 2 appears twice \(img02\.jpg, img2\.jpg\)"):
        load_input(dup, fps=200)

    corrupt = make_folder(tmp_path / "corrupt", "img{}.jpg", [1, 2, 3])
    (corrupt / "img2.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(InputError, match=r"img2\.jpg: corrupt or not an image"):
        load_input(corrupt, fps=200)

    sizes = make_folder(tmp_path / "sizes", "img{}.png", [1, 2])
    cv2.imwrite(str(sizes / "img2.png"), np.zeros((H // 2, W, 3), dtype=np.uint8))
    with pytest.raises(InputError, match=r"img2\.png: shape \(24, 64, 3\) differs from the clip's first frame img1"):
        load_input(sizes, fps=200)

    unnamed = make_folder(tmp_path / "unnamed", "img{}.jpg", [1, 2])
    cv2.imwrite(str(unnamed / "cover.jpg"), mark(0))
    with pytest.raises(InputError, match=r"cover\.jpg: no frame number"):
        load_input(unnamed, fps=200)


def test_errors_are_one_line(tmp_path):
    folder = make_folder(tmp_path / "clip", "img{}.jpg", [1, 2, 4])
    with pytest.raises(InputError) as err:
        load_input(folder, fps=25)
    assert "\n" not in str(err.value) and str(folder) in str(err.value)
