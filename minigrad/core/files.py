"""Writing files atomically: the one helper behind `Module.save` and `draw(path=...)`.

`write_atomically` writes to a temporary file in the target's folder, flushes
it to disk, and moves it over the target with ``os.replace``, so a reader sees
the old file or the new one, never half a file.  The usual mistakes (a
missing folder, a read-only target, a folder given as the file name) are
refused before anything is written, with an error that names the path and the
problem; on any failure the old file is byte-for-byte as it was and no
temporary file is left behind.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["write_atomically"]

_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def write_atomically(path: str | os.PathLike[str], content: bytes | str | Callable[[BinaryIO], object], *,
                     caller: str = "write") -> str:
    """Write ``content`` to ``path`` atomically; return ``path`` as a string.

    ``content`` is bytes, or a callable that writes into the open binary file
    it is given (``content(file)``), so large files can be streamed.
    ``caller`` starts every error message (``"save"``, ``"draw"``).

    Errors, each naming ``path`` (nothing is written and no old file changes):

    * ValueError: ``path`` is empty, or ends in a separator (a folder's name);
    * FileNotFoundError: the folder does not exist;
    * IsADirectoryError: ``path`` is a folder;
    * PermissionError: ``path`` is read-only, or the folder is not writable;
    * OSError: ``path`` is not a regular file (a device, a pipe), or the disk
      fails while writing (the original error is chained).

    An exception raised by ``content`` itself passes through unchanged (an
    OSError gains the path) after the temporary file is removed.  The new file
    keeps the old file's permission bits, or gets ``0o644``.
    """
    if not (callable(content) or isinstance(content, (bytes, bytearray, memoryview))):
        raise TypeError(f"{caller}: content must be bytes or a callable that writes to a file, "
                        f"got {type(content).__name__}")
    path = os.fspath(path)
    if not path:
        # NOTE: os.path.abspath("") is the working folder, so "" would name a temporary file there.
        raise ValueError(f"{caller}: the path is empty; give a file name")
    if isinstance(path, str) and path.endswith(("/", os.sep)) and not os.path.isdir(path):
        raise ValueError(f"{caller}: {path!r} ends in a separator, so it names a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"{caller}: {path!r} is a folder, not a file name")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{caller}: cannot write {path!r}: folder {folder!r} does not exist; "
                                "nothing was written")
    old_mode = None
    if os.path.exists(path):
        status = os.stat(path)
        if not stat.S_ISREG(status.st_mode):
            # NOTE: os.replace would swap a device or a pipe for a regular file.
            raise OSError(f"{caller}: {path!r} is not a regular file; it was left as it was")
        old_mode = stat.S_IMODE(status.st_mode)
        # NOTE: os.replace would swap a read-only file without complaint (only
        # the folder's permission counts, and root passes os.access), so honour
        # the file's own bits too.
        if not old_mode & _WRITE_BITS or not os.access(path, os.W_OK):
            raise PermissionError(f"{caller}: {path!r} is read-only; it was left as it was")
    unchanged = "the old file was left as it was" if old_mode is not None else "nothing was written"
    try:
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as error:
        raise _restated(error, f"{caller}: cannot write {path!r}: cannot create a file in folder {folder!r} "
                               f"({error.strerror or error}); {unchanged}") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            if callable(content):
                content(file)
            else:
                file.write(content)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); keep the old file's mode, or make it readable.
        os.chmod(temporary, old_mode if old_mode is not None else 0o644)
        os.replace(temporary, path)
    except BaseException as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise _restated(error, f"{caller}: writing {path!r} failed ({error}); {unchanged}") from error
        raise
    return path


def _restated(error, message):
    """An OSError of the same class as ``error`` (PermissionError, ...) with ``message``."""
    try:
        return type(error)(message)
    except TypeError:  # a subclass with a constructor of its own
        return OSError(message)
