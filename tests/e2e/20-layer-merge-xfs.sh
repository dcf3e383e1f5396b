#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Offline merges on XFS (the clone path): random chains of depth 1 to 8
# over raw and layer bases, merged at every depth; after each merge the
# target reads as a reference built by applying the same writes to a raw
# file.  Proves the data is shared (fiemap's shared flag, free space that
# does not move, nothing copied), then kills merges with SIGKILL at random
# moments and checks that the chain still reads the same and that re-running
# finishes; range merges (--into P --from TOP).  The scenario itself is
# tests/e2e/layer/merge-clone.sh.
# vm-disks: 1x8G
# vm-timeout: 1800
LAYER_FS=xfs
. "$DMC_ROOT/tests/e2e/lib.sh"
. "$DMC_ROOT/tests/e2e/layer/helpers.sh"
. "$DMC_ROOT/tests/e2e/layer/merge-clone.sh"
