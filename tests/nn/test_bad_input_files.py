"""Bad state files: `Module.load` refuses what it cannot trust (pickles,
empty, truncated or foreign files, hostile archives: members the model lacks,
headers declaring other dtypes or shapes or 10**12 elements, zip bombs)
with a ValueError or TypeError naming the file and the member, without
unpickling, without large allocations and with the model unchanged; `save`
never leaves half a file.  The atomic writer itself is tested in tests/test_files.py.
"""

import contextlib
import io
import os
import pathlib
import pickle
import re
import tracemalloc
import zipfile

import numpy as np
import pytest

from minigrad import nn
from minigrad.nn import MLP
from model_state import assert_unchanged, snapshot


# -- files: load refuses what it cannot trust, save never leaves half a file -----------------------


class Payload:
    """Unpickling this would create the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def payload_files(folder):
    marker = folder / "code-ran"
    files = {}
    files["npz with a pickled object"] = folder / "object.npz"
    np.savez(files["npz with a pickled object"], w=np.array([Payload(marker)], dtype=object))
    files["npy with a pickled object"] = folder / "object.npy"
    np.save(files["npy with a pickled object"], np.array([Payload(marker)], dtype=object))
    files["raw pickle"] = folder / "raw.npz"
    files["raw pickle"].write_bytes(pickle.dumps({"w": Payload(marker)}))
    return marker, files


@pytest.mark.parametrize("kind", ["npz with a pickled object", "npy with a pickled object", "raw pickle"])
def test_pickle_bearing_files_are_refused_and_no_code_runs(tmp_path, kind):
    marker, files = payload_files(tmp_path)
    pickle.loads(pickle.dumps(Payload(tmp_path / "control")))  # the payload does work when unpickled
    assert (tmp_path / "control").exists()
    model = MLP([2, 2, 1], seed=0)
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"load: .*" + re.escape(files[kind].name)):
        model.load(files[kind])
    assert not marker.exists(), "unpickling ran code"
    assert_unchanged(model, before)


def test_other_unreadable_files_are_refused(tmp_path):
    import zipfile
    good = tmp_path / "good.npz"
    MLP([2, 2, 1], seed=3).save(good)
    data = good.read_bytes()
    cases = {"truncated.npz": data[: len(data) - 40], "empty.npz": b"", "noise.npz": os.urandom(300),
             "header-only.npz": data[:30]}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    with zipfile.ZipFile(tmp_path / "zip-of-text.npz", "w") as archive:
        archive.writestr("w.npy", "not an array")
    model = MLP([2, 2, 1], seed=0)
    before = snapshot(model)
    for name in list(cases) + ["zip-of-text.npz"]:
        with pytest.raises(ValueError, match=r"load: .*" + re.escape(name)):
            model.load(tmp_path / name)
        assert_unchanged(model, before)
    with pytest.raises(ValueError, match=r"load: .*not a readable"):
        model.load(tmp_path)  # a folder
    with pytest.raises(FileNotFoundError, match=r"load: .*missing.npz' does not exist"):
        model.load(tmp_path / "missing.npz")
    assert_unchanged(model, before)


def test_save_failures_leave_the_old_file_byte_identical(tmp_path, monkeypatch):
    path = tmp_path / "weights.npz"
    MLP([2, 2, 1], seed=0).save(path)
    old = path.read_bytes()
    newer = MLP([2, 2, 1], seed=1)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        newer.save(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist; nothing was written"):
        newer.save(tmp_path / "missing" / "weights.npz")

    def broken(handle, arrays):
        handle.write(b"PK half a file")
        raise OSError("disk full")

    monkeypatch.setattr(nn.modules, "_write_npz", broken)
    with pytest.raises(OSError, match="disk full"):
        newer.save(path)
    monkeypatch.undo()
    path.chmod(0o444)
    try:
        with pytest.raises(PermissionError, match="read-only; it was left as it was"):
            newer.save(path)
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.npz"]  # no temporary files left
    restored = MLP([2, 2, 1], seed=2).load(path)
    assert all(np.array_equal(a, b) for a, b in zip(restored.state_dict().values(),
                                                     MLP([2, 2, 1], seed=0).state_dict().values()))


# -- hostile archives: names, headers and sizes checked before any data is read --------------------
#
# The archives below are built by hand (zipfile and numpy's header writers) for
# MLP([2, 2, 1]): members w.npy (2, 2), bias_hidden.npy (2,), v.npy (2, 1) and
# bias_output.npy (1,), all float64.

SIZES = [2, 2, 1]
MIB = 2 ** 20


def npy_header(shape, dtype="<f8", fortran_order=False, version=(2, 0)):
    """The magic string and header of an .npy file declaring ``shape`` and ``dtype``."""
    buffer = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": fortran_order,
              "shape": tuple(shape)}
    if version == (1, 0):
        np.lib.format.write_array_header_1_0(buffer, header)
    else:
        np.lib.format.write_array_header_2_0(buffer, header)
    return buffer.getvalue()


def npy_bytes(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def good_members(seed=1):
    """{member name: .npy bytes} of a state that MLP(SIZES) loads."""
    return {f"{name}.npy": npy_bytes(array) for name, array in MLP(SIZES, seed=seed).state_dict().items()}


def write_archive(path, members, compression=zipfile.ZIP_STORED):
    """A zip of ``members``: {name: bytes, or a callable that streams into the open member}."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, content in members.items():
            if callable(content):
                with archive.open(name, "w", force_zip64=True) as member:
                    content(member)
            else:
                archive.writestr(name, content)
    return path


