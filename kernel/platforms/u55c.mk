# Alveo U55C (HBM2, 32 pseudo-channels; AWS names it the F2 card's twin). Sized to fit the part's 9,024
# DSPs with a fifth to spare (`fpgaserve estimate --platform u55c` counts 7,256): PE width 2 (32 x 64 x 2
# int8 MACs, 2,048 DSPs), the scale stage at 4 rows a cycle (an entry in 4 cycles: the 2-entry block
# still fits the 8 slots its float sums need), and 4 attention chains of 8 ports' loaders each.
VITIS_PLATFORM ?= xilinx_u55c_gen3x16_xdma_3_202210_1
MEM_PORTS ?= 32
PE_ENTRIES ?= 2
SCALE_ROWS ?= 4
ATTENTION_CHAINS ?= 4
KERNEL_MHZ ?= 300
# The maxima are the Makefile's (stories110M); `fpgaserve estimate --platform u55c` prints what they cost.
