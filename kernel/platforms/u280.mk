# Alveo U280 (HBM2, 32 pseudo-channels, plus two DDR4 banks). PE width 4, as the U55C.
VITIS_PLATFORM ?= xilinx_u280_gen3x16_xdma_1_202211_1
MEM_PORTS ?= 32
PE_ENTRIES ?= 4
KERNEL_MHZ ?= 300
# The stories110M maxima of aws-f1.mk; `fpgaserve estimate --platform u280` prints what they cost.
MAX_DIM ?= 768
MAX_HIDDEN_DIM ?= 2048
MAX_LAYERS ?= 12
MAX_HEADS ?= 12
MAX_SEQ_LEN ?= 1024
MAX_VOCAB ?= 32000
MAX_STEP ?= 32
MAX_KV_MUL ?= 8
