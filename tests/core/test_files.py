"""minigrad.core.files.write_atomically: the one atomic writer behind Module.save and draw(path=...)."""

import errno
import os
import stat
import tempfile

import numpy as np
import pytest

from minigrad.core import files
from minigrad.core.files import write_atomically


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_writes_bytes_or_what_a_callable_writes_and_returns_the_path(tmp_path):
    path = tmp_path / "data.bin"
    assert write_atomically(path, b"first") == str(path)
    assert path.read_bytes() == b"first" and mode(path) == 0o644  # not mkstemp's private 0600

    def write(file):
        file.write(b"sec")
        file.write(bytearray(b"ond"))

    assert write_atomically(str(path), write, caller="save") == str(path)
    assert path.read_bytes() == b"second"
    assert write_atomically(path, memoryview(b"third")) == str(path)
    assert path.read_bytes() == b"third"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_replacing_a_file_keeps_its_permission_bits(tmp_path):
    path = tmp_path / "private.bin"
    path.write_bytes(b"old")
    path.chmod(0o600)
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o600


def test_a_missing_folder_is_an_error_naming_the_path_and_the_folder(tmp_path):
    path = tmp_path / "no" / "such" / "file.bin"
    with pytest.raises(FileNotFoundError) as raised:
        write_atomically(path, b"data", caller="save")
    assert str(raised.value) == (f"save: cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist; "
                                 "nothing was written")
    assert os.listdir(tmp_path) == []


def test_a_folder_as_the_path_is_an_error(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError) as raised:
        write_atomically(tmp_path / "folder", b"data", caller="draw")
    assert str(raised.value) == f"draw: {str(tmp_path / 'folder')!r} is a folder, not a file name"
    assert os.listdir(tmp_path / "folder") == []


def test_a_read_only_file_is_refused_and_left_byte_identical(tmp_path):
    # NOTE: os.replace would swap it (only the folder's permission counts), and
    # root passes os.access: the file's own mode bits are what is honoured.
    path = tmp_path / "kept.bin"
    path.write_bytes(b"precious")
    path.chmod(0o444)
    try:
        with pytest.raises(PermissionError) as raised:
            write_atomically(path, b"overwritten")
        assert str(raised.value) == f"write: {str(path)!r} is read-only; it was left as it was"
        assert path.read_bytes() == b"precious" and mode(path) == 0o444
        assert os.listdir(tmp_path) == ["kept.bin"]
    finally:
        path.chmod(0o644)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_a_path_that_is_not_a_regular_file_is_refused(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(OSError) as raised:
        write_atomically(pipe, b"data")
    assert str(raised.value) == f"write: {str(pipe)!r} is not a regular file; it was left as it was"
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


def test_a_folder_that_cannot_take_a_new_file_is_an_error(tmp_path, monkeypatch):
    path = tmp_path / "file.bin"

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError) as raised:
        write_atomically(path, b"data", caller="save")
    assert str(raised.value) == (f"save: cannot write {str(path)!r}: cannot create a file in folder "
                                 f"{str(tmp_path)!r} (Permission denied); nothing was written")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("failure", ["write", "fsync", "replace"])
def test_an_os_error_while_writing_names_the_path_and_keeps_the_old_file(tmp_path, monkeypatch, failure):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old contents")
    original = OSError(errno.ENOSPC, "No space left on device")

    def fail(*args, **kwargs):
        raise original

    def write(file):
        file.write(b"half a fi")
        if failure == "write":
            fail()
        file.write(b"le")

    if failure != "write":
        monkeypatch.setattr(os, failure, fail)
    with pytest.raises(OSError) as raised:
        write_atomically(path, write, caller="save")
    assert str(raised.value) == (f"save: writing {str(path)!r} failed ([Errno 28] No space left on device); "
                                 "the old file was left as it was")
    assert raised.value.__cause__ is original
    monkeypatch.undo()
    assert path.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["file.bin"]  # the temporary file is gone


def test_a_new_file_that_fails_leaves_nothing(tmp_path, monkeypatch):
    def broken_replace(source, target):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PermissionError) as raised:  # the class is kept
        write_atomically(tmp_path / "new.bin", b"data")
    assert str(raised.value).endswith("failed ([Errno 13] Permission denied); nothing was written")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("error", [ValueError("not an array"), KeyboardInterrupt()])
def test_other_exceptions_from_the_writer_pass_through_and_leave_no_trace(tmp_path, error):
    path = tmp_path / "file.bin"
    path.write_bytes(b"old")

    def write(file):
        file.write(b"partial")
        raise error

    with pytest.raises(type(error)) as raised:
        write_atomically(path, write)
    assert raised.value is error
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_content_must_be_bytes_or_a_callable(tmp_path):
    with pytest.raises(TypeError, match="draw: content must be bytes or a callable that writes to a file, got str"):
        write_atomically(tmp_path / "file.txt", "text", caller="draw")
    assert os.listdir(tmp_path) == []


def test_save_and_draw_both_write_through_this_helper(tmp_path, monkeypatch):
    # One way to write a file: Module.save and draw(path=...) both call write_atomically.
    import minigrad as mg
    from minigrad import nn
    from minigrad.tools import draw as drawing

    calls = []

    def recording(path, content, *, caller="write"):
        calls.append((os.fspath(path), caller))
        return files.write_atomically(path, content, caller=caller)

    monkeypatch.setattr(nn.modules, "write_atomically", recording)
    monkeypatch.setattr(drawing, "write_atomically", recording)
    model = nn.MLP([2, 2, 1], seed=0)
    model.save(tmp_path / "weights.npz")
    mg.draw(model.loss([0.0, 1.0], [1.0]), tmp_path / "graph.dot")
    assert calls == [(str(tmp_path / "weights.npz"), "save"), (str(tmp_path / "graph.dot"), "draw")]
    assert sorted(os.listdir(tmp_path)) == ["graph.dot", "weights.npz"]


@pytest.mark.parametrize("path, message", [("", "the path is empty; give a file name"),
                                           ("missing/", "ends in a separator, so it names a folder")])
def test_an_empty_path_or_a_folder_name_is_refused_and_nothing_is_written(tmp_path, monkeypatch, path, message):
    # Issue 19: save("") named a temporary file in the working folder.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=f"^save: .*{message}"):
        write_atomically(path, b"data", caller="save")
    assert os.listdir(tmp_path) == []


def test_save_and_onnx_export_refuse_an_empty_path(tmp_path, monkeypatch):
    import minigrad as mg

    monkeypatch.chdir(tmp_path)
    net = mg.nn.MLP([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match=r"^save: the path is empty"):
        net.save("")
    pytest.importorskip("onnx")
    with pytest.raises(ValueError, match=r"^onnx.export: the path is empty"):
        mg.onnx.export(net, (np.zeros(2),), "")
    assert os.listdir(tmp_path) == []
