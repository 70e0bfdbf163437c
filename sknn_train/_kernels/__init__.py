"""Compiled kernels. Nothing here imports scikit-learn."""
