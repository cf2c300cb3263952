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
        ("vgg16", "none", "unknown architecture 'vgg16'; choose one of inception_resnet_v2, inception_v3, resnet101"),
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
