#!/usr/bin/env python3
"""Write a classic pcap holding one huge TCP flow, for memory checks.

usage: scripts/huge-flow.py OUT.pcap [BYTES]   (default 210 MB; keep it out of git)

Every command's memory must stay bounded by the active flows, not by the
longest flow (issue 19). Measured with:

    for c in "flows one.pcap" "dataset build -o ds --group flow --split train=1 one.pcap" \
             "tokenize one.pcap -o one.tgt" "verify one.pcap"; do
        /usr/bin/time -v trafficgpt $c 2>&1 >/dev/null | grep 'Maximum resident'
    done
"""
import os
import struct
import sys

out = sys.argv[1]
total = int(sys.argv[2]) if len(sys.argv) > 2 else 210_000_000
payload_len = 1400
blocks = os.urandom(payload_len * 64)  # payloads cycle through 64 random blocks
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    written, n, seq = 24, 0, 1000
    while written < total:
        pay = blocks[(n % 64) * payload_len:(n % 64 + 1) * payload_len]
        tcp = struct.pack(">HHIIBBHHH", 40000, 80, seq, 1, 0x50, 0x18, 65535, 0, 0)
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(pay), n & 0xFFFF, 0x4000, 64, 6, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        frame = bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 8, 0]) + ip + tcp + pay
        f.write(struct.pack("<IIII", 1_700_000_000 + n // 10000, (n % 10000) * 100, len(frame), len(frame)))
        f.write(frame)
        written += 16 + len(frame)
        seq = (seq + len(pay)) & 0xFFFFFFFF
        n += 1
print(f"{out}: {n} packets of one flow, {written} bytes")
