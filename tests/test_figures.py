import cv2
import numpy as np
import pandas as pd
import pytest

from alnus import style
from alnus.figures import roc_figure
from alnus.metrics import metrics_table


@pytest.fixture
def tables():
    rng = np.random.default_rng(0)

    def frame(n, shift):
        labels = np.tile([0, 1], n // 2)
        return pd.DataFrame({"id": [f"i{k}" for k in range(n)], "label": labels,
                             "probability": 1 / (1 + np.exp(-(labels * shift + rng.normal(size=n))))})  # fmt: skip

    predictions = {m: {s: frame(40, shift) for s in ("validation", "internal_test", "external_test")}
                   for m, shift in (("inception_v3", 2.0), ("resnet101", 1.0))}  # fmt: skip
    labels = np.tile([0, 1], 20)
    readers = pd.concat(
        [pd.DataFrame({"id": [f"i{k}" for k in range(40)], "reader": r, "label": labels, "set": "external_test",
                       "call": np.where(rng.random(40) < 0.75, labels, 1 - labels)}) for r in ("reader_1", "reader_2")]
    )  # fmt: skip
    return predictions, metrics_table(predictions, readers)


@pytest.mark.parametrize("set_name", ["internal_test", "external_test"])
def test_roc_figure_writes_png_and_pdf(tmp_path, tables, set_name):
    predictions, metrics = tables
    readers = metrics[(metrics["kind"] == "reader") & (metrics["set"] == set_name)]
    fig = roc_figure(set_name, {m: sets[set_name] for m, sets in predictions.items()}, metrics, readers)
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("inception_v3: AUC ") and "(" in labels[0]
    assert len(labels) == 2 + len(readers)
    assert fig.axes[0].get_xlabel() == "1 - Specificity" and fig.axes[0].get_ylabel() == "Sensitivity"
    png, pdf = tmp_path / "roc.png", tmp_path / "roc.pdf"
    style.save(fig, str(png), str(pdf))
    image = cv2.imread(str(png))
    assert image is not None and min(image.shape[:2]) > 600  # 300 dpi
    assert pdf.read_bytes().startswith(b"%PDF")
