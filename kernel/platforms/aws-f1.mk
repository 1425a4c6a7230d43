# AWS F1 (VU9P, four DDR4 banks). Retired by AWS on 2025-12-20: for those who still hold F1 AFIs.
# The platform comes with aws-fpga's vitis_setup.sh ($AWS_PLATFORM); F1's data clock defaults to 250 MHz.
VITIS_PLATFORM ?= $(if $(AWS_PLATFORM),$(AWS_PLATFORM),xilinx_aws-vu9p-f1_shell-v04261818_201920_3)
MEM_PORTS ?= 4
PE_ENTRIES ?= 16
KERNEL_MHZ ?= 250
# Sized for stories110M (dim 768, hidden 2048, 12 layers, 12 heads, seq_len 1024, vocab 32000): the VU9P's
# custom-logic region has about 7 MiB of BRAM and 30 MiB of URAM (`fpgaserve estimate --platform aws-f1`).
MAX_DIM ?= 768
MAX_HIDDEN_DIM ?= 2048
MAX_LAYERS ?= 12
MAX_HEADS ?= 12
MAX_SEQ_LEN ?= 1024
MAX_VOCAB ?= 32000
MAX_STEP ?= 32
MAX_KV_MUL ?= 8
