// cos::dev virtio devices (see README.md in this directory).
#pragma once
#include "devices/virtio/guest_memory.hpp"
#include "devices/virtio/net_loopback.hpp"
#include "devices/virtio/ram_disk.hpp"
#include "devices/virtio/virtio_blk.hpp"
#include "devices/virtio/virtio_console.hpp"
#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtio_net.hpp"
#include "devices/virtio/virtio_pci.hpp"
#include "devices/virtio/virtio_spec.hpp"
#include "devices/virtio/virtqueue.hpp"
