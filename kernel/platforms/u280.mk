# Alveo U280 (HBM2, 32 pseudo-channels, plus two DDR4 banks). Sized as the U55C (u55c.mk says why).
VITIS_PLATFORM ?= xilinx_u280_gen3x16_xdma_1_202211_1
MEM_PORTS ?= 32
PE_ENTRIES ?= 2
SCALE_ROWS ?= 4
ATTENTION_CHAINS ?= 4
KERNEL_MHZ ?= 300
# The maxima are the Makefile's (stories110M); `fpgaserve estimate --platform u280` prints what they cost.
