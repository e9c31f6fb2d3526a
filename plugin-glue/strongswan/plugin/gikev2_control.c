/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "gikev2_control.h"

#include <daemon.h>
#include <unistd.h>

typedef struct {
	gikev2_control_t public;
	stream_service_t *service;
	gikev2_command_cb_t cb;
	void *data;
} private_gikev2_control_t;

/** longest command line accepted (an exclusion of a few thousand members) */
#define MAX_LINE (128 * 1024)

static bool on_accept(private_gikev2_control_t *this, stream_t *stream)
{
	char *line, *answer, *verb, *group, *args, *end, *save = NULL;
	size_t len = 0;
	ssize_t n;

	line = malloc(MAX_LINE);
	if (!line)
	{
		return FALSE;
	}
	/* one line, bounded: the client sends it and shuts its side down */
	while (len < MAX_LINE - 1)
	{
		n = stream->read(stream, line + len, MAX_LINE - 1 - len, TRUE);
		if (n <= 0)
		{
			break;
		}
		end = memchr(line + len, '\n', n);
		len += n;
		if (end)
		{
			len = end - line;
			break;
		}
	}
	line[len] = '\0';
	if (len == MAX_LINE - 1)
	{
		free(line);
		answer = strdup("error: command too long\n");
		stream->write_all(stream, answer, strlen(answer));
		free(answer);
		return FALSE;
	}
	verb = strtok_r(line, " \t\r\n", &save);
	group = strtok_r(NULL, " \t\r\n", &save);
	args = save;
	while (args && *args && strchr(" \t\r\n", *args))
	{
		args++;
	}
	answer = verb ? this->cb(this->data, verb, group, args && *args ? args : NULL)
				  : strdup("error: empty command\n");
	free(line);
	if (answer)
	{
		stream->write_all(stream, answer, strlen(answer));
		free(answer);
	}
	return FALSE;
}

METHOD(gikev2_control_t, destroy, void,
	private_gikev2_control_t *this)
{
	this->service->destroy(this->service);
	free(this);
}

gikev2_control_t *gikev2_control_create(char *uri, gikev2_command_cb_t cb,
										void *data)
{
	private_gikev2_control_t *this;

	if (strpfx(uri, "unix://"))
	{	/* a stale socket from a crashed daemon would block the bind */
		unlink(uri + strlen("unix://"));
	}
	INIT(this,
		.public = {
			.destroy = _destroy,
		},
		.service = lib->streams->create_service(lib->streams, uri, 4),
		.cb = cb,
		.data = data,
	);
	if (!this->service)
	{
		DBG1(DBG_CFG, "gikev2: control socket %s unavailable "
			 "(charon.plugins.gikev2.control)", uri);
		free(this);
		return NULL;
	}
	/* a few connections at once, so one idle client does not block the
	 * others (the socket is root's, like vici's) */
	this->service->on_accept(this->service, (stream_service_cb_t)on_accept,
							 this, JOB_PRIO_CRITICAL, 4);
	DBG1(DBG_CFG, "gikev2: operator control on %s", uri);
	return &this->public;
}
