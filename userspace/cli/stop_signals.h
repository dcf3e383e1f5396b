/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SIGINT and SIGTERM as a stop request for commands that wait in ppoll()
 * (device merge, monitor): the signals stay blocked except inside ppoll,
 * so none is lost between a check of stop_requested and the wait.
 */
#ifndef CHAINCTL_STOP_SIGNALS_H
#define CHAINCTL_STOP_SIGNALS_H

#include <signal.h>

/* Set by SIGINT or SIGTERM once catch_stop_signals() has run. */
extern volatile sig_atomic_t stop_requested;

/*
 * Catch SIGINT and SIGTERM into stop_requested and block them; WAIT gets
 * the mask to pass to ppoll(), SAVED the mask to restore.
 */
void catch_stop_signals(sigset_t *wait, sigset_t *saved);

/* Back to normal: a signal still pending is caught, then default action. */
void release_stop_signals(const sigset_t *saved);

#endif
