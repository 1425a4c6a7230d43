# Alveo U280 (HBM2, 32 pseudo-channels, plus two DDR4 banks). PE width 4, as the U55C.
VITIS_PLATFORM ?= xilinx_u280_gen3x16_xdma_1_202211_1
MEM_PORTS ?= 32
PE_ENTRIES ?= 4
KERNEL_MHZ ?= 300
# The maxima are the Makefile's (stories110M); `fpgaserve estimate --platform u280` prints what they cost.
