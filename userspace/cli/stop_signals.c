// SPDX-License-Identifier: GPL-2.0
/* SIGINT / SIGTERM as a stop request, without losing one: stop_signals.h. */
#include <string.h>

#include "stop_signals.h"

volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void catch_stop_signals(sigset_t *wait, sigset_t *saved)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, saved);
	*wait = *saved;
	sigdelset(wait, SIGINT);
	sigdelset(wait, SIGTERM);
}

void release_stop_signals(const sigset_t *saved)
{
	sigprocmask(SIG_SETMASK, saved, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}
