# Alveo U200 (VU9P-class, four DDR4 banks): the F1 card's twin. XDMA shell, platform from AMD's Alveo U200 page.
VITIS_PLATFORM ?= xilinx_u200_gen3x16_xdma_2_202110_1
MEM_PORTS ?= 4
PE_ENTRIES ?= 16
KERNEL_MHZ ?= 300
# The stories110M maxima of aws-f1.mk; `fpgaserve estimate --platform u200` prints what they cost.
MAX_DIM ?= 768
MAX_HIDDEN_DIM ?= 2048
MAX_LAYERS ?= 12
MAX_HEADS ?= 12
MAX_SEQ_LEN ?= 1024
MAX_VOCAB ?= 32000
MAX_STEP ?= 32
MAX_KV_MUL ?= 8
