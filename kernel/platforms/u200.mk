# Alveo U200 (VU9P-class, four DDR4 banks): the F1 card's twin. XDMA shell, platform from AMD's Alveo U200 page.
VITIS_PLATFORM ?= xilinx_u200_gen3x16_xdma_2_202110_1
MEM_PORTS ?= 4
PE_ENTRIES ?= 16
SCALE_ROWS ?= 16
ATTENTION_CHAINS ?= 4
KERNEL_MHZ ?= 300
# The maxima are the Makefile's (stories110M); `fpgaserve estimate --platform u200` prints what they cost.
