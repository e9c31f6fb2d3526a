/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

/**
 * @defgroup gikev2 gikev2
 * @ingroup cplugins
 *
 * G-IKEv2 (RFC 9838) group key management: key server and group member
 * roles, backed by the gikev2 Rust library (include/gikev2.h).
 *
 * @defgroup gikev2_plugin gikev2_plugin
 * @{ @ingroup gikev2
 */

#ifndef GIKEV2_PLUGIN_H_
#define GIKEV2_PLUGIN_H_

#include <plugins/plugin.h>

typedef struct gikev2_plugin_t gikev2_plugin_t;

/**
 * G-IKEv2 plugin.
 */
struct gikev2_plugin_t {

	/**
	 * implements plugin interface
	 */
	plugin_t plugin;
};

#endif /** GIKEV2_PLUGIN_H_ @}*/
