#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Deterministic random I/O on a block device, mirrored on a reference file.

Usage: rwmix.py DEV REF SEED COUNT [MAXLEN]

Applies COUNT operations chosen by SEED to DEV and the same effect to the
plain file REF: writes of random data (buffered or O_DIRECT), discards
(BLKDISCARD) and BLKZEROOUT, at 512-byte granularity with lengths from one
sector to MAXLEN (default 1 MiB), deliberately not aligned to the chain's
block size; fsync now and then.  Write-zeroes and the blocks a discard
covers whole read as zeros, so the reference gets zeros for them; a
discard never takes new space, so the parts of blocks it covers read as
zeros or keep their content (docs/target.md): each such sector must be
one or the other, and the reference takes what the device shows.  Then
DEV and REF are compared byte for byte.  Exit 0 when equal; 1 with the
first difference.
"""
import fcntl
import mmap
import os
import random
import struct
import sys

BLKDISCARD = 0x1277
BLKZEROOUT = 0x127F
BLKSSZGET = 0x1268
CHUNK = 1 << 20


def sector_size(fd):
    buf = fcntl.ioctl(fd, BLKSSZGET, b"\0" * 4)
    return struct.unpack("i", buf)[0]


def chain_block_size(fd):
    """The chain's block size: the device's optimal I/O size."""
    rdev = os.fstat(fd).st_rdev
    with open(f"/sys/dev/block/{os.major(rdev)}:{os.minor(rdev)}"
              "/queue/optimal_io_size") as f:
        return int(f.read()) or 512


def read_direct(fd, off, length):
    buf = mmap.mmap(-1, length)
    n = os.preadv(fd, [buf], off)
    data = bytes(buf[:n])
    buf.close()
    return data


def check_discard(dfd, rfd, off, length, bs):
    """After a discard of [off, off + length): whole blocks read zeros,
    every other sector zeros or its old content.  Returns the device's
    content for the reference, or None (and says why)."""
    got = read_direct(dfd, off, length)
    old = os.pread(rfd, length, off)
    first = -(-off // bs) * bs
    last = (off + length) // bs * bs
    for i in range(0, length, 512):
        pos = off + i
        g = got[i:i + 512]
        if g == bytes(512):
            continue
        if first <= pos < last or g != old[i:i + 512]:
            print(f"rwmix: discard [{off}, {off + length}): sector at "
                  f"{pos} holds neither zeros nor its old content"
                  + (" (a whole block)" if first <= pos < last else ""))
            return None
    return got


def compare(dev, ref):
    with open(dev, "rb", buffering=0) as a, open(ref, "rb", buffering=0) as b:
        off = 0
        while True:
            x = a.read(CHUNK)
            y = b.read(CHUNK)
            if x != y:
                n = min(len(x), len(y))
                i = next((k for k in range(n) if x[k] != y[k]), n)
                print(f"rwmix: differ at byte {off + i} "
                      f"(dev {len(x)} bytes, ref {len(y)} bytes read)")
                return False
            if not x:
                return True
            off += len(x)


def main():
    dev, ref, seed, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    maxlen = int(sys.argv[5]) if len(sys.argv) > 5 else 1 << 20
    rng = random.Random(seed)
    fd = os.open(dev, os.O_RDWR)
    dfd = os.open(dev, os.O_RDWR | os.O_DIRECT)
    rfd = os.open(ref, os.O_RDWR)
    size = os.lseek(fd, 0, os.SEEK_END)
    lbs = sector_size(fd)
    bs = chain_block_size(fd)
    if os.fstat(rfd).st_size != size:
        print(f"rwmix: {ref} is {os.fstat(rfd).st_size} bytes, {dev} {size}")
        return 1
    stats = {"write": 0, "dwrite": 0, "discard": 0, "zeroout": 0, "fsync": 0}
    for _ in range(count):
        op = rng.choices(["write", "dwrite", "discard", "zeroout", "fsync"],
                         [35, 35, 12, 12, 6])[0]
        stats[op] += 1
        if op == "fsync":
            os.fsync(fd)
            continue
        unit = lbs if op in ("dwrite", "discard", "zeroout") else 512
        length = rng.randint(1, max(1, maxlen // unit)) * unit
        length = min(length, size)
        off = rng.randint(0, (size - length) // unit) * unit
        if op in ("write", "dwrite"):
            data = rng.randbytes(length)
            if op == "dwrite":
                buf = mmap.mmap(-1, length)
                buf.write(data)
                n = os.pwritev(dfd, [buf], off)
                buf.close()
            else:
                n = os.pwrite(fd, data, off)
            if n != length:
                print(f"rwmix: short write {n} of {length} at {off}")
                return 1
            os.pwrite(rfd, data, off)
        else:
            # Buffered data in the page cache must reach the device first.
            os.fsync(fd)
            req = BLKDISCARD if op == "discard" else BLKZEROOUT
            fcntl.ioctl(fd, req, struct.pack("QQ", off, length))
            if op == "discard":
                data = check_discard(dfd, rfd, off, length, bs)
                if data is None:
                    return 1
                os.pwrite(rfd, data, off)
            else:
                os.pwrite(rfd, b"\0" * length, off)
    os.fsync(fd)
    os.close(dfd)
    os.close(fd)
    os.close(rfd)
    print("rwmix: " + " ".join(f"{k}={v}" for k, v in stats.items()))
    # Drop the device's page cache so the comparison reads the target.
    with open(dev, "rb") as f:
        try:
            fcntl.ioctl(f.fileno(), 0x1261)  # BLKFLSBUF
        except OSError:
            pass
    return 0 if compare(dev, ref) else 1


if __name__ == "__main__":
    sys.exit(main())
