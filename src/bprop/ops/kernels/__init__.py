"""The NumPy kernels the ops call: memory layouts, im2col/im2row, col2im, fused loops, work split
over bprop's threads. The tuning lives here, so that an op file reads as its math."""
