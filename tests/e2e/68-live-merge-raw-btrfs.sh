#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live merges into a raw base on btrfs: see tests/e2e/live/raw.sh.
# vm-tier: full (the clone path runs in make check on XFS, scenario 62)
# vm-disks: 1x4G
# vm-timeout: 1200
# vm-mem: 2G
LIVE_FS=btrfs
. "$DMC_ROOT/tests/e2e/live/raw.sh"
