/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "gikev2_task.h"

#include <daemon.h>

typedef struct {
	task_t public;
	ike_sa_t *ike_sa;
	bool initiator;
	exchange_type_t exchange;
	gikev2_task_handler_t *handler;
} private_gikev2_task_t;

METHOD(task_t, build_i, status_t,
	private_gikev2_task_t *this, message_t *message)
{
	if (!this->handler->build(this->handler, this->ike_sa, message))
	{	/* nothing to send: the placeholder INFORMATIONAL goes out empty (a
		 * liveness check), FAILED would tear the IKE SA down */
		return SUCCESS;
	}
	message->set_exchange_type(message, this->exchange);
	return NEED_MORE;
}

METHOD(task_t, process_i, status_t,
	private_gikev2_task_t *this, message_t *message)
{
	this->handler->process(this->handler, this->ike_sa, message);
	return SUCCESS;
}

METHOD(task_t, process_r, status_t,
	private_gikev2_task_t *this, message_t *message)
{
	this->handler->process(this->handler, this->ike_sa, message);
	return NEED_MORE;
}

METHOD(task_t, build_r, status_t,
	private_gikev2_task_t *this, message_t *message)
{
	this->handler->build(this->handler, this->ike_sa, message);
	return SUCCESS;
}

METHOD(task_t, get_type, task_type_t,
	private_gikev2_task_t *this)
{
	return TASK_GROUP_EXCHANGE;
}

METHOD(task_t, migrate, void,
	private_gikev2_task_t *this, ike_sa_t *ike_sa)
{
	this->ike_sa = ike_sa;
}

METHOD(task_t, destroy, void,
	private_gikev2_task_t *this)
{
	this->handler->destroy(this->handler);
	free(this);
}

task_t *gikev2_task_create(ike_sa_t *ike_sa, bool initiator,
						   exchange_type_t exchange,
						   gikev2_task_handler_t *handler)
{
	private_gikev2_task_t *this;

	INIT(this,
		.public = {
			.get_type = _get_type,
			.migrate = _migrate,
			.destroy = _destroy,
		},
		.ike_sa = ike_sa,
		.initiator = initiator,
		.exchange = exchange,
		.handler = handler,
	);
	if (initiator)
	{
		this->public.build = _build_i;
		this->public.process = _process_i;
	}
	else
	{
		this->public.build = _build_r;
		this->public.process = _process_r;
	}
	return &this->public;
}

void gikev2_task_start(ike_sa_t *ike_sa, exchange_type_t exchange,
					   gikev2_task_handler_t *handler)
{
	ike_sa->queue_task(ike_sa, gikev2_task_create(ike_sa, TRUE, exchange,
												  handler));
	if (ike_sa->initiate(ike_sa, NULL, NULL) == DESTROY_ME)
	{
		charon->ike_sa_manager->checkin_and_destroy(charon->ike_sa_manager,
													ike_sa);
	}
	else
	{
		charon->ike_sa_manager->checkin(charon->ike_sa_manager, ike_sa);
	}
}
