"""The augmentations of cunn.data.transforms (= cunn.vision.transforms): torchvision's
arithmetic, checked against torch's own interpolate / pad / grid_sample (torchvision's
building blocks) where torch is installed and against hand-computed results always;
random ones reproducible under cunn.manual_seed."""
import math

import numpy as np
import pytest

import cunn
from cunn.data import augmentations, transforms as T


def _image(*shape, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    if dtype == np.uint8:
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.random(shape).astype(dtype)


def _torch():
    return pytest.importorskip("torch")


def _grid_sample_oracle(image, matrix, mode):
    """torchvision's tensor rotate/affine, rebuilt from torch ops: the output grid about the
    centre mapped by the inverse matrix, normalised, grid_sample'd with a plane of ones that
    blends the fill (0) in."""
    torch = _torch()
    channels, height, width = image.shape
    theta = torch.tensor(matrix, dtype=torch.float32)
    base = torch.ones(1, height, width, 3)
    base[..., 0] = torch.linspace(-width * 0.5 + 0.5, width * 0.5 - 0.5, width)
    base[..., 1] = torch.linspace(-height * 0.5 + 0.5, height * 0.5 - 0.5, height)[:, None]
    grid = base.view(1, -1, 3).bmm(theta.T[None] / torch.tensor([0.5 * width, 0.5 * height]))
    planes = torch.cat([torch.from_numpy(image)[None], torch.ones(1, 1, height, width)], 1)
    sampled = torch.nn.functional.grid_sample(planes, grid.view(1, height, width, 2), mode=mode,
                                              padding_mode="zeros", align_corners=False)
    mask, out = sampled[:, -1:], sampled[:, :-1]
    out = torch.where(mask < 0.5, torch.zeros(()), out) if mode == "nearest" else out * mask
    return out[0].numpy()


# ---- the namespaces ----

def test_vision_transforms_is_data_transforms():
    import cunn.vision.transforms as vision_transforms
    from cunn.vision.transforms import RandomAffine

    assert vision_transforms is T and cunn.vision.transforms is T
    assert RandomAffine is augmentations.RandomAffine


# ---- Pad, CenterCrop, crops ----

@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("edge", "replicate"),
                                             ("reflect", "reflect")])
@pytest.mark.parametrize("padding", [2, (1, 3), (1, 2, 3, 0)])
def test_pad_matches_torch(mode, torch_mode, padding):
    torch = _torch()
    image = _image(2, 5, 6)
    left, top, right, bottom = augmentations._padding("pad", padding)
    expected = torch.nn.functional.pad(torch.from_numpy(image)[None], (left, right, top, bottom),
                                       mode=torch_mode)[0].numpy()
    np.testing.assert_array_equal(T.Pad(padding, padding_mode=mode)(cunn.tensor(image)).numpy(),
                                  expected)


def test_pad_on_arrays_keeps_pil_layout_and_fill():
    image = _image(4, 5, dtype=np.uint8)
    padded = T.Pad((1, 2), fill=7)(image)
    assert type(padded) is np.ndarray and padded.shape == (8, 7) and padded.dtype == np.uint8
    assert padded[0, 0] == 7 and np.array_equal(padded[2:6, 1:6], image)
    color = _image(4, 5, 3, dtype=np.uint8)
    assert T.Pad(1, padding_mode="symmetric")(color).shape == (6, 7, 3)
    np.testing.assert_array_equal(T.Pad(1, padding_mode="symmetric")(color)[0, 1:-1],
                                  color[0])


@pytest.mark.parametrize("size,expected_corner", [((3, 4), (1, 1)), (2, (2, 2)), ((5, 6), (0, 0)),
                                                  ((4, 3), (0, 2))])
def test_center_crop_takes_torchvisions_window(size, expected_corner):
    image = _image(1, 5, 6)
    top, left = expected_corner  # int(round((H - h) / 2)), Python rounding half to even
    height, width = (size, size) if isinstance(size, int) else size
    np.testing.assert_array_equal(T.CenterCrop(size)(cunn.tensor(image)).numpy(),
                                  image[:, top:top + height, left:left + width])


def test_center_crop_larger_than_the_image_zero_pads():
    image = _image(3, 4, dtype=np.uint8)
    cropped = T.CenterCrop((6, 7))(image)
    assert cropped.shape == (6, 7)
    # torchvision pads (7 - 4) // 2 = 1 left, 2 right, (6 - 3) // 2 = 1 top, 2 bottom
    np.testing.assert_array_equal(cropped[1:4, 1:5], image)
    assert cropped.sum() == image.sum()


