import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from alnus.history import STILL_IMPROVING, training_summary
from alnus.train import (
    TrainSettings,
    class_weight,
    fit,
    predict_probabilities,
    warmup_cosine,
    weighted_bce,
)

# The settings the tests start from (TrainSettings has no defaults: a study's
# come from the schema); each test names what it changes.
BASE = {
    "weight_decay": 1e-4,
    "warmup_epochs": 1,
    "patience": 10,
    "seed": 2019,
    "normalisation": "imagenet",
    "input_channels": 3,
    "compile": False,
    "precise_bn": False,
    "ema_decay": 0.0,
    "label_smoothing": 0.0,
}


def settings_of(**given) -> TrainSettings:
    """TrainSettings of BASE with `given` (epochs, batch_size, learning_rate, ...)."""
    return TrainSettings(**(BASE | given))


def tiny_model() -> torch.nn.Module:
    """A small CNN with BatchNorm: fit() takes any module with one logit."""
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, stride=2),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 1),
    )


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
    settings = settings_of(epochs=2, batch_size=8, learning_rate=1e-3, warmup_epochs=0, patience=5, seed=3)
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


def test_fit_stops_early(caplog):
    train_x, train_y = toy_images(8, 0)
    settings = settings_of(epochs=5, batch_size=4, learning_rate=0.0, warmup_epochs=0, patience=1, seed=0)
    torch.manual_seed(0)
    with caplog.at_level("WARNING", logger="alnus.train"):
        _, history = fit(tiny_model(), train_x, train_y, train_x, train_y, settings)
    assert len(history) == 2  # lr 0: epoch 2 cannot improve on epoch 1
    summary = training_summary(history, epochs_planned=5, patience=1)
    assert summary["best_epoch"] == 1 and summary["stopped_early"] and not summary["still_improving"]
    assert not caplog.records  # stopped early: not still improving


@pytest.mark.parametrize(("epochs", "learning_rate", "best", "improving"), [(1, 1e-3, 1, True), (2, 0.0, 1, False)])
def test_a_run_whose_last_epoch_is_best_is_warned_about_and_recorded(epochs, learning_rate, best, improving, caplog):
    """On a random-init tiny training the card's training record follows the
    history, and a kept epoch that is the last one warns "still improving"
    (one epoch: always; lr 0: epoch 2 cannot beat epoch 1)."""
    train_x, train_y = toy_images(16, 0)
    val_x, val_y = toy_images(8, 1)
    settings = settings_of(epochs=epochs, batch_size=8, learning_rate=learning_rate, warmup_epochs=0, seed=3)
    torch.manual_seed(3)
    with caplog.at_level("WARNING", logger="alnus.train"):
        _, history = fit(tiny_model(), train_x, train_y, val_x, val_y, settings)
    summary = training_summary(history, epochs_planned=settings.epochs, patience=settings.patience)
    assert summary["epoch"] == list(range(1, epochs + 1)) and summary["validation_auc"] == history["val_auc"].tolist()
    assert summary["validation_loss"] == history["val_loss"].tolist() and len(summary["seconds_per_epoch"]) == epochs
    assert all(s > 0 for s in summary["seconds_per_epoch"])
    assert summary["best_epoch"] == best and summary["still_improving"] is improving
    assert summary["note"] == (STILL_IMPROVING if improving else None)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    expected = f"the best validation AUC is at the last epoch ({epochs} of {epochs} planned): {STILL_IMPROVING}"
    assert warnings == ([expected + " (the preset's epochs)"] if improving else [])


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
    settings = settings_of(epochs=1, batch_size=4, learning_rate=1e-3, warmup_epochs=0, input_channels=1)
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
    settings = settings_of(epochs=1, batch_size=4, learning_rate=1e-3, warmup_epochs=0, compile=True)
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
    settings = settings_of(epochs=2, batch_size=8, learning_rate=1e-3, warmup_epochs=0, seed=3, precise_bn=True)
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


