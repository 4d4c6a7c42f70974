"""Compiled kernels (liqcore._libs Cython, liqcore._jit Numba, the venues' compiled scanner) against their pure-
Python twins in pysrc/, and the twins' shared structs."""
