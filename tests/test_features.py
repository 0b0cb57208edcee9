"""The default model on real pixels (ImageNet classes, similarity of derived copies), the model
object a build resolves once, and what a build of the default model imports."""
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image
from test_torch_weights import Storage, Tensor, fake_torch, write_checkpoint  # noqa: F401 (fixture)

from pipeline import UserError, features, mobilenet_v2, model
from pipeline.decode import decode, to_array
from pipeline.site import PROJECT
from pipeline.torch_weights import load_state_dict

SVG = PROJECT / "node_modules" / "openmoji" / "color" / "svg"


@pytest.fixture(scope="module")
def extractor():
    return model.resolve().load()


def rgb(path, size=224):
    return to_array(decode(path, size, size, "force", [255, 255, 255]))


def test_default_model_runs_on_onnxruntime_and_classifies_real_artwork(extractor):
    assert model.resolve().backend == "onnxruntime"
    w, b = mobilenet_v2.classifier(load_state_dict(mobilenet_v2.default_weights()))
    feats = extractor(np.stack([rgb(SVG / "1F34C.svg")]))  # banana
    assert feats.shape == (1, 1280) and feats.dtype == np.float32
    assert int(np.argmax(feats @ w + b)) == 954  # ImageNet "banana"


def test_copies_are_nearer_than_other_artworks(extractor, tmp_path):
    base = decode(SVG / "1F697.svg", 400, 400, "contain", [255, 255, 255])
    base.crop(20, 20, 360, 360).write_to_file(str(tmp_path / "crop.png"))
    base.resize(0.4).write_to_file(str(tmp_path / "small.jpg"))
    paths = [SVG / "1F697.svg", tmp_path / "crop.png", tmp_path / "small.jpg",
             SVG / "1F34C.svg", SVG / "1F431.svg", SVG / "2764.svg"]
    f = extractor(np.stack([rgb(p) for p in paths]))
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    sims = f[0] @ f.T
    assert min(sims[1], sims[2]) > max(sims[3:]) + 0.1


class Counting:
    """The default model, counting how often the features stage loads it."""

    def __init__(self, loaded):
        m = model.resolve()
        self.key, self.input_size, self.loaded, self.calls = m.key, m.input_size, loaded, 0

    def load(self):
        self.calls += 1
        return self.loaded


def test_features_cached_by_content(tmp_path, extractor):
    items = [("1F34C.svg", "d1"), ("1F431.svg", "d2")]
    counting = Counting(extractor)
    a, failed = features.extract(SVG, items, tmp_path, counting, [255, 255, 255])
    b, _ = features.extract(SVG, items, tmp_path, counting, [255, 255, 255])
    assert not failed and counting.calls == 1  # second run: every row from the cache, no model
    np.testing.assert_array_equal(a, b)


def test_model_is_resolved_with_name_weights_key_and_size(tmp_path):
    m = model.resolve()
    assert (m.name, m.key, m.input_size, m.weights_path) == (
        "mobilenetv2", "mobilenetv2-tv-imagenet-v1", 224, mobilenet_v2.default_weights())
    assert m.browser and model.resolve("mobilenetv2", "imagenet") == m
    # ONNX Runtime and Keras give the same features (cosine > 0.99999): one cache for both
    assert model.resolve(backend="keras").key == m.key
    inception = model.resolve("inceptionv3")
    assert (inception.input_size, inception.backend, inception.browser) == (299, "keras", False)
    own = tmp_path / "mine.pth"
    own.write_bytes(mobilenet_v2.default_weights().read_bytes())
    assert model.resolve("mobilenetv2", str(own)).key.startswith("mobilenetv2-") and model.resolve(
        "mobilenetv2", str(own)).key != m.key
    given = tmp_path / "f.npz"
    np.savez(given, ids=np.array(["a"]), features=np.ones((1, 4)))
    g = model.resolve("vgg16", None, str(given))
    assert g.backend == model.GIVEN and g.given == given and not g.browser and g.key.startswith("given-")
    with pytest.raises(UserError, match="unknown --model"):
        model.resolve("alexnet")
    with pytest.raises(UserError, match="weights file not found"):
        model.resolve("mobilenetv2", str(tmp_path / "missing.pth"))