def test_random_crop_is_a_seeded_window_of_the_padded_image():
    image = _image(1, 8, 8)
    crop = T.RandomCrop(8, padding=2)
    padded = np.pad(image, ((0, 0), (2, 2), (2, 2)))
    corners = set()
    cunn.manual_seed(0)
    first = [crop(cunn.tensor(image)).numpy() for _ in range(60)]
    cunn.manual_seed(0)
    second = [crop(cunn.tensor(image)).numpy() for _ in range(60)]
    for result, again in zip(first, second):
        np.testing.assert_array_equal(result, again)
        matches = [(top, left) for top in range(5) for left in range(5)
                   if np.array_equal(padded[:, top:top + 8, left:left + 8], result)]
        assert matches
        corners.update(matches)
    assert len(corners) > 15  # positions spread over the 25 possible


def test_random_crop_pad_if_needed_and_errors():
    image = _image(3, 5, dtype=np.uint8)
    assert T.RandomCrop((4, 6), pad_if_needed=True)(image).shape == (4, 6)
    with pytest.raises(ValueError, match="larger than the image"):
        T.RandomCrop(6)(image)
    with pytest.raises(TypeError, match="size"):
        T.RandomCrop("big")


# ---- Resize ----

@pytest.mark.parametrize("size", [(9, 11), (30, 41), (17, 5), (4, 40), (1, 1)])
def test_resize_matches_torch_antialiased_bilinear(size):
    torch = _torch()
    image = _image(3, 17, 23, seed=1)
    expected = torch.nn.functional.interpolate(torch.from_numpy(image)[None], size=size,
                                               mode="bilinear", align_corners=False,
                                               antialias=True)[0].numpy()
    np.testing.assert_allclose(T.Resize(size)(cunn.tensor(image)).numpy(), expected,
                               rtol=1e-5, atol=2e-6)


def test_resize_uint8_rounds_like_torchvision():
    torch = _torch()
    image = _image(1, 28, 28, seed=2, dtype=np.uint8)
    expected = torch.nn.functional.interpolate(torch.from_numpy(image).float()[None],
                                               size=(13, 13), mode="bilinear",
                                               antialias=True)[0].round().to(torch.uint8)
    result = T.Resize(13)(cunn.from_numpy(image)).numpy()
    assert result.dtype == np.uint8
    assert np.abs(result.astype(int) - expected.numpy().astype(int)).max() <= 1


def test_resize_by_shorter_side_keeps_the_aspect_ratio():
    image = _image(10, 25)
    assert T.Resize(4)(image).shape == (4, 10)  # int(4 * 25 / 10)
    assert T.Resize(4)(image.T.copy()).shape == (10, 4)
    assert T.Resize(4, max_size=8)(image).shape == (3, 8)  # int(8 * 4 / 10), 8
    assert T.Resize((10, 25))(cunn.tensor(image)).numpy().tolist() == image.tolist()


def test_resize_by_two_halves_averages_pixel_pairs():
    # Shrinking by exactly 2: each output pixel weighs its 4x4 neighbourhood by the triangle
    # (1, 3, 3, 1) / 8 per axis, renormalised at the borders (hand-computed).
    image = _image(8, 8, seed=3).astype(np.float64)
    weights = np.zeros((4, 8))
    for row in range(4):
        for column, weight in zip(range(2 * row - 1, 2 * row + 3), (1, 3, 3, 1)):
            if 0 <= column < 8:
                weights[row, column] = weight
    weights /= weights.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(T.Resize(4)(image.astype(np.float32)),
                               weights @ image @ weights.T, rtol=1e-5)


# ---- flips ----

def test_flips_follow_p_and_the_seed():
    image = _image(2, 3, 4)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(cunn.tensor(image)).numpy(),
                                  image[..., ::-1])
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(cunn.tensor(image)).numpy(),
                                  image[..., ::-1, :])
    assert T.RandomHorizontalFlip(0.0)(image) is image
    color = _image(3, 4, 3, dtype=np.uint8)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(color), color[:, ::-1])
    flip = T.RandomHorizontalFlip()
    cunn.manual_seed(5)
    first = [bool(np.array_equal(flip(image), image)) for _ in range(200)]
    cunn.manual_seed(5)
    assert first == [bool(np.array_equal(flip(image), image)) for _ in range(200)]
    assert 60 < sum(first) < 140
    with pytest.raises(ValueError, match="probability"):
        T.RandomHorizontalFlip(1.5)


# ---- rotation and affine ----

def test_rotation_by_90_degrees_is_a_quarter_turn_counter_clockwise():
    square = _image(1, 6, 6)
    np.testing.assert_array_equal(augmentations.rotate(cunn.tensor(square), 90).numpy()[0],
                                  np.rot90(square[0]))
    # torchvision's affine angle turns the other way
    np.testing.assert_array_equal(
        augmentations.affine(cunn.tensor(square), 90, (0, 0), 1.0, 0).numpy()[0],
        np.rot90(square[0], -1))


