// SPDX-License-Identifier: GPL-2.0
/* Does not compile (guest_compose_module_build_error): ./cos compose must
 * report the compiler's line with this file's path and exit with status 2. */
#include <linux/module.h>

static int __init broken_init(void)
{
	return no_such_symbol;
}
module_init(broken_init);
MODULE_LICENSE("GPL");
