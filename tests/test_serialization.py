"""bp.save / bp.load: round trips, no pickle, atomic writes, clear errors."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn


def test_round_trip_of_nested_containers(tmp_path):
    obj = {"model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(2)},
           "state": {0: {"step": 3, "buf": np.ones(2)}, 7: {"step": 1}},
           "tuple": (1, 2.5, "three", None, True), "list": [1, [2, np.int64(3)]], "tensor": bp.tensor([1.0, 2.0]),
           "text": "ünïcode", "nan": float("nan")}
    bp.save(obj, tmp_path / "x.npz")
    back = bp.load(tmp_path / "x.npz")
    np.testing.assert_array_equal(back["model"]["w"], obj["model"]["w"])
    assert back["model"]["w"].dtype == np.float32
    assert set(back["state"]) == {0, 7} and back["state"][0]["step"] == 3
    assert back["tuple"] == (1, 2.5, "three", None, True)
    assert back["list"] == [1, [2, 3]] and back["text"] == "ünïcode" and np.isnan(back["nan"])
    np.testing.assert_array_equal(back["tensor"], [1.0, 2.0])


def test_files_load_without_pickle(tmp_path):
    bp.save(nn.Linear(3, 2).state_dict(), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        assert len(archive.files) == 3


def test_model_state_dict_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    bp.save(model.state_dict(), tmp_path / "m.npz")
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    other.load_state_dict(bp.load(tmp_path / "m.npz"))
    for a, b in zip(model.parameters(), other.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_failed_save_leaves_no_file(tmp_path):
    with pytest.raises(TypeError, match="cannot store a object"):
        bp.save({"bad": object()}, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []
    bp.save({"a": 1}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="object arrays"):
        bp.save({"a": np.array([object()])}, tmp_path / "x.npz")
    assert bp.load(tmp_path / "x.npz") == {"a": 1}  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_load_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        bp.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not one bp.save wrote"):
        bp.load(tmp_path / "foreign.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable bprop file"):
        bp.load(tmp_path / "junk.npz")
