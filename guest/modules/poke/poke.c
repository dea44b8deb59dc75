// SPDX-License-Identifier: GPL-2.0
/*
 * poke: the CAmkES VM tutorial's "poke" module for Linux guests of cos's
 * simple_vmm (docs/hypercalls.md). On load it makes hypercall `nr` (default
 * 4) with argument `arg` (default 41) and prints what came back:
 *
 *   # modprobe poke            (or: insmod /lib/modules/$(uname -r)/extra/poke.ko)
 *   poke: hypercall 4 (argument 0x29) returned 42
 *
 * The hypercall ABI of simple_vmm: the number in EAX, arguments in RBX,
 * RCX, RDX, VMCALL on Intel and VMMCALL on AMD (as KVM's), the result in
 * RAX; -1000 means no route for that number, -1001 a dead service.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <asm/processor.h>

static ulong nr = 4;
module_param(nr, ulong, 0444);
MODULE_PARM_DESC(nr, "hypercall number (EAX), default 4");
static ulong arg = 41;
module_param(arg, ulong, 0444);
MODULE_PARM_DESC(arg, "the argument (RBX), default 41");

/* One hypercall with one argument: VMMCALL (0f 01 d9) on AMD and Hygon
 * CPUs (SVM), VMCALL (0f 01 c1) elsewhere (VMX); the other instruction would
 * raise #UD. */
static long cos_hypercall1(unsigned long number, unsigned long a0)
{
	long ret;

	if (boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
	    boot_cpu_data.x86_vendor == X86_VENDOR_HYGON)
		asm volatile("vmmcall" : "=a"(ret) : "a"(number), "b"(a0) : "memory");
	else
		asm volatile("vmcall" : "=a"(ret) : "a"(number), "b"(a0) : "memory");
	return ret;
}

static int __init poke_init(void)
{
	long ret = cos_hypercall1(nr, arg);

	pr_info("poke: hypercall %lu (argument %#lx) returned %ld\n", nr, arg, ret);
	return 0;
}

static void __exit poke_exit(void)
{
}

module_init(poke_init);
module_exit(poke_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Pokes a native cos component through a simple_vmm hypercall");
