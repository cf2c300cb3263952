import cv2
import numpy as np
import pytest
import torch

from alnus.data import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageSet,
    UltrasoundAugmentation,
    augmentation,
    build_image_cache,
    cache_job,
    letterbox,
    load_images,
    normalise,
    read_image_cache,
    unletterbox,
)


@pytest.mark.parametrize(("height", "width"), [(100, 200), (200, 100), (64, 64), (31, 300)])
def test_letterbox_keeps_aspect_and_centres(height, width):
    pixels = np.full((height, width), 200, dtype=np.uint8)
    out = letterbox(pixels, 64)
    assert out.shape == (64, 64) and out.dtype == np.uint8
    rows, cols = np.nonzero(out)
    assert abs((rows.max() - rows.min() + 1) / (cols.max() - cols.min() + 1) - height / width) < 0.1 + 2 / 64
    assert abs((rows.min() + rows.max()) / 2 - 31.5) <= 1 and abs((cols.min() + cols.max()) / 2 - 31.5) <= 1


def test_load_images_reads_pngs(tmp_path):
    paths = []
    for i in range(3):
        path = tmp_path / f"{i}.png"
        cv2.imwrite(str(path), np.full((40, 60), 10 * i, dtype=np.uint8))
        paths.append(path)
    images = load_images(paths, 32)
    assert images.shape == (3, 1, 32, 32) and images.dtype == torch.uint8
    assert images[2].max() == 20


