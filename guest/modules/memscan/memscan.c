// SPDX-License-Identifier: GPL-2.0
/*
 * memscan: reads every page of this guest's RAM and counts where marker
 * strings occur, for cos's isolation test (composition_scripts/isolation.toml,
 * docs/channels.md "Isolation, tested").
 *
 *   # modprobe memscan own=<hex> foreign=<hex>
 *   memscan: scanned 65536 pages (256 MiB): the first MiB and 2 System RAM ranges, 0 unreadable
 *   memscan: own marker (31 bytes): 10 occurrences
 *   memscan: foreign marker (35 bytes): 0 occurrences
 *
 * The markers come as hex of each byte XOR 0x5a, and the scan compares
 * (page byte XOR 0x5a) with that form on the fly: the plain marker is never
 * written anywhere in this guest's memory, so a marker found is one
 * somebody else put there. `own` names a marker this guest holds itself
 * (its kernel command line), the positive control: it must be found.
 * `foreign` names one only another guest and native components hold: it
 * must not be. The first byte of a marker must occur in it only once (the
 * matcher restarts on that byte; memscan refuses other markers).
 *
 * Pages: all of the first MiB (which simple_vmm backs with guest RAM: its
 * e820 map calls 0x9fc00-0xfffff reserved, and the ACPI tables live there)
 * and every page frame of the "System RAM" ranges of the iomem resource
 * tree above it (the rest of the e820 RAM), read through the direct map
 * with copy_from_kernel_nofault (a page that faults is counted as
 * unreadable). For a simple_vmm guest that is every page of its RAM: a
 * 256 MiB guest reads 65536 pages. A marker may straddle two frames that
 * follow each other.
 */
#include <linux/init.h>
#include <linux/ioport.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#define MEMSCAN_XOR 0x5a
#define MEMSCAN_MAX 64
/* The first MiB, always in x86-64 Linux's direct map (its ISA range). */
#define LOW_PFNS PFN_DOWN(0x100000)

static char *own = "";
module_param(own, charp, 0444);
MODULE_PARM_DESC(own, "hex of (byte XOR 0x5a) of a marker this guest holds");
static char *foreign = "";
module_param(foreign, charp, 0444);
MODULE_PARM_DESC(foreign, "hex of (byte XOR 0x5a) of a marker only others hold");

/* One marker in its transformed form and the matcher's state. */
struct marker {
	const char *name;
	u8 x[MEMSCAN_MAX];	/* each byte XOR MEMSCAN_XOR */
	size_t len;
	size_t matched;		/* bytes of x matched so far */
	unsigned long found;
};

struct scan {
	struct marker m[2];
	u8 *buf;
	unsigned long pages, unreadable, ranges;
	unsigned long next_pfn;	/* the frame after the last one read */
};

static int parse_marker(struct marker *m, const char *name, const char *hex)
{
	size_t n = strlen(hex), i;

	m->name = name;
	if (n == 0 || n % 2 || n / 2 > MEMSCAN_MAX)
		return -EINVAL;
	if (hex2bin(m->x, hex, n / 2))
		return -EINVAL;
	m->len = n / 2;
	for (i = 1; i < m->len; i++)
		if (m->x[i] == m->x[0])
			return -EINVAL;
	return 0;
}

/* Feeds the bytes of one page to a marker's matcher. */
static void match(struct marker *m, const u8 *p, size_t n)
{
	size_t i, j = m->matched;

	for (i = 0; i < n; i++) {
		u8 t = p[i] ^ MEMSCAN_XOR;

		if (t == m->x[j]) {
			if (++j == m->len) {
				m->found++;
				j = 0;
			}
		} else {
			j = t == m->x[0];
		}
	}
	m->matched = j;
}

/* Reads frames [pfn, end) and feeds them to both matchers. */
static void scan_pfns(struct scan *s, unsigned long pfn, unsigned long end)
{
	int k;

	for (; pfn < end; pfn++) {
		if (pfn != s->next_pfn)
			for (k = 0; k < 2; k++)
				s->m[k].matched = 0;
		s->next_pfn = pfn + 1;
		if (!pfn_valid(pfn) ||
		    copy_from_kernel_nofault(s->buf, pfn_to_kaddr(pfn), PAGE_SIZE)) {
			s->unreadable++;
			s->next_pfn = ~0UL;
			continue;
		}
		for (k = 0; k < 2; k++)
			match(&s->m[k], s->buf, PAGE_SIZE);
		s->pages++;
		if ((pfn & 255) == 0)
			cond_resched();
	}
}

/* One "System RAM" range of the iomem tree, less the first MiB (read
 * before, whole). */
static int scan_range(struct resource *res, void *arg)
{
	struct scan *s = arg;
	unsigned long pfn = PFN_UP(res->start), end = PFN_DOWN(res->end + 1);

	s->ranges++;
	if (pfn < LOW_PFNS)
		pfn = LOW_PFNS;
	if (pfn < end)
		scan_pfns(s, pfn, end);
	return 0;
}

static int __init memscan_init(void)
{
	struct scan *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int k, err = -ENOMEM;

	if (!s)
		return err;
	s->buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!s->buf)
		goto out;
	err = -EINVAL;
	if (parse_marker(&s->m[0], "own", own) || parse_marker(&s->m[1], "foreign", foreign)) {
		pr_err("memscan: own= and foreign= must be even-length hex of at most %d bytes whose first byte does not recur\n",
		       MEMSCAN_MAX);
		goto out;
	}
	s->next_pfn = ~0UL;
	scan_pfns(s, 0, LOW_PFNS);
	walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, ~0ULL, s,
			    scan_range);
	pr_info("memscan: scanned %lu pages (%lu MiB): the first MiB and %lu System RAM ranges, %lu unreadable\n",
		s->pages, s->pages >> (20 - PAGE_SHIFT), s->ranges, s->unreadable);
	for (k = 0; k < 2; k++)
		pr_info("memscan: %s marker (%zu bytes): %lu occurrences\n", s->m[k].name, s->m[k].len,
			s->m[k].found);
	err = 0;
out:
	kfree(s->buf);
	kfree(s);
	return err;
}

static void __exit memscan_exit(void)
{
}

module_init(memscan_init);
module_exit(memscan_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Counts markers in every page of guest RAM (cos isolation test)");
