/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Group member role: memberships from charon.plugins.gikev2.memberships.*,
 * the GSA_AUTH additions, GSA_REGISTRATION, GSA_REKEY and GSA_INBAND_REKEY
 * processing, and the group SAs in the kernel.
 */

#ifndef GIKEV2_GM_H_
#define GIKEV2_GM_H_

#include "gikev2_common.h"
#include "gikev2_kernel.h"

#include <sa/task.h>

typedef struct gikev2_gm_role_t gikev2_gm_role_t;

struct gikev2_gm_role_t {

	/**
	 * TRUE if the IKE SA's connection registers to a group (the plugin then
	 * marks it COND_GSA_AUTH before IKE_AUTH).
	 */
	bool (*is_group_connection)(gikev2_gm_role_t *this, ike_sa_t *ike_sa);

	/**
	 * charon is about to send the GSA_AUTH request: add IDg, SAg, N.
	 */
	void (*auth_request)(gikev2_gm_role_t *this, ike_sa_t *ike_sa,
						 message_t *message);

	/**
	 * The GSA_AUTH response was parsed (not yet authenticated): keep it.
	 */
	void (*auth_response)(gikev2_gm_role_t *this, ike_sa_t *ike_sa,
						  message_t *message);

	/**
	 * The IKE SA is established (the key server is authenticated): process
	 * the kept response and join the connection's further groups.
	 */
	void (*ike_sa_up)(gikev2_gm_role_t *this, ike_sa_t *ike_sa);

	/**
	 * The registration IKE SA was rekeyed: follow it and derive GSK_w from the
	 * new SK_d (RFC 9838 §3.1).
	 */
	void (*ike_sa_rekeyed)(gikev2_gm_role_t *this, ike_sa_t *old,
						   ike_sa_t *new);

	/**
	 * A datagram for no IKE SA arrived: a GSA_REKEY (RFC 9838 §2.4.1).
	 */
	void (*rekey_datagram)(gikev2_gm_role_t *this, message_t *message);

	/**
	 * A passive task answering GSA_INBAND_REKEY.
	 */
	task_t *(*inband_task)(gikev2_gm_role_t *this, ike_sa_t *ike_sa);

	/**
	 * SA removals after DTD, re-registrations.
	 */
	void (*tick)(gikev2_gm_role_t *this);

	/**
	 * Operator view (allocated text).
	 */
	char *(*status)(gikev2_gm_role_t *this);

	void (*destroy)(gikev2_gm_role_t *this);
};

/**
 * Load the memberships configured in charon.plugins.gikev2.memberships.
 *
 * @param kernel		where group SAs go (not owned)
 * @return				role, NULL if no membership is configured
 */
gikev2_gm_role_t *gikev2_gm_role_create(gikev2_kernel_t *kernel);

#endif /** GIKEV2_GM_H_ */
