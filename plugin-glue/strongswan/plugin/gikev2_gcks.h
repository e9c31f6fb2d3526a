/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Key server role: groups from charon.plugins.gikev2.groups.*, GSA_AUTH and
 * GSA_REGISTRATION responses, GSA_REKEY sending, GSA_INBAND_REKEY, timers and
 * operator commands.
 */

#ifndef GIKEV2_GCKS_H_
#define GIKEV2_GCKS_H_

#include "gikev2_common.h"

#include <sa/task.h>

typedef struct gikev2_gcks_role_t gikev2_gcks_role_t;

struct gikev2_gcks_role_t {

	/**
	 * An incoming GSA_AUTH request was parsed (before AUTH is verified):
	 * keep its group payloads for the response and take SAg out of the
	 * message, so charon handles a childless IKE_AUTH.
	 */
	void (*auth_request)(gikev2_gcks_role_t *this, ike_sa_t *ike_sa,
						 message_t *message);

	/**
	 * charon is about to send the GSA_AUTH response: if the member is
	 * authenticated, add GSA + KD (or the refusal notify).
	 */
	void (*auth_response)(gikev2_gcks_role_t *this, ike_sa_t *ike_sa,
						  message_t *message);

	/**
	 * A passive task answering GSA_REGISTRATION.
	 */
	task_t *(*registration_task)(gikev2_gcks_role_t *this, ike_sa_t *ike_sa);

	/**
	 * An IKE SA was rekeyed: its members are reached over the new one.
	 */
	void (*ike_sa_rekeyed)(gikev2_gcks_role_t *this, ike_sa_t *old,
						   ike_sa_t *new);

	/**
	 * The IKE SA is going away: forget pending state.
	 */
	void (*ike_sa_down)(gikev2_gcks_role_t *this, ike_sa_t *ike_sa);

	/**
	 * Periodic rekeys and retransmissions.
	 */
	void (*tick)(gikev2_gcks_role_t *this);

	/**
	 * Operator commands; return an allocated text answer.
	 */
	char *(*exclude)(gikev2_gcks_role_t *this, char *group, char *members);
	char *(*rekey)(gikev2_gcks_role_t *this, char *group);
	char *(*status)(gikev2_gcks_role_t *this);

	void (*destroy)(gikev2_gcks_role_t *this);
};

/**
 * Load the groups configured in charon.plugins.gikev2.groups.
 *
 * @return			role, NULL if no group is configured
 */
gikev2_gcks_role_t *gikev2_gcks_role_create(void);

#endif /** GIKEV2_GCKS_H_ */
