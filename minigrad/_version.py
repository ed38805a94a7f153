"""minigrad's version, in one place: the package, its metadata and `minigrad --version` read it."""

__version__ = "0.2.0"
