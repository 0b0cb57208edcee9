import numpy as np

from pipeline import mobilenet_v2
from pipeline.torch_weights import load_state_dict


def test_reads_torchvision_checkpoint_without_torch():
    state = load_state_dict(mobilenet_v2.default_weights())
    assert sum(v.size for k, v in state.items() if not k.endswith("num_batches_tracked")) == 3_538_984
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["classifier.1.weight"].dtype == np.float32
    # scalars are read after the pickle in the legacy format: they must hold the real value
    assert int(state["features.0.1.num_batches_tracked"]) > 0
    assert np.isfinite(state["features.5.conv.1.1.running_var"]).all()
