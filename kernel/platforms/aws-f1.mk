# AWS F1 (VU9P, four DDR4 banks). Retired by AWS on 2025-12-20: for those who still hold F1 AFIs.
# The platform comes with aws-fpga's vitis_setup.sh ($AWS_PLATFORM); F1's data clock defaults to 250 MHz.
VITIS_PLATFORM ?= $(if $(AWS_PLATFORM),$(AWS_PLATFORM),xilinx_aws-vu9p-f1_shell-v04261818_201920_3)
MEM_PORTS ?= 4
PE_ENTRIES ?= 16
SCALE_ROWS ?= 16
ATTENTION_CHAINS ?= 4
KERNEL_MHZ ?= 250
# The maxima are the Makefile's (stories110M): the VU9P's custom-logic region has about 7 MiB of BRAM and
# 30 MiB of URAM (`fpgaserve estimate --platform aws-f1`).
