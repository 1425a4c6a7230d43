# Alveo U55C (HBM2, 32 pseudo-channels; AWS names it the F2 card's twin). PE width 4: 32 x 64 x 4 int8 MACs already take 4096 DSPs.
VITIS_PLATFORM ?= xilinx_u55c_gen3x16_xdma_3_202210_1
MEM_PORTS ?= 32
PE_ENTRIES ?= 4
KERNEL_MHZ ?= 300
# The maxima are the Makefile's (stories110M); `fpgaserve estimate --platform u55c` prints what they cost.
