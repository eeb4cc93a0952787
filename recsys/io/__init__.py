"""Shared I/O at the bottom of the tree: atomic writes, sparse matrices in ``.npz``, list files.

Everything visrec writes goes through :mod:`recsys.io.atomic` (temp file, fsync, rename), so a
killed run never leaves a half-written artifact.
"""

from .atomic import atomic_dir, atomic_file, atomic_write_bytes, atomic_write_text, default_mode
from .checksum import file_sha256
from .npz import csr_arrays, csr_from_arrays, load_csr, save_csr

__all__ = ["atomic_dir", "atomic_file", "atomic_write_bytes", "atomic_write_text", "default_mode", "csr_arrays",
           "csr_from_arrays", "load_csr", "save_csr", "file_sha256"]
