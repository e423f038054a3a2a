"""bp.save / bp.load: round trips, no pickle, atomic writes, clear errors."""

import os
import stat

import numpy as np
import pytest

import bprop as bp
from bprop import nn, optim


def test_round_trip_of_nested_containers(tmp_path):
    obj = {
        "model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.zeros(2)},
        "state": {0: {"step": 3, "buf": np.ones(2)}, 7: {"step": 1}},
        "tuple": (1, 2.5, "three", None, True),
        "list": [1, [2, np.int64(3)]],
        "tensor": bp.tensor([1.0, 2.0]),
        "text": "ünïcode",
        "nan": float("nan"),
        "big": 2**70,
        "inf": float("-inf"),
    }
    bp.save(obj, tmp_path / "x.npz")
    back = bp.load(tmp_path / "x.npz")
    np.testing.assert_array_equal(back["model"]["w"], obj["model"]["w"])
    assert back["model"]["w"].dtype == np.float32 and back["model"]["b"].dtype == np.float64
    assert set(back["state"]) == {0, 7} and back["state"][0]["step"] == 3
    np.testing.assert_array_equal(back["state"][0]["buf"], np.ones(2))
    assert back["tuple"] == (1, 2.5, "three", None, True)
    assert back["list"] == [1, [2, 3]] and back["text"] == "ünïcode" and np.isnan(back["nan"])
    assert back["big"] == 2**70 and back["inf"] == float("-inf")
    np.testing.assert_array_equal(back["tensor"], [1.0, 2.0])


def test_keys_of_every_hashable_kind_and_their_order(tmp_path):
    obj = {"b": 1, "a": 2, "$array": "a key that looks like a marker"}
    mixed = {3: "int", "x": "str", (1, "y"): "tuple", None: "none", 2.5: "float"}
    bp.save([obj, mixed], tmp_path / "k.npz")
    back_obj, back_mixed = bp.load(tmp_path / "k.npz")
    assert back_obj == obj and list(back_obj) == ["b", "a", "$array"]
    assert back_mixed == mixed and list(back_mixed) == list(mixed)


@pytest.mark.parametrize(
    "array",
    [
        np.array(3.5),
        np.zeros((0, 3)),
        np.arange(4, dtype=np.int64),
        np.array([True, False]),
        np.ones((2, 2), dtype=np.float16),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.array(["ab", "c"]),
    ],
)
def test_arrays_keep_dtype_shape_and_values(tmp_path, array):
    bp.save({"a": array}, tmp_path / "a.npz")
    back = bp.load(tmp_path / "a.npz")["a"]
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_top_level_values_other_than_dicts(tmp_path):
    for obj in ([1, 2], (np.ones(1),), 7, "text", None):
        bp.save(obj, tmp_path / "o.npz")
        back = bp.load(tmp_path / "o.npz")
        assert type(back) is type(obj)


def test_files_load_without_pickle(tmp_path):
    bp.save(nn.Linear(3, 2).state_dict(), tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        assert len(archive.files) == 3  # weight, bias and the structure
        assert {archive[name].dtype for name in archive.files} <= {np.dtype(np.float32), np.dtype(np.uint8)}


def test_path_is_used_as_given(tmp_path):
    bp.save({"a": 1}, tmp_path / "deeper" / "model.pt")
    assert [p.name for p in (tmp_path / "deeper").iterdir()] == ["model.pt"]
    bp.save({"a": 2}, str(tmp_path / "deeper" / "model.pt"))
    assert bp.load(str(tmp_path / "deeper" / "model.pt")) == {"a": 2}


def test_model_state_dict_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model(bp.randn(5, 3))  # move the running statistics off their initial values
    bp.save(model.state_dict(), tmp_path / "m.npz")
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    other.load_state_dict(bp.load(tmp_path / "m.npz"))
    for (key, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=key)
        assert a.dtype == b.dtype


def test_optimizer_state_dict_round_trip(tmp_path):
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.9))
    model(bp.randn(4, 3)).sum().backward()
    opt.step()
    bp.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "c.npz")
    back = bp.load(tmp_path / "c.npz")["optimizer"]
    assert back["param_groups"][0]["betas"] == (0.8, 0.9)
    other = optim.Adam(nn.Linear(3, 2).parameters())
    other.load_state_dict(back)
    assert other.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    for i, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(other.state_dict()["state"][i][key], value)


