"""Measurement probes, one per kind of memory (each a separate field, never mixed):
``tensors`` (exact tensor accounting), ``rss`` (resident memory), ``gpu`` (CUDA allocator and
NVML)."""
