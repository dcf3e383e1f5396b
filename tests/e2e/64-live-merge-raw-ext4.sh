#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Live merges into a raw base on ext4 (copy): see tests/e2e/live/raw.sh.
# vm-disks: 1x4G
# vm-timeout: 1200
# vm-mem: 2G
LIVE_FS=ext4
. "$DMC_ROOT/tests/e2e/live/raw.sh"
