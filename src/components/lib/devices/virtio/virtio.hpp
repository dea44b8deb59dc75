// cos::dev virtio devices (see README.md in this directory).
#pragma once
#include "guest_memory.hpp"
#include "net_loopback.hpp"
#include "ram_disk.hpp"
#include "virtio_blk.hpp"
#include "virtio_console.hpp"
#include "virtio_device.hpp"
#include "virtio_net.hpp"
#include "virtio_pci.hpp"
#include "virtio_spec.hpp"
#include "virtqueue.hpp"
