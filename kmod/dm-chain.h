/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every part of dm-chain.ko shares: the log prefix and the version.
 * Any file may include it.  Each part's API has its own header, and the
 * parts depend on each other one way only (checked by tests/lint/check-deps,
 * described in docs/target.md, "Code layout"):
 *
 *   main.c    -> genl.h, merge.h, target.h   wires the parts up
 *   netlink.c -> merge.h, target.h           parses requests, sends events
 *   merge.c   -> target.h, chain.h           the merge worker
 *   target.c, io.c -> chain.h                the device-mapper target
 *   all       -> layer.h, blockmap.h, header.h, table.h
 */
#ifndef DM_CHAIN_H
#define DM_CHAIN_H

#include <dm-chain/version.h>

#define DM_MSG_PREFIX "chain"

#endif /* DM_CHAIN_H */