def test_unsupported_values_raise_before_the_file_is_touched(tmp_path):
    with pytest.raises(TypeError, match="cannot store a object"):
        bp.save({"bad": object()}, tmp_path / "x.npz")
    assert list(tmp_path.iterdir()) == []
    bp.save({"a": 1}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="object arrays"):
        bp.save({"a": np.array([object()])}, tmp_path / "x.npz")
    assert bp.load(tmp_path / "x.npz") == {"a": 1}  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]


def test_a_write_failing_halfway_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    bp.save({"version": 1}, tmp_path / "x.npz")

    def crash(handle):
        handle.write(b"PK half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", lambda handle, **arrays: crash(handle))
    with pytest.raises(OSError, match="disk full"):
        bp.save({"version": 2, "w": np.ones(1000)}, tmp_path / "x.npz")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["x.npz"]
    assert bp.load(tmp_path / "x.npz") == {"version": 1}


def test_a_file_that_cannot_be_created_is_named_not_its_temporary(tmp_path, monkeypatch):
    def refuse(path, *args):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError) as caught:
        bp.save({"a": 1}, tmp_path / "x.npz")
    assert str(caught.value) == f"[Errno 13] cannot write {tmp_path / 'x.npz'}: Permission denied"


@pytest.mark.skipif(os.name != "posix", reason="permission bits are POSIX")
def test_new_files_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        bp.save({"a": 1}, tmp_path / "x.npz")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "x.npz").stat().st_mode) == 0o644


def test_load_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file"):
        bp.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "foreign.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match=r"not one bp.save wrote"):
        bp.load(tmp_path / "foreign.npz")
    np.save(tmp_path / "bare.npy", np.zeros(2))
    with pytest.raises(ValueError, match="bare array"):
        bp.load(tmp_path / "bare.npy")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a readable bprop file"):
        bp.load(tmp_path / "junk.npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.npz is not a readable bprop file: the file is empty$"):
        bp.load(tmp_path / "empty.npz")


def test_damaged_files_raise_a_clear_error(tmp_path):
    bp.save({"w": np.arange(1000.0)}, tmp_path / "x.npz")
    payload = (tmp_path / "x.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(payload[: len(payload) // 2])
    with pytest.raises(ValueError, match=r"truncated.npz is not a readable bprop file"):
        bp.load(tmp_path / "truncated.npz")
    flipped = bytearray(payload)
    flipped[200] ^= 0xFF  # inside the stored array: the zip's CRC check catches it
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"flipped.npz is damaged"):
        bp.load(tmp_path / "flipped.npz")


def test_a_pickled_object_inside_an_npz_is_refused(tmp_path):
    np.savez(
        tmp_path / "evil.npz",
        __bprop_structure__=np.frombuffer(b'{"$dict": {"a": {"$array": "a0"}}}', dtype=np.uint8),
        a0=np.array([{"x": 1}], dtype=object),
    )
    with pytest.raises(ValueError, match=r"evil.npz is damaged or not a bprop file.*pickle"):
        bp.load(tmp_path / "evil.npz")


def test_a_failing_first_save_leaves_no_file_at_all(tmp_path, monkeypatch):
    monkeypatch.setattr(np, "savez", lambda handle, **arrays: (handle.write(b"PK"), 1 / 0))
    with pytest.raises(ZeroDivisionError):
        bp.save({"w": np.ones(3)}, tmp_path / "new.npz")
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_with_int_keys_tuples_and_none_loads_with_numpy_alone(tmp_path):
    ckpt = {
        "epoch": 3,
        "best": None,
        "shape": (2, 3),
        "history": {0: {"loss": 1.5}, 1: {"loss": 0.75}},
        "names": ("w", "b"),
        "weights": {"w": np.ones((2, 3), np.float32)},
    }
    bp.save(ckpt, tmp_path / "ckpt.pt")
    with np.load(tmp_path / "ckpt.pt", allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    assert any(a.dtype == np.float32 and a.shape == (2, 3) for a in arrays.values())
    back = bp.load(tmp_path / "ckpt.pt")
    assert back["history"] == {0: {"loss": 1.5}, 1: {"loss": 0.75}} and back["best"] is None
    assert back["shape"] == (2, 3) and back["names"] == ("w", "b") and back["epoch"] == 3


def test_foreign_files_are_refused_with_the_path_in_the_message(tmp_path):
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"notes.txt is not a readable bprop file"):
        bp.load(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match=r"is not a readable bprop file"):
        bp.load(tmp_path)  # a directory
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")  # a zip too, but of pickles
    with pytest.raises(ValueError, match=r"torch.pt is an .npz file but not one bp.save wrote"):
        bp.load(tmp_path / "torch.pt")