def zeros_after(header, count):
    """A member writer: ``header`` then ``count`` zero bytes, streamed a MiB at a time."""
    def write(member):
        member.write(header)
        chunk = bytes(MIB)
        for start in range(0, count, MIB):
            member.write(chunk[:min(MIB, count - start)])
    return write


@contextlib.contextmanager
def peak_allocation():
    """Measure the most memory Python and numpy held at once inside the block (bytes, in ``[0]``)."""
    measured = [None]
    tracemalloc.start()
    try:
        yield measured
        measured[0] = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refused(model, path, error, message):
    """``model.load(path)`` raises ``error`` matching ``message`` (after the file's name), changes nothing,
    and allocates less than 4 MiB on the way."""
    before = snapshot(model)
    with peak_allocation() as peak, pytest.raises(error) as raised:
        model.load(path)
    assert re.match(rf"load: {re.escape(repr(str(path)))}: {message}", str(raised.value)), str(raised.value)
    assert peak[0] < 4 * MIB, f"{peak[0]:,} bytes allocated"
    assert_unchanged(model, before)
    return str(raised.value)


@pytest.mark.parametrize("net", [nn.MLP, nn.ScalarMLP])
@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_a_member_declaring_10_to_the_12_elements_is_refused_without_allocating(tmp_path, net, version):
    # np.load used to allocate the declared 8 TB (a MemoryError) before reading a byte of data.
    members = good_members()
    members["w.npy"] = npy_header((10 ** 6, 10 ** 6), version=version) + bytes(32)
    path = write_archive(tmp_path / "huge.npz", members)
    refused(net(SIZES, seed=0), path, ValueError,
            re.escape("member 'w.npy': parameter 'w' has shape (2, 2) in the model but (1000000, 1000000) in the file"))


