import pytest
import torch
from safetensors.torch import save_model

from alnus.models import ARCHITECTURES, build_model, cam_layer


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_build_model_gives_one_logit_and_a_cam_layer(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=1).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 80, 80))
    assert out.shape == (2, 1)
    assert isinstance(cam_layer(model, name), torch.nn.Module)


@pytest.mark.parametrize(
    ("name", "pretrained", "message"),
    [
        (
            "vgg16",
            "none",
            "an architecture must be one of inception_resnet_v2, inception_v3, resnet101, got 'vgg16'; change config `architectures`",
        ),
        ("resnet101", "/nonexistent/weights.safetensors", "does not exist"),
    ],
)
def test_build_model_errors(name, pretrained, message):
    with pytest.raises(ValueError, match=message):
        build_model(name, pretrained=pretrained)


def test_build_model_loads_local_weights(tmp_path):
    torch.manual_seed(1)
    source = build_model("resnet101")
    path = tmp_path / "resnet101.safetensors"
    save_model(source, str(path))
    loaded = build_model("resnet101", pretrained=str(path))
    for (name, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name


def test_build_model_refuses_weights_of_another_architecture(tmp_path):
    path = tmp_path / "inception.safetensors"
    save_model(build_model("inception_v3"), str(path))
    with pytest.raises(ValueError, match="does not fit architecture resnet101"):
        build_model("resnet101", pretrained=str(path))


def test_fetch_imagenet_weights_explains_how_to_work_offline(tmp_path, monkeypatch):
    import alnus.models

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(alnus.models.timm, "create_model", offline)
    out = tmp_path / "inception_v3.safetensors"
    with pytest.raises(
        RuntimeError, match="cannot download ImageNet weights of inception_v3.*put a safetensors file at"
    ):
        alnus.models.fetch_imagenet_weights("inception_v3", out)
    assert not out.exists()


def test_imagenet_head_is_replaced_by_a_one_logit_head(tmp_path):
    """A 1,000-class checkpoint loads into the 1-logit model: all but the head."""
    import timm

    torch.manual_seed(2)
    imagenet_like = timm.create_model("resnet101", num_classes=1000)
    path = tmp_path / "resnet101.safetensors"
    save_model(imagenet_like, str(path))
    model = build_model("resnet101", pretrained=str(path))
    assert model.fc.out_features == 1
    assert torch.equal(model.conv1.weight, imagenet_like.conv1.weight)


@pytest.mark.parametrize("name", sorted(ARCHITECTURES))
def test_one_channel_stem_takes_rgb_weights_summed(tmp_path, name):
    """A grayscale stem loads three-channel weights (ImageNet's, say) with the
    stem's filters summed over the colours, as timm adapts them."""
    torch.manual_seed(4)
    rgb = build_model(name)
    path = tmp_path / f"{name}.safetensors"
    save_model(rgb, str(path))
    gray = build_model(name, pretrained=str(path), in_chans=1)
    stem = rgb.pretrained_cfg["first_conv"] + ".weight"
    rgb_stem, gray_stem = rgb.state_dict()[stem], gray.state_dict()[stem]
    assert gray_stem.shape[1] == 1
    torch.testing.assert_close(gray_stem, rgb_stem.sum(dim=1, keepdim=True))
    with torch.no_grad():
        assert gray.eval()(torch.randn(1, 1, 80, 80)).shape == (1, 1)