def test_bad_weights_files_are_the_users_to_fix(tmp_path, fake_torch):  # noqa: F811
    """A hostile or foreign --weights file ends the build with a message naming the tensor."""
    forged = write_checkpoint(tmp_path / "forged.pth", {"features.0.0.weight": Tensor(
        Storage("0", np.arange(12)), 0, (32, 3, 3, 3), (27, 9, 3, 1))}, fake_torch)
    with pytest.raises(UserError, match=r"--weights .*forged.pth.*tensor 'features.0.0.weight': .*storage of 12"):
        model.resolve("mobilenetv2", str(forged)).load()
    other = write_checkpoint(tmp_path / "other.pth", {"fc.weight": Tensor(Storage("0", np.arange(6)), 0, (2, 3), (3, 1))},
                             fake_torch)
    with pytest.raises(UserError, match="tensor 'features.0.0.weight' is missing"):
        model.resolve("mobilenetv2", str(other)).load()
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x80\x02 not a checkpoint")
    with pytest.raises(UserError, match="--weights .*junk.pth"):
        model.resolve("mobilenetv2", str(junk)).onnx()


def test_small_default_build_never_imports_tensorflow(tmp_path):
    """ONNX Runtime runs the default model: a build pays none of TensorFlow's start-up."""
    images = tmp_path / "images"
    images.mkdir()
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)]):
        Image.new("RGB", (90 + 10 * i, 70), colour).save(images / f"{i}.png")
    code = ("import json, sys\nfrom pipeline.build import Settings, build\n"
            f"rep = build(Settings(images={str(images)!r}, out={str(tmp_path / 'site')!r}, "
            f"cache={str(tmp_path / 'cache')!r}))\n"
            "print(json.dumps([rep.items, sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'torch'))]))")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    items, heavy = json.loads(res.stdout.strip().splitlines()[-1])
    assert items == 4 and heavy == []


def test_keras_imagenet_weights_offline_fail_with_a_clear_message():
    try:
        ex = model.resolve("vgg16", "imagenet").load()
    except UserError as e:  # offline (CI): the message names the offline default and --weights
        assert "--model mobilenetv2" in str(e) and "--weights PATH" in str(e)
    else:  # online: the real ImageNet weights arrived
        assert ex(np.zeros((1, 224, 224, 3), np.uint8)).shape == (1, 512)


def test_features_made_during_the_thumbnail_stage_are_the_features_stages(tmp_path, extractor):
    """The stream takes each CNN input from the thumbnail stage's one decode (Pillow for a small
    file, libvips for a large one or a drawing): its vectors are those the features stage makes
    from the files, bit for bit, and the model loads once, only for new thumbnails."""
    from pipeline.thumbnails import ThumbSpec, make_thumbnails
    root = tmp_path / "images"
    root.mkdir()
    y, x = np.mgrid[0:1800, 0:2400]
    Image.fromarray(np.dstack([x % 256, y % 256, (x + y) % 256]).astype(np.uint8)).save(root / "large.png")
    decode(SVG / "1F34C.svg", 200, 150, "contain", [255, 255, 255]).write_to_file(str(root / "small.jpg"))
    (root / "cat.svg").write_bytes((SVG / "1F431.svg").read_bytes())
    digests = {rel: f"d{i}" for i, rel in enumerate(["large.png", "small.jpg", "cat.svg"])}
    spec = ThumbSpec((64, 64), "contain", 256, (255, 255, 255), 224)
    counting = Counting(extractor)
    with features.streaming(tmp_path / "streamed", counting, batch=2) as stream:
        out = make_thumbnails(root, digests, tmp_path / "streamed", spec, sink=stream.feed)
    assert not out.failed and counting.calls == 1
    streamed, _ = features.extract(root, list(digests.items()), tmp_path / "streamed", counting, [255] * 3)
    assert counting.calls == 1  # every vector was cached by the stream
    alone, _ = features.extract(root, list(digests.items()), tmp_path / "alone", counting, [255] * 3)
    assert counting.calls == 2
    np.testing.assert_array_equal(streamed, alone)
    assert np.all(np.linalg.norm(streamed, axis=1) > 0)
    with features.streaming(tmp_path / "streamed", counting) as stream:  # thumbnails made: nothing to do
        make_thumbnails(root, digests, tmp_path / "streamed", spec, sink=stream.feed)
    assert counting.calls == 2