def test_a_zip_bomb_behind_a_plausible_header_is_refused_before_decompressing(tmp_path):
    # 64 MiB of zeros deflate to 64 KiB; the header declares the model's (2, 2) float64, 32 bytes.
    # np.load read just those 32 bytes and loaded zeros; now the directory's size gives it away.
    header = npy_header((2, 2))
    members = good_members()
    members["w.npy"] = zeros_after(header, 64 * MIB)
    path = write_archive(tmp_path / "bomb.npz", members, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < MIB
    refused(MLP(SIZES, seed=0), path, ValueError,
            re.escape(f"member 'w.npy' is {len(header) + 64 * MIB:,} bytes uncompressed, but its header "
                      f"(float64, shape (2, 2)) implies {len(header) + 32:,}"))


def understate_size(path, name, size):
    """Make the zip's local header and directory entry of member ``name`` claim ``size`` bytes uncompressed."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(name).header_offset
    assert data[local:local + 4] == b"PK\x03\x04"
    data[local + 22:local + 26] = size.to_bytes(4, "little")
    central = data.index(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(name)] != name.encode():
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24:central + 28] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


def test_a_zip_bomb_whose_directory_understates_its_size_is_read_no_further(tmp_path):
    # The same bomb, its directory claiming the 160 bytes the header implies:
    # the read stops there, and the CRC (of all 64 MiB) does not match.
    header = npy_header((2, 2))
    members = good_members()
    members["w.npy"] = header + bytes(64 * MIB)
    path = write_archive(tmp_path / "liar.npz", members, compression=zipfile.ZIP_DEFLATED)
    understate_size(path, "w.npy", len(header) + 32)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("w.npy").file_size == len(header) + 32  # the lie took
    refused(MLP(SIZES, seed=0), path, ValueError,
            re.escape("member 'w.npy' is not a readable .npy array (Bad CRC-32 for file 'w.npy')"))


def test_a_header_length_of_4_gib_is_not_read_as_a_header(tmp_path):
    # Version 2.0 headers give their length in 4 bytes; numpy would read that
    # many bytes (here 64 MiB of a bomb) before checking it.
    members = good_members()
    members["w.npy"] = zeros_after(b"\x93NUMPY\x02\x00" + (2 ** 32 - 1).to_bytes(4, "little"), 64 * MIB)
    path = write_archive(tmp_path / "long-header.npz", members, compression=zipfile.ZIP_DEFLATED)
    refused(MLP(SIZES, seed=0), path, ValueError,
            re.escape("member 'w.npy' is not a readable .npy array (EOF: reading array header, "
                      "expected 4294967295 bytes got 16372)"))


def test_unexpected_members_are_refused_before_any_member_is_opened(tmp_path, monkeypatch):
    members = good_members()
    members["extra.npy"] = zeros_after(npy_header((8 * MIB,)), 64 * MIB)  # a valid 64 MiB array
    members["notes.txt"] = b"not an array"
    path = write_archive(tmp_path / "extra.npz", members, compression=zipfile.ZIP_DEFLATED)
    opened = []
    original = zipfile.ZipFile.open

    def recording(self, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording)
    refused(MLP(SIZES, seed=0), path, ValueError,
            re.escape("unexpected member(s) 'extra.npy', 'notes.txt' (the model has 'w', 'bias_hidden', 'v', "
                      "'bias_output')"))
    assert opened == []  # nothing decompressed, not even the good members


def test_missing_and_duplicated_members_are_refused(tmp_path):
    members = good_members()
    del members["bias_output.npy"]
    members["w"] = members["w.npy"]  # a member without the .npy suffix is not the parameter
    path = write_archive(tmp_path / "missing.npz", members)
    refused(MLP(SIZES, seed=0), path, ValueError,
            re.escape("missing parameter(s) 'bias_output'; unexpected member(s) 'w' (the model has 'w', "))
    path = write_archive(tmp_path / "twice.npz", good_members())
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("v.npy", npy_bytes(np.zeros((2, 1))))
    refused(MLP(SIZES, seed=0), path, ValueError, re.escape("member 'v.npy' appears twice"))


@pytest.mark.parametrize("dtype, error, message", [
    ("complex128", TypeError, "member 'w.npy': parameter 'w' needs real numbers, but the member has dtype complex128"),
    ("bool", TypeError, "member 'w.npy': parameter 'w' needs real numbers, but the member has dtype bool"),
    ("<U3", TypeError, "member 'w.npy': parameter 'w' needs real numbers, but the member has dtype <U3"),
    ([("a", "<f8")], TypeError, "member 'w.npy': parameter 'w' needs real numbers, but the member has dtype"),
    ("object", ValueError, "member 'w.npy' holds Python objects (dtype object); load never unpickles"),
])
def test_a_members_dtype_is_checked_from_its_header(tmp_path, dtype, error, message):
    members = good_members()
    # The header alone decides: what follows it is never read.
    members["w.npy"] = npy_header((2, 2), dtype) + bytes(64)
    path = write_archive(tmp_path / "dtype.npz", members)
    refused(MLP(SIZES, seed=0), path, error, re.escape(message))


def test_a_pickled_object_member_of_the_right_shape_runs_no_code(tmp_path):
    marker = tmp_path / "code-ran"
    members = good_members()
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([[Payload(marker)] * 2] * 2, dtype=object), allow_pickle=True)
    members["w.npy"] = buffer.getvalue()
    path = write_archive(tmp_path / "pickled.npz", members)
    refused(MLP(SIZES, seed=0), path, ValueError,
            re.escape("member 'w.npy' holds Python objects (dtype object); load never unpickles"))
    assert not marker.exists()


@pytest.mark.parametrize("content, message", [
    (lambda header: header + bytes(16), re.escape("member 'w.npy' is 144 bytes uncompressed, but its header "
                                                  "(float64, shape (2, 2)) implies 160")),
    (lambda header: header + bytes(48), re.escape("member 'w.npy' is 176 bytes uncompressed, but its header "
                                                  "(float64, shape (2, 2)) implies 160")),
    (lambda header: b"\x93NUMPY\x09\x00" + header[8:] + bytes(32),
     r"member 'w.npy' is not a readable .npy array \(unknown .npy format version 9.0\)"),
    (lambda header: b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f8'", r"member 'w.npy' is not a readable .npy array \("),
    (lambda header: b"PK\x03\x04 not numpy", r"member 'w.npy' is not a readable .npy array \(the magic string "),
    (lambda header: b"", r"member 'w.npy' is not a readable .npy array \(EOF"),
], ids=["short data", "long data", "unknown version", "truncated header", "not npy", "empty member"])
def test_a_member_that_is_not_what_its_header_says_is_refused(tmp_path, content, message):
    members = good_members()
    members["w.npy"] = content(npy_header((2, 2)))
    path = write_archive(tmp_path / "odd.npz", members)
    text = refused(MLP(SIZES, seed=0), path, ValueError, message)
    assert "\n" not in text


@pytest.mark.parametrize("compression, method", [(zipfile.ZIP_BZIP2, 12), (zipfile.ZIP_LZMA, 14)])
def test_compression_methods_numpy_does_not_write_are_refused_unread(tmp_path, compression, method):
    # zipfile decompresses bzip2 and lzma without a bound on the output of one read.
    path = write_archive(tmp_path / "bzip.npz", good_members(), compression=compression)
    refused(MLP(SIZES, seed=0), path, ValueError,
            re.escape(f"member 'w.npy' uses zip compression method {method}; only stored and deflate "
                      "(what numpy writes) are read"))


@pytest.mark.parametrize("net", [nn.MLP, nn.ScalarMLP])
@pytest.mark.parametrize("kind", ["savez", "savez_compressed", "fortran order", "big-endian float32",
                                  "integers", "version 1.0", "version 3.0"])
def test_every_npz_numpy_writes_for_the_model_still_loads(tmp_path, net, kind):
    source = MLP(SIZES, seed=4).state_dict()
    path = tmp_path / "good.npz"
    if kind == "savez":
        np.savez(path, **source)
    elif kind == "savez_compressed":
        np.savez_compressed(path, **source)
    elif kind == "fortran order":
        np.savez(path, **{name: np.asfortranarray(array) for name, array in source.items()})
        with zipfile.ZipFile(path) as archive, archive.open("w.npy") as member:
            assert b"'fortran_order': True" in member.read(128)
    elif kind == "big-endian float32":
        source = {name: array.astype(">f4") for name, array in source.items()}
        np.savez(path, **source)
    elif kind == "integers":
        source = {name: np.arange(array.size, dtype=np.int16).reshape(array.shape) for name, array in source.items()}
        np.savez(path, **source)
    else:
        version = (1, 0) if kind == "version 1.0" else (2, 0)
        members = {}
        for name, array in source.items():
            header = npy_header(array.shape, version=version)
            if kind == "version 3.0":
                header = header[:6] + b"\x03\x00" + header[8:]  # 3.0: a 2.0 header in utf8
            members[f"{name}.npy"] = header + array.tobytes()
        write_archive(path, members)
    model = net(SIZES, seed=0).load(path)
    for name, array in model.state_dict().items():
        assert array.dtype == np.float64
        np.testing.assert_array_equal(array, source[name].astype(np.float64))