def test_affine_translation_shifts_and_fills():
    image = _image(5, 7, dtype=np.uint8) + 1
    shifted = augmentations.affine(image, 0, (2, -1), 1.0, 0, fill=0)
    expected = np.zeros_like(image)
    expected[:4, 2:] = image[1:, :5]
    np.testing.assert_array_equal(shifted, expected)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_rotate_matches_torchs_grid_sample(interpolation):
    rng = np.random.default_rng(6)
    for trial in range(20):
        height, width = (int(value) for value in rng.integers(3, 30, 2))
        image = _image(2, height, width, seed=trial)
        angle = float(rng.uniform(-180, 180))  # generic angles: no exact rounding ties
        matrix = augmentations._inverse_affine_matrix(-angle, (0, 0), 1.0, (0, 0))
        ours = augmentations.rotate(cunn.tensor(image), angle, interpolation).numpy()
        np.testing.assert_allclose(ours, _grid_sample_oracle(image, matrix, interpolation),
                                   rtol=1e-5, atol=1e-5)


def test_affine_matches_torchs_grid_sample():
    image = _image(3, 13, 17, seed=7)
    for angle, translate, scale, shear in [(20, (2, -3), 1.2, (10, 5)), (-35, (0, 4), 0.8, (0, 0)),
                                           (7, (-5, 1), 1.0, (-12, 0))]:
        matrix = augmentations._inverse_affine_matrix(angle, translate, scale, shear)
        for interpolation in ("nearest", "bilinear"):
            ours = augmentations.affine(cunn.tensor(image), angle, translate, scale, shear,
                                        interpolation).numpy()
            np.testing.assert_allclose(ours, _grid_sample_oracle(image, matrix, interpolation),
                                       rtol=1e-5, atol=1e-5)


def test_inverse_matrix_undoes_the_forward_map():
    # rotate + scale + shear forward (torchvision's parametrisation), then the inverse: identity
    angle, shear_x, shear_y, scale = math.radians(25), math.radians(10), math.radians(-7), 1.3
    cos_y = math.cos(shear_y)
    forward = scale * np.array([
        [math.cos(angle - shear_y) / cos_y,
         -math.cos(angle - shear_y) * math.tan(shear_x) / cos_y - math.sin(angle)],
        [math.sin(angle - shear_y) / cos_y,
         -math.sin(angle - shear_y) * math.tan(shear_x) / cos_y + math.cos(angle)]])
    inverse = augmentations._inverse_affine_matrix(25, (0, 0), 1.3, (10, -7))[:, :2]
    np.testing.assert_allclose(inverse @ forward, np.eye(2), atol=1e-12)


def test_uint8_rotation_rounds_and_keeps_the_dtype():
    image = _image(9, 9, seed=8, dtype=np.uint8)
    result = augmentations.rotate(image, 33.0, "bilinear")
    reference = augmentations.rotate(image.astype(np.float32), 33.0, "bilinear")
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, np.clip(np.rint(reference), 0, 255).astype(np.uint8))


def test_random_rotation_and_affine_are_seeded_and_in_range():
    image = _image(1, 12, 12, seed=9)
    rotation = T.RandomRotation(10)
    affine = T.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)
    cunn.manual_seed(11)
    first = [rotation(cunn.tensor(image)).numpy() for _ in range(5)] + \
        [affine(cunn.tensor(image)).numpy() for _ in range(5)]
    cunn.manual_seed(11)
    second = [rotation(cunn.tensor(image)).numpy() for _ in range(5)] + \
        [affine(cunn.tensor(image)).numpy() for _ in range(5)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(first[0], other) for other in first[1:5])
    cunn.manual_seed(12)
    for _ in range(50):
        angle, (tx, ty), scale, (shear_x, shear_y) = affine.get_params(12, 12)
        assert -15 <= angle <= 15 and abs(tx) <= 1.2 and abs(ty) <= 1.2
        assert 0.9 <= scale <= 1.1 and -5 <= shear_x <= 5 and shear_y == 0
        assert isinstance(tx, int) and isinstance(ty, int)


def test_random_rotation_on_dataset_items_then_to_tensor():
    image = _image(28, 28, dtype=np.uint8)
    pipeline = T.Compose([T.RandomRotation(10), T.RandomCrop(28, padding=2), T.ToTensor(),
                          T.Normalize((0.5,), (0.5,))])
    result = pipeline(image)
    assert result.shape == (1, 28, 28) and result.dtype == cunn.float32
    batch = pipeline.batch(np.stack([image, image]))
    assert batch.shape == (2, 1, 28, 28)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="non-negative"):
        T.RandomRotation(-5)
    with pytest.raises(ValueError, match="translate"):
        T.RandomAffine(0, translate=(2, 0))
    with pytest.raises(ValueError, match="interpolation"):
        T.RandomRotation(5, interpolation="bicubic")
    with pytest.raises(ValueError, match="padding_mode"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match="image"):
        T.CenterCrop(2)(np.zeros((1, 2, 3, 4)))
