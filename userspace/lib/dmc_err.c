// SPDX-License-Identifier: GPL-2.0
/* One-line error messages for the layer library: see dmc_err.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dmc_err.h"

void dmc_err_clear(struct dmc_err *err)
{
	err->kind = DMC_ERR_NONE;
	err->errnum = 0;
	err->msg[0] = '\0';
}

bool dmc_err_isset(const struct dmc_err *err)
{
	return err->kind != DMC_ERR_NONE;
}

int dmc_err(struct dmc_err *err, enum dmc_err_kind kind, const char *fmt, ...)
{
	va_list ap;

	if (!err || dmc_err_isset(err))
		return -1;
	err->kind = kind;
	err->errnum = 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int dmc_err_errno(struct dmc_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (!err || dmc_err_isset(err))
		return -1;
	err->kind = DMC_ERR_IO;
	err->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	return -1;
}
