/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Operator control: a stream socket (unix:// by default) taking one command
 * line per connection, answered with text (gikev2ctl is its client):
 *   list | exclude GROUP MEMBER | rekey GROUP
 */

#ifndef GIKEV2_CONTROL_H_
#define GIKEV2_CONTROL_H_

#include <library.h>

typedef struct gikev2_control_t gikev2_control_t;

/**
 * Runs one command; returns an allocated answer. `args` holds the words after
 * the group (members of an exclusion), separated by white space, or NULL.
 */
typedef char *(*gikev2_command_cb_t)(void *data, char *verb, char *group,
									 char *args);

struct gikev2_control_t {
	void (*destroy)(gikev2_control_t *this);
};

/**
 * @return			control service, NULL if the URI cannot be served
 */
gikev2_control_t *gikev2_control_create(char *uri, gikev2_command_cb_t cb,
										void *data);

#endif /** GIKEV2_CONTROL_H_ */
