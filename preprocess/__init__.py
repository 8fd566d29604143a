"""Dataset readers, the synthetic dataset and the offline HDF5 preprocessing pipeline."""