def test_fit_with_weight_averaging_returns_the_average_it_validated():
    """ema_decay > 0: the model returned (and validated) is the moving average
    of the weights, not the last optimiser step's weights; its parameters
    differ from a plain run's from the same seed, and the run is deterministic."""
    train_x, train_y = toy_images(16, 0)
    val_x, val_y = toy_images(8, 1)
    base = dict(epochs=2, batch_size=4, learning_rate=1e-2, warmup_epochs=0, patience=5, seed=3)
    results = {}
    for decay in (0.0, 0.9, 0.9):
        torch.manual_seed(3)
        model, history = fit(tiny_model(), train_x, train_y, val_x, val_y, settings_of(**base, ema_decay=decay))
        probabilities = predict_probabilities(model, val_x, device=torch.device("cpu"))
        results.setdefault(decay, []).append(probabilities)
        best = history.loc[history["best"], "val_auc"].item()
        assert best == pytest.approx(roc_auc_score(val_y, probabilities))  # the validated model is the one returned
    assert np.array_equal(results[0.9][0], results[0.9][1])
    assert not np.allclose(results[0.0][0], results[0.9][0])


def test_label_smoothing_moves_the_targets_and_keeps_the_run_deterministic():
    """label_smoothing 0.2: the loss the first epoch reports is the BCE against
    targets 0.1/0.9, so it differs from the unsmoothed run's from the same seed."""
    train_x, train_y = toy_images(16, 0)
    base = dict(epochs=1, batch_size=16, learning_rate=0.0, warmup_epochs=0, patience=5, seed=3)
    losses = []
    for smoothing in (0.0, 0.2):
        torch.manual_seed(3)
        model = tiny_model()
        _, history = fit(model, train_x, train_y, train_x, train_y, settings_of(**base, label_smoothing=smoothing))
        losses.append(history["train_loss"].item())
    torch.manual_seed(3)
    model = tiny_model().train()
    inputs = (train_x.float() / 255 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]
    ).view(1, 3, 1, 1)
    logits = model(inputs).squeeze(1)
    targets = torch.tensor(train_y, dtype=torch.float32) * 0.8 + 0.1
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets).item()
    assert losses[1] != pytest.approx(losses[0])
    assert losses[1] == pytest.approx(expected, rel=1e-4)


def test_validation_loss_is_the_training_loss_on_the_validation_images():
    """The history's val_loss is class-weighted with the training set's
    weight, as train_loss is, so that the two compare on the training
    curves' one axis: with lr 0 the weights do not move, and on the training
    images themselves (no augmentation) the two losses agree."""
    train_x, train_y = toy_images(16, 0)
    train_y = np.array([1] * 4 + [0] * 12)  # 3 negatives per positive: a weight of 3
    settings = settings_of(epochs=1, batch_size=16, learning_rate=0.0, warmup_epochs=0, seed=3)
    torch.manual_seed(3)
    model, history = fit(tiny_model(), train_x, train_y, train_x, train_y, settings)
    probabilities = predict_probabilities(model, train_x, device=torch.device("cpu"))
    assert class_weight(train_y) == 3.0
    expected = weighted_bce(probabilities, train_y, pos_weight=3.0)
    assert history["val_loss"].item() == pytest.approx(expected, rel=1e-6)
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    unweighted = -np.mean(train_y * np.log(clipped) + (1 - train_y) * np.log(1 - clipped))
    assert history["val_loss"].item() > unweighted * 1.2
    with torch.no_grad():
        model.eval()
        inputs = (train_x.float() / 255 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
            [0.229, 0.224, 0.225]
        ).view(1, 3, 1, 1)
        logits = model(inputs).squeeze(1)
    weighted = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(3.0))(logits, torch.tensor(train_y).float())
    assert history["val_loss"].item() == pytest.approx(weighted.item(), rel=1e-4)
