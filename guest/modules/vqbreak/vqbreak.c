// SPDX-License-Identifier: GPL-2.0
/*
 * vqbreak: a guest that breaks the virtio rules on purpose, for cos's
 * isolation tests (composition_scripts/vq_isolation.toml, docs/channels.md
 * "Isolation, tested"). On load it finds the virtio device behind block
 * device or network interface `dev` (default "vda"), takes its virtqueue
 * number `queue` (default 0; virtio-net's transmit queue is 1) and makes
 * the next entry of the available ring name descriptor `head` (default
 * 0xffff, beyond any queue size: virtio 1.2 section 2.7.13 says the driver
 * puts there the head of a descriptor chain), publishes it by advancing the
 * ring's idx and notifies the device:
 *
 *   # modprobe vqbreak dev=eth0 queue=1
 *   vqbreak: eth0 (virtio2) queue 1 of 256: avail entry 17 now names descriptor 0xffff; notified
 *
 * The device (simple_vmm's virtio model) must stop this device only.
 * The ring is found through the virtqueue's published addresses
 * (virtqueue_get_avail_addr: a DMA address, the guest-physical address
 * here, where there is no IOMMU), never through virtio_ring's internals.
 */
#include <linux/blkdev.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/virtio.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <net/net_namespace.h>

static char *dev = "vda";
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "block device (vda) or network interface (eth0) whose virtio device to break");
static uint queue;
module_param(queue, uint, 0444);
MODULE_PARM_DESC(queue, "virtqueue index (virtio-net: 0 receive, 1 transmit)");
static uint head = 0xffff;
module_param(head, uint, 0444);
MODULE_PARM_DESC(head, "descriptor index to publish (default 0xffff, out of range)");

/* The parent device (the virtio device) of network interface `name`, with a
 * reference, or NULL. */
static struct device *net_parent(const char *name)
{
	struct net_device *nd = dev_get_by_name(&init_net, name);
	struct device *d = NULL;

	if (nd) {
		if (nd->dev.parent)
			d = get_device(nd->dev.parent);
		dev_put(nd);
	}
	return d;
}

static int __init vqbreak_init(void)
{
	struct device *d = NULL;
	struct virtio_device *vdev;
	struct virtqueue *vq, *found = NULL;
	struct vring_avail *avail;
	unsigned int num;
	u16 idx;

	if (strncmp(dev, "vd", 2) == 0) {
		char path[32];
		struct block_device *bd;

		snprintf(path, sizeof(path), "/dev/%s", dev);
		bd = blkdev_get_by_path(path, FMODE_READ, NULL);
		if (IS_ERR(bd)) {
			pr_err("vqbreak: %s: no such block device (%ld)\n", path, PTR_ERR(bd));
			return -ENODEV;
		}
		if (bd->bd_disk && disk_to_dev(bd->bd_disk)->parent)
			d = get_device(disk_to_dev(bd->bd_disk)->parent);
		blkdev_put(bd, FMODE_READ);
	} else {
		d = net_parent(dev);
	}
	if (!d || !d->bus || strcmp(d->bus->name, "virtio") != 0) {
		pr_err("vqbreak: %s is not a virtio device\n", dev);
		put_device(d);
		return -ENODEV;
	}
	vdev = dev_to_virtio(d);
	list_for_each_entry(vq, &vdev->vqs, list)
		if (vq->index == queue)
			found = vq;
	if (!found) {
		pr_err("vqbreak: %s (%s) has no queue %u\n", dev, dev_name(d), queue);
		put_device(d);
		return -ENODEV;
	}
	num = virtqueue_get_vring_size(found);
	avail = phys_to_virt(virtqueue_get_avail_addr(found));
	idx = virtio16_to_cpu(vdev, READ_ONCE(avail->idx));
	WRITE_ONCE(avail->ring[idx & (num - 1)], cpu_to_virtio16(vdev, head));
	virtio_wmb(true);
	WRITE_ONCE(avail->idx, cpu_to_virtio16(vdev, idx + 1));
	virtio_mb(true);
	virtqueue_notify(found);
	pr_info("vqbreak: %s (%s) queue %u of %u: avail entry %u now names descriptor %#x; notified\n", dev,
		dev_name(d), queue, num, idx, head);
	put_device(d);
	return 0;
}

static void __exit vqbreak_exit(void)
{
}

module_init(vqbreak_init);
module_exit(vqbreak_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Publishes a malformed virtqueue entry (cos isolation test)");
