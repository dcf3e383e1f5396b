// SPDX-License-Identifier: GPL-2.0
/*
 * chainctl monitor [-j] [--count N]: join the dm-chain family's "events"
 * multicast group and print each merge event as it arrives, one line (or
 * one JSON object) per event, flushed at once so that pipes see it.  Runs
 * until SIGINT/SIGTERM (exit 0) or, with --count, N events.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dm-chain/netlink.h>

#include "chainctl.h"
#include "json.h"
#include "nl.h"
#include "progress.h"
#include "sizes.h"
#include "stop_signals.h"

static const char monitor_help[] =
	"Usage: chainctl monitor [-j] [--count N]\n"
	"\n"
	"Print the dm-chain module's merge events as they arrive, one line per\n"
	"event: progress (at most every 250 ms per merge) and the end of each\n"
	"merge (done, failed or cancelled).  Needs root.  Runs until interrupted\n"
	"(SIGINT or SIGTERM, exit status 0).\n"
	"\n"
	"  -c, --count N   exit after N events\n"
	"  -j, --json      one JSON object per line: event (\"progress\" or\n"
	"                  \"done\"), device, major, minor and the merge status\n";

struct monitor {
	struct nl_sock *nl;
	bool json;
	uint64_t count;			/* 0: unlimited */
	uint64_t seen;
};

static void print_event(const struct monitor *mon,
			const struct dmc_nl_answer *ev)
{
	const struct dmc_nl_merge *m = &ev->merge;
	bool done = ev->cmd == DM_CHAIN_CMD_MERGE_DONE;
	char text[DMC_NL_MESSAGE_LEN + 160];
	struct json_writer jw;

	if (mon->json) {
		json_document_begin(&jw, stdout);
		json_string(&jw, "event", done ? "done" : "progress");
		json_string(&jw, "device", ev->dev.name);
		json_u64(&jw, "major", ev->dev.major);
		json_u64(&jw, "minor", ev->dev.minor);
		merge_json_fields(&jw, m);
		json_document_end(&jw);	/* one line, flushed */
		return;
	}
	if (!done) {
		printf("%s merge progress %u%% %s\n", ev->dev.name,
		       merge_percent(m), merge_progress_text(m, text,
							     sizeof(text)));
	} else if (m->state == DM_CHAIN_MERGE_STATE_DONE) {
		printf("%s merge done in %.3f s: %s\n", ev->dev.name,
		       merge_seconds(m), merge_bytes_text(m, text,
							  sizeof(text)));
	} else if (m->state == DM_CHAIN_MERGE_STATE_FAILED) {
		printf("%s merge failed: %s\n", ev->dev.name,
		       merge_error_text(m, text, sizeof(text)));
	} else if (m->state == DM_CHAIN_MERGE_STATE_CANCELLED) {
		printf("%s merge cancelled after %.3f s\n", ev->dev.name,
		       merge_seconds(m));
	} else {
		printf("%s merge ended: %s\n", ev->dev.name,
		       dmc_nl_merge_state_str(m->state));
	}
	fflush(stdout);
}

static int event_cb(const struct nlmsghdr *nlh, void *data)
{
	struct monitor *mon = data;
	struct dmc_nl_answer ev;
	int ret;

	if (nlh->nlmsg_type != mon->nl->family_id)
		return 0;
	if (mon->count && mon->seen >= mon->count)
		return 0;	/* the rest of a batch after the last wanted */
	ret = dmc_nl_parse_event(nlh, &ev);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		if (ret != -ENOMSG)
			errmsg("monitor: ignoring a malformed event");
		return 0;
	}
	print_event(mon, &ev);
	mon->seen++;
	dmc_nl_answer_free(&ev);
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	struct monitor mon = { .json = g_opts.json };
	struct pollfd pfd;
	sigset_t wait_mask, saved;
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, n, ret;

	optind = 0;
	while ((c = cli_getopt("monitor", argc, argv, "c:jh", opts)) != -1) {
		switch (c) {
		case 'j': mon.json = true; break;
		case 'c':
			if (parse_uint(optarg, UINT64_MAX, &mon.count) ||
			    !mon.count)
				return cli_usage_error("monitor", "bad count '%s' (a number of events, at least 1)",
						       optarg);
			break;
		case 'h':
			fputs(monitor_help, stdout);
			return 0;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		if (!strcmp(argv[optind], "help")) {
			fputs(monitor_help, stdout);
			return 0;
		}
		return cli_usage_error("monitor", "unexpected argument '%s'",
				       argv[optind]);
	}

	ret = dmc_nl_open(&mon.nl);
	if (ret) {
		errmsg("monitor: %s", dmc_nl_strerror(NULL, ret));
		return 1;
	}
	ret = nl_subscribe(mon.nl, DM_CHAIN_GENL_MCGRP_EVENTS);
	if (ret) {
		errmsg("monitor: cannot join the events group: %s",
		       ret == -ENOENT ? "the module has no events group" :
		       dmc_nl_strerror(mon.nl, ret));
		nl_close(mon.nl);
		return 1;
	}

	catch_stop_signals(&wait_mask, &saved);

	pfd.fd = mnl_socket_get_fd(mon.nl->sk);
	pfd.events = POLLIN;
	ret = 0;
	while (!stop_requested && !(mon.count && mon.seen >= mon.count)) {
		n = ppoll(&pfd, 1, NULL, &wait_mask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			errmsg("monitor: %s", strerror(errno));
			ret = 1;
			break;
		}
		n = nl_recv_events(mon.nl, event_cb, &mon);
		if (n == -ENOBUFS) {
			errmsg("monitor: some events were lost (receive buffer overrun)");
		} else if (n < 0 && n != -EINTR) {
			errmsg("monitor: receiving events: %s", strerror(-n));
			ret = 1;
			break;
		}
	}
	release_stop_signals(&saved);
	nl_close(mon.nl);
	return ret;
}
