# Alveo U250 (VU13P-class, four SLRs, four DDR4 banks). XDMA shell, platform from AMD's Alveo U250 page.
VITIS_PLATFORM ?= xilinx_u250_gen3x16_xdma_4_1_202210_1
MEM_PORTS ?= 4
PE_ENTRIES ?= 16
SCALE_ROWS ?= 16
ATTENTION_CHAINS ?= 4
KERNEL_MHZ ?= 300
# The maxima are the Makefile's (stories110M); `fpgaserve estimate --platform u250` prints what they cost.
