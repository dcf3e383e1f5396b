#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Intermediate live merge on btrfs: see tests/e2e/live/intermediate.sh.
# vm-disks: 1x4G
# vm-timeout: 1200
# vm-mem: 2G
LIVE_FS=btrfs
. "$DMC_ROOT/tests/e2e/live/intermediate.sh"
