/*
 * Copyright (C) 2026 The gikev2 authors
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Group SAs in the kernel (charon->kernel: kernel-libipsec or XFRM), the
 * multicast memberships needed to receive group traffic and GSA_REKEY, and
 * the lab-only key export.
 */

#ifndef GIKEV2_KERNEL_H_
#define GIKEV2_KERNEL_H_

#include "gikev2_common.h"

typedef struct gikev2_kernel_t gikev2_kernel_t;

struct gikev2_kernel_t {

	/**
	 * Install a Data-Security SA (RFC 9838 §2.3.3) and its policies.
	 *
	 * @param sa		SA description from the library
	 * @param local		this member's address (IKE SA local host)
	 * @return			TRUE if installed
	 */
	bool (*install)(gikev2_kernel_t *this, const gikev2_sa_install_t *sa,
					host_t *local);

	/**
	 * Remove an installed SA (both directions) and its policies.
	 */
	bool (*remove)(gikev2_kernel_t *this, uint8_t protocol,
				   const uint8_t *spi, size_t spi_len);

	/**
	 * Join the multicast address of a selector on the interface of `local`
	 * (charon's wildcard-bound sockets then receive the group's datagrams).
	 */
	void (*join)(gikev2_kernel_t *this, const gikev2_ts_t *group,
				 host_t *local);

	/**
	 * Number of SAs installed (for the operator view).
	 */
	int (*count)(gikev2_kernel_t *this);

	/**
	 * Remove everything installed and leave every group.
	 */
	void (*destroy)(gikev2_kernel_t *this);
};

/**
 * @param save_keys		file to append Wireshark esp_sa lines to (lab only),
 *						or NULL
 * @param encap			install UDP-encapsulated ESP (port 4500), required
 *						by kernel-libipsec
 */
gikev2_kernel_t *gikev2_kernel_create(char *save_keys, bool encap);

#endif /** GIKEV2_KERNEL_H_ */
