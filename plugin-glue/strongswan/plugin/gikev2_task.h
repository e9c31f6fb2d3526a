/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * A charon task for the exchanges this plugin owns (GSA_REGISTRATION,
 * GSA_INBAND_REKEY), run by the task manager through the plugin-exchange
 * hook of libcharon patch 0003 (TASK_GROUP_EXCHANGE).
 */

#ifndef GIKEV2_TASK_H_
#define GIKEV2_TASK_H_

#include <sa/task.h>
#include <sa/ike_sa.h>

typedef struct gikev2_task_handler_t gikev2_task_handler_t;

/**
 * What a role does in one exchange.
 */
struct gikev2_task_handler_t {

	/**
	 * Initiator: add the request's payloads. Responder: add the response's.
	 *
	 * @return			FALSE to abort (initiator: nothing is sent)
	 */
	bool (*build)(gikev2_task_handler_t *this, ike_sa_t *ike_sa,
				  message_t *message);

	/**
	 * Initiator: the response arrived. Responder: the request arrived.
	 */
	void (*process)(gikev2_task_handler_t *this, ike_sa_t *ike_sa,
					message_t *message);

	void (*destroy)(gikev2_task_handler_t *this);
};

/**
 * @param exchange		exchange type on the wire (set on the request)
 * @param handler		owned by the task
 */
task_t *gikev2_task_create(ike_sa_t *ike_sa, bool initiator,
						   exchange_type_t exchange,
						   gikev2_task_handler_t *handler);

/**
 * Start an exchange of ours on a checked-out IKE SA: queue the initiator task,
 * let the task manager send it, and check the IKE SA in (destroying it if
 * initiation failed fatally).
 *
 * @param ike_sa		checked out by the caller, checked in here
 * @param exchange		exchange type on the wire
 * @param handler		owned by the task
 */
void gikev2_task_start(ike_sa_t *ike_sa, exchange_type_t exchange,
					   gikev2_task_handler_t *handler);

#endif /** GIKEV2_TASK_H_ */
