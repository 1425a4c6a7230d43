// Trip counters of the card kernel's C simulation (card.h's CardCounters). Vitis never sees them.
#ifndef FPGASERVE_KERNEL_CARD_COUNTERS_H_
#define FPGASERVE_KERNEL_CARD_COUNTERS_H_

#include "kernel/card/card.h"

#ifndef __SYNTHESIS__
namespace fpgaserve {
namespace kernel {
extern CardCounters g_card_counters;
}  // namespace kernel
}  // namespace fpgaserve
#define CARD_COUNT(field, n) (fpgaserve::kernel::g_card_counters.field += (n))
#else
#define CARD_COUNT(field, n)
#endif

#endif  // FPGASERVE_KERNEL_CARD_COUNTERS_H_
