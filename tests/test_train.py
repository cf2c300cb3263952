import numpy as np
import pytest
import torch

from alnus.train import TrainSettings, fit, predict_probabilities, resolve_device, resolve_precision, warmup_cosine


def tiny_model() -> torch.nn.Module:
    """A small CNN with BatchNorm: fit() takes any module with one logit."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 1),
    )  # fmt: skip


def toy_images(n: int, seed: int):
    """Bright square for positives, dark for negatives: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    labels = np.tile([0, 1], n // 2)
    images = rng.integers(0, 60, (n, 1, 80, 80)).astype(np.uint8)
    images[labels == 1, :, 20:60, 20:60] += 150
    return torch.from_numpy(images), labels


def test_fit_selects_the_best_validation_epoch_and_is_deterministic():
    train_x, train_y = toy_images(16, 0)
    val_x, val_y = toy_images(8, 1)
    settings = TrainSettings(epochs=2, batch_size=8, learning_rate=1e-3, warmup_epochs=0, patience=5, seed=3)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model, history = fit(tiny_model(), train_x, train_y, val_x, val_y, settings)
        runs.append(predict_probabilities(model, val_x, device=torch.device("cpu")))
    assert list(history.columns) == ["epoch", "lr", "train_loss", "val_loss", "val_auc", "seconds", "best"]
    assert history["best"].sum() == 1
    assert history.loc[history["best"], "val_auc"].item() == history["val_auc"].max()
    assert np.array_equal(runs[0], runs[1])
    assert ((runs[0] >= 0) & (runs[0] <= 1)).all()


def test_fit_stops_early():
    train_x, train_y = toy_images(8, 0)
    settings = TrainSettings(epochs=5, batch_size=4, learning_rate=0.0, warmup_epochs=0, patience=1, seed=0)
    torch.manual_seed(0)
    _, history = fit(tiny_model(), train_x, train_y, train_x, train_y, settings)
    assert len(history) == 2  # lr 0: epoch 2 cannot improve on epoch 1


def test_warmup_cosine_shape():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = warmup_cosine(optimizer, warmup_steps=2, total_steps=10)
    rates = []
    for _ in range(10):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(0.5) and rates[1] == pytest.approx(1.0)
    assert rates[2] > rates[5] > rates[9] >= 0


def test_devices_and_precision():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    assert resolve_precision("auto", torch.device("cpu")) is None
    assert resolve_precision("bf16", torch.device("cpu")) is torch.bfloat16
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no cuda; use auto or cpu"):
            resolve_device("cuda")


def test_flip_tta_averages_an_image_and_its_mirror():
    images, _ = toy_images(6, 4)
    images[:, :, :, :30] = 0  # asymmetric, so the mirror image scores differently
    torch.manual_seed(0)
    model = tiny_model().eval()
    cpu = torch.device("cpu")
    plain = predict_probabilities(model, images, device=cpu)
    mirrored = predict_probabilities(model, torch.flip(images, dims=[3]), device=cpu)
    averaged = predict_probabilities(model, images, device=cpu, flip_tta=True)
    assert np.allclose(averaged, (plain + mirrored) / 2, atol=1e-6)
    assert not np.allclose(plain, mirrored)


def test_one_channel_stem_trains_on_the_grey_image():
    """input_channels=1 feeds (n, 1, H, W) to a one-channel stem."""
    train_x, train_y = toy_images(8, 0)
    model = tiny_model()
    model[0] = torch.nn.Conv2d(1, 8, 3, stride=2)
    settings = TrainSettings(epochs=1, batch_size=4, learning_rate=1e-3, warmup_epochs=0, input_channels=1)
    model, history = fit(model, train_x, train_y, train_x, train_y, settings)
    probabilities = predict_probabilities(model, train_x, device=torch.device("cpu"), channels=1)
    assert probabilities.shape == (8,) and len(history) == 1


def test_compile_switch_trains_through_torch_compile(monkeypatch):
    """compile=True steps a torch.compile'd wrapper of the model (here the
    compiler is replaced by a recorder, since compiling takes minutes), and
    returns the model itself, whose weights the wrapper trained."""
    compiled = []

    def fake_compile(module):
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    train_x, train_y = toy_images(8, 0)
    settings = TrainSettings(epochs=1, batch_size=4, learning_rate=1e-3, warmup_epochs=0, compile=True)
    model = tiny_model()
    before = model[0].weight.detach().clone()
    trained, _ = fit(model, train_x, train_y, train_x, train_y, settings)
    assert compiled == [model] and trained is model
    assert not torch.equal(before, trained[0].weight)


def test_recompute_batchnorm_gives_the_exact_statistics():
    """Precise BN: the running mean and variance become the mean of the
    per-batch statistics of the first BatchNorm's input over the images."""
    from alnus.data import normalise
    from alnus.train import recompute_batchnorm

    images, _ = toy_images(16, 0)
    model = tiny_model()
    recompute_batchnorm(model, images, device=torch.device("cpu"), batch_size=8)
    with torch.no_grad():
        features = [model[0](normalise(images[k : k + 8])) for k in (0, 8)]
    means = torch.stack([f.mean(dim=(0, 2, 3)) for f in features]).mean(dim=0)
    variances = torch.stack([f.var(dim=(0, 2, 3), unbiased=True) for f in features]).mean(dim=0)
    torch.testing.assert_close(model[1].running_mean, means, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(model[1].running_var, variances, rtol=1e-4, atol=1e-5)
    assert model[1].momentum == 0.1  # restored


def test_fit_with_precise_bn_runs_and_stays_deterministic():
    train_x, train_y = toy_images(16, 0)
    settings = TrainSettings(epochs=2, batch_size=8, learning_rate=1e-3, warmup_epochs=0, seed=3, precise_bn=True)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model, _ = fit(tiny_model(), train_x, train_y, train_x, train_y, settings)
        runs.append(predict_probabilities(model, train_x, device=torch.device("cpu")))
    assert np.array_equal(runs[0], runs[1])


def test_inference_halves_its_batch_when_memory_runs_out():
    """A device that cannot take more than 3 images at once: predictions come
    in smaller batches and equal those of a run with a fitting batch size."""

    class SmallDevice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.seen = tiny_model().eval(), []

        def forward(self, x):
            self.seen.append(len(x))
            if len(x) > 3:
                raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
            return self.net(x)

    images, _ = toy_images(10, 0)
    model = SmallDevice()
    got = predict_probabilities(model, images, device=torch.device("cpu"), batch_size=16)
    assert model.seen[:3] == [10, 8, 4] and max(model.seen[3:]) <= 3
    expected = predict_probabilities(model.net, images, device=torch.device("cpu"), batch_size=2)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_determinism_switch_acts_on_cuda_only(monkeypatch):
    from alnus.train import set_determinism

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
              torch.backends.cudnn.benchmark)  # fmt: skip
    try:
        set_determinism(True, torch.device("cpu"))
        assert torch.are_deterministic_algorithms_enabled() == before[0]
        set_determinism(True, torch.device("cuda"))
        assert torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.deterministic
        assert not torch.backends.cudnn.benchmark
        import os

        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        set_determinism(False, torch.device("cuda"))
        assert not torch.are_deterministic_algorithms_enabled() and torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1], before[2]
