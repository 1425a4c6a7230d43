# Alveo U250 (VU13P-class, four SLRs, four DDR4 banks). XDMA shell, platform from AMD's Alveo U250 page.
VITIS_PLATFORM ?= xilinx_u250_gen3x16_xdma_4_1_202210_1
MEM_PORTS ?= 4
PE_ENTRIES ?= 16
KERNEL_MHZ ?= 300
# The stories110M maxima of aws-f1.mk; `fpgaserve estimate --platform u250` prints what they cost.
MAX_DIM ?= 768
MAX_HIDDEN_DIM ?= 2048
MAX_LAYERS ?= 12
MAX_HEADS ?= 12
MAX_SEQ_LEN ?= 1024
MAX_VOCAB ?= 32000
MAX_STEP ?= 32
MAX_KV_MUL ?= 8
