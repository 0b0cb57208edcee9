"""The default model on real pixels: ImageNet classes and similarity of derived copies."""
import numpy as np
import pytest

from pipeline import features, mobilenet_v2
from pipeline.intake import decode, to_array
from pipeline.site import PROJECT
from pipeline.torch_weights import load_state_dict

SVG = PROJECT / "node_modules" / "openmoji" / "color" / "svg"


@pytest.fixture(scope="module")
def extractor():
    return features.load_extractor()


def rgb(path, size=224):
    return to_array(decode(path, size, size, "force", [255, 255, 255]))


def test_default_model_classifies_real_artwork(extractor):
    w, b = mobilenet_v2.classifier(load_state_dict(mobilenet_v2.default_weights()))
    feats = extractor(np.stack([rgb(SVG / "1F34C.svg")]))  # banana
    assert feats.shape == (1, 1280)
    assert int(np.argmax(feats @ w + b)) == 954  # ImageNet "banana"


def test_copies_are_nearer_than_other_artworks(extractor, tmp_path):
    import pyvips
    base = pyvips.Image.thumbnail(str(SVG / "1F697.svg"), 400).flatten(background=[255, 255, 255])
    base.crop(20, 20, 360, 360).write_to_file(str(tmp_path / "crop.png"))
    base.resize(0.4).write_to_file(str(tmp_path / "small.jpg"))
    paths = [SVG / "1F697.svg", tmp_path / "crop.png", tmp_path / "small.jpg",
             SVG / "1F34C.svg", SVG / "1F431.svg", SVG / "2764.svg"]
    f = extractor(np.stack([rgb(p) for p in paths]))
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    sims = f[0] @ f.T
    assert min(sims[1], sims[2]) > max(sims[3:]) + 0.1


def test_features_cached_by_content(tmp_path, extractor):
    calls = []

    def load():
        calls.append(1)
        return extractor

    items = [("1F34C.svg", "d1"), ("1F431.svg", "d2")]
    a, failed = features.extract(SVG, items, tmp_path, "k", load, [255, 255, 255])
    b, _ = features.extract(SVG, items, tmp_path, "k", load, [255, 255, 255])
    assert not failed and len(calls) == 1  # second run: every row from the cache, no model
    np.testing.assert_array_equal(a, b)


def test_keras_imagenet_weights_offline_fail_with_a_clear_message():
    from pipeline import UserError
    try:
        ex = features.load_extractor("vgg16", "imagenet")
    except UserError as e:  # offline (CI): the message names the offline default and --weights
        assert "--model mobilenetv2" in str(e) and "--weights PATH" in str(e)
    else:  # online: the real ImageNet weights arrived
        assert ex(np.zeros((1, 224, 224, 3), np.uint8)).shape == (1, 512)
