#!/usr/bin/env python3
"""The kernel clock an xclbin's link achieved, from its CLOCK_FREQ_TOPOLOGY section.

v++ -l scales the data clock down when the design misses timing at the frequency asked for; the xclbin's
CLOCK_FREQ_TOPOLOGY section then holds what it settled on. kernel/Makefile dumps that section raw
(xclbinutil --dump-section CLOCK_FREQ_TOPOLOGY:RAW:FILE) and reads it here:

  xclbin_clock.py SECTION                 prints the data clock in MHz
  xclbin_clock.py --merge BUILD.json SECTION
                                          prints BUILD.json with "kernel_mhz_achieved" added

Layout (XRT's xclbin.h): struct clock_freq_topology { int16 m_count; struct clock_freq m_clock_freq[]; },
struct clock_freq { uint16 m_freq_Mhz; uint8 m_type; uint8 m_unused[5]; char m_name[128]; } (136 bytes,
2-byte aligned, so the array starts at byte 2). m_type: 1 CT_DATA, 2 CT_KERNEL, 3 CT_SYSTEM. An HLS
kernel runs on the data clock (ap_clk); the kernel clock is an RTL kernel's second clock (ap_clk_2).
"""
import json
import struct
import sys

CLOCK_BYTES = 136
CT_DATA = 1


def clocks(section):
    if len(section) < 2:
        raise ValueError("the section is %d bytes, too short for its count" % len(section))
    (count,) = struct.unpack_from("<h", section, 0)
    if count < 0 or 2 + count * CLOCK_BYTES > len(section):
        raise ValueError("the section says %d clocks but holds %d bytes" % (count, len(section)))
    out = []
    for i in range(count):
        at = 2 + i * CLOCK_BYTES
        mhz, kind = struct.unpack_from("<HB", section, at)
        name = section[at + 8:at + CLOCK_BYTES].split(b"\0", 1)[0].decode("ascii", "replace")
        out.append((name, kind, mhz))
    return out


def data_clock_mhz(section):
    for _name, kind, mhz in clocks(section):
        if kind == CT_DATA:
            return mhz
    raise ValueError("no data clock (CT_DATA) in the section")


def main(argv):
    try:
        if len(argv) == 2:
            with open(argv[1], "rb") as f:
                print(data_clock_mhz(f.read()))
            return 0
        if len(argv) == 4 and argv[1] == "--merge":
            with open(argv[2]) as f:
                build = json.load(f)
            with open(argv[3], "rb") as f:
                build["kernel_mhz_achieved"] = data_clock_mhz(f.read())
            print(json.dumps(build, separators=(",", ":")))
            return 0
    except (OSError, ValueError, struct.error) as e:
        print("xclbin_clock.py: %s" % e, file=sys.stderr)
        return 1
    print(__doc__.strip().splitlines()[0] + "\nusage: xclbin_clock.py [--merge BUILD.json] SECTION", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
