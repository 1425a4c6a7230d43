# Alveo U55C (HBM2, 32 pseudo-channels; AWS names it the F2 card's twin). PE width 4: 32 x 64 x 4 int8 MACs already take 4096 DSPs.
VITIS_PLATFORM ?= xilinx_u55c_gen3x16_xdma_3_202210_1
MEM_PORTS ?= 32
PE_ENTRIES ?= 4
KERNEL_MHZ ?= 300
# The stories110M maxima of aws-f1.mk; `fpgaserve estimate --platform u55c` prints what they cost.
MAX_DIM ?= 768
MAX_HIDDEN_DIM ?= 2048
MAX_LAYERS ?= 12
MAX_HEADS ?= 12
MAX_SEQ_LEN ?= 1024
MAX_VOCAB ?= 32000
MAX_STEP ?= 32
MAX_KV_MUL ?= 8