def test_image_cache_equals_load_images_and_reads_chosen_rows(tmp_path):
    """The cache file holds exactly what load_images gives, in path order;
    rows are read through a memory map in the order asked for."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(7):
        paths.append(tmp_path / f"{i}.png")
        cv2.imwrite(str(paths[-1]), rng.integers(0, 256, (30 + 5 * i, 50), dtype=np.uint8))
    out = tmp_path / "cache" / "development_32px.npy"
    build_image_cache(paths, 32, out, threads=2)
    assert torch.equal(read_image_cache(out), load_images(paths, 32))
    assert torch.equal(read_image_cache(out, [5, 0, 5]), load_images([paths[5], paths[0], paths[5]], 32))
    assert np.load(out, mmap_mode="r").shape == (7, 1, 32, 32)
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left


def test_cache_job_caches_a_manifest_in_its_order(tmp_path):
    rng = np.random.default_rng(1)
    ids = ["0009", "0001", "0005"]  # ids that are numbers to pandas
    for image_id in ids:
        cv2.imwrite(str(tmp_path / f"{image_id}.png"), rng.integers(0, 256, (40, 50), dtype=np.uint8))
    (tmp_path / "manifest.csv").write_text("id,patient,label\n" + "".join(f"{i},p,0\n" for i in ids))
    cache_job(tmp_path / "manifest.csv", tmp_path, tmp_path / "cache.npy", size=32, threads=2)
    assert torch.equal(read_image_cache(tmp_path / "cache.npy"), load_images([tmp_path / f"{i}.png" for i in ids], 32))


def test_image_cache_leaves_nothing_when_an_image_is_unreadable(tmp_path):
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    cv2.imwrite(str(good), np.zeros((10, 10), dtype=np.uint8))
    bad.write_text("not an image")
    out = tmp_path / "cache" / "c_16px.npy"
    with pytest.raises(ValueError, match="bad.png"):
        build_image_cache([good, bad], 16, out)
    assert list(out.parent.iterdir()) == []


def test_load_images_names_a_broken_file(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="bad.png"):
        load_images([bad], 32)


def test_normalise_repeats_grey_into_imagenet_channels():
    batch = torch.full((2, 1, 4, 4), 255, dtype=torch.uint8)
    out = normalise(batch)
    assert out.shape == (2, 3, 4, 4)
    for channel in range(3):
        expected = (1.0 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
        assert torch.allclose(out[:, channel], torch.tensor(expected))


def test_normalise_for_a_one_channel_stem():
    batch = torch.full((2, 1, 4, 4), 255, dtype=torch.uint8)
    out = normalise(batch, channels=1)
    expected = (1.0 - sum(IMAGENET_MEAN) / 3) / (sum(IMAGENET_STD) / 3)
    assert out.shape == (2, 1, 4, 4) and torch.allclose(out, torch.tensor(expected))
    assert normalise(batch, "per_image", channels=1).shape == (2, 1, 4, 4)
    with pytest.raises(ValueError, match="input channels must be 1 or 3, got 2"):
        normalise(batch, channels=2)


@pytest.mark.parametrize("shape", [(120, 90), (100, 100), (90, 120)])
def test_per_image_unpadded_ignores_letterbox_bars(shape):
    """The statistics are those of the image alone, whatever share of the
    square the bars take: the letterboxed image's nonzero pixels come out with
    mean 0 and deviation 1 (numpy's, ddof=1), and the same image under wider
    bars gets the same values; "per_image" shifts with the bars instead."""
    rng = np.random.default_rng(0)
    image = rng.integers(1, 256, shape).astype(np.uint8)
    boxed = torch.from_numpy(letterbox(image, 64))[None, None]
    out = normalise(boxed, "per_image_unpadded", channels=3)[0, 0].numpy()
    inside = boxed[0, 0].numpy() > 0
    assert out[inside].mean() == pytest.approx(0, abs=1e-5)
    assert out[inside].std(ddof=1) == pytest.approx(1, abs=1e-3)  # float32 sums
    padded = torch.zeros((1, 1, 64, 96), dtype=torch.uint8)
    padded[..., 16:80] = boxed
    wider = normalise(padded, "per_image_unpadded", channels=1)[0, 0, :, 16:80].numpy()
    assert np.allclose(wider[inside], out[inside], atol=1e-3)
    shifted = normalise(padded, "per_image", channels=1)[0, 0, :, 16:80].numpy()
    assert not np.allclose(shifted[inside], normalise(boxed, "per_image", channels=1)[0, 0].numpy()[inside], atol=0.05)


def test_per_image_unpadded_of_a_black_image_is_zero():
    out = normalise(torch.zeros((1, 1, 8, 8), dtype=torch.uint8), "per_image_unpadded", channels=1)
    assert torch.all(out == 0)


def test_augmentation_never_flips_depth():
    """Vertical structure (a bright top row, as the skin line) stays on top."""
    image = torch.zeros((1, 64, 64), dtype=torch.uint8)
    image[:, :8] = 255
    torch.manual_seed(0)
    transform = augmentation(64)
    for _ in range(20):
        out = transform(image).float()
        assert out[:, :16].mean() > out[:, 48:].mean()


def test_augmentation_keeps_shape_and_type_and_follows_the_seed():
    """uint8 in, uint8 of the same shape out; the same torch seed gives the
    same image (the run's seed and checkpointed RNG state govern it), another
    seed another image."""
    image = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 40, 56), dtype=np.uint8))
    transform = augmentation(56)
    outs = []
    for seed in (1, 1, 2):
        torch.manual_seed(seed)
        outs.append(transform(image))
    assert outs[0].dtype == torch.uint8 and outs[0].shape == image.shape
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])
    assert torch.equal(image, torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 40, 56), dtype=np.uint8)))


def test_augmentation_moves_within_its_ranges():
    """A centred bright square moves by at most shift + rotation + scale
    (flips keep it centred); without gain changes (strength 0) grey levels
    stay those of the image (0 and 200, linear interpolation at its edges
    only); with them the square's grey varies between draws within what
    gamma, brightness and contrast allow."""
    image = torch.zeros((1, 100, 100), dtype=torch.uint8)
    image[:, 40:60, 40:60] = 200
    torch.manual_seed(0)
    geometry, gain = augmentation(100, strength=0.0), augmentation(100)
    greys = []
    for _ in range(50):
        out = geometry(image)[0].numpy()
        ys, xs = np.nonzero(out == 200)
        assert ys.size > 200 and abs(ys.mean() - 49.5) <= 6 and abs(xs.mean() - 49.5) <= 6
        assert 30 <= ys.min() and ys.max() <= 69 and 30 <= xs.min() and xs.max() <= 69
        greys.append(int(np.median(gain(image)[0].numpy()[45:55, 45:55])))
    # Darkest draw: 200 x 0.7 brightness, contrast 0.7 towards a mean grey of
    # about 6 (the square is 4% of the image), gamma 1.4: 68.
    assert 60 <= min(greys) < 150 and max(greys) > 230


def test_augmentation_without_affine_only_flips_and_changes_gain():
    """affine 0 and gain strength 0: every draw is the image or its mirror,
    pixel for pixel; with affine 1 some draws are neither (rotated, scaled
    or shifted)."""
    image = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 24, 32), dtype=np.uint8))
    torch.manual_seed(0)
    flips_only, full = augmentation(32, strength=0.0, affine=0.0), augmentation(32, strength=0.0)
    outs = [flips_only(image) for _ in range(20)]
    assert all(torch.equal(out, image) or torch.equal(out, image.flip(-1)) for out in outs)
    assert {torch.equal(out, image) for out in outs} == {True, False}
    moved = [full(image) for _ in range(20)]
    assert not any(torch.equal(out, image) or torch.equal(out, image.flip(-1)) for out in moved)


def test_augmentation_flips_left_right_half_the_time():
    """A bright left half ends on the right in about half the draws."""
    image = torch.zeros((1, 32, 32), dtype=torch.uint8)
    image[:, :, :16] = 255
    torch.manual_seed(0)
    transform = augmentation(32, strength=0.0)
    rights = sum(bool(transform(image)[0, :, 24:].float().mean() > 128) for _ in range(200))
    assert 70 <= rights <= 130


def test_aspect_jitter_stretches_width_against_height_within_its_range_and_keeps_the_area():
    """aspect 0.3, every other change off: a centred 40 x 40 square becomes a
    rectangle whose width/height ratio lies in [1/1.3, 1.3], both wider and
    taller ones are drawn, and its area stays about 1,600 pixels."""
    image = torch.zeros((1, 120, 120), dtype=torch.uint8)
    image[:, 40:80, 40:80] = 200
    transform = UltrasoundAugmentation(
        degrees=0.0, translate=0.0, scale=(1.0, 1.0), brightness=0.0, contrast=0.0, gamma=(1.0, 1.0), aspect=0.3
    )
    torch.manual_seed(0)
    ratios = []
    for _ in range(100):
        inside = transform(image)[0].numpy() > 100
        width, height = inside.any(axis=0).sum(), inside.any(axis=1).sum()
        ratios.append(width / height)
        assert abs(int(inside.sum()) - 1600) < 120
    assert 1 / 1.3 - 0.06 <= min(ratios) < 0.85 and 1.18 < max(ratios) <= 1.3 + 0.06


def test_aspect_jitter_off_draws_what_the_augmentation_drew_before_it():
    """aspect 0 takes 8 numbers from torch's generator per image, as before
    the option existed, so runs without it are unchanged; aspect > 0 takes 9.
    A negative aspect is refused."""
    image = torch.zeros((1, 16, 16), dtype=torch.uint8)
    for aspect, draws in ((0.0, 8), (0.3, 9)):
        torch.manual_seed(5)
        augmentation(16, aspect=aspect)(image)
        after = torch.rand(1, dtype=torch.float64)
        torch.manual_seed(5)
        torch.rand(draws, dtype=torch.float64)
        assert torch.equal(after, torch.rand(1, dtype=torch.float64))
    with pytest.raises(ValueError, match="`aspect` must be 0"):
        augmentation(16, aspect=-0.1)


def test_image_set_checks_lengths():
    with pytest.raises(ValueError, match="3 images but 2 labels"):
        ImageSet(torch.zeros((3, 1, 8, 8), dtype=torch.uint8), np.array([0, 1]))


@pytest.mark.parametrize("shape", [(60, 100), (100, 60), (50, 50)])
def test_unletterbox_undoes_the_letterbox(shape):
    image = np.zeros(shape, dtype=np.uint8)
    image[: shape[0] // 2, : shape[1] // 2] = 255  # the top-left quarter
    cam = letterbox(image, 64).astype(np.float32) / 255
    back = unletterbox(cam, shape)
    assert back.shape == shape
    assert np.abs(back - image / 255).mean() < 0.05
