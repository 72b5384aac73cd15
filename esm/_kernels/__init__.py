"""Compiled Cython kernels, built from ``cython_kernels/*.pyx`` by ``setup.py``.

Nothing here is public API: each kernel is wrapped by a Python function in the
subpackage that owns it, which checks shapes, dtypes and units.
"""
