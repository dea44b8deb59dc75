#!/usr/bin/env python3
"""Unit tests of the guest kernel modules in the default initramfs
(tools/cos/coslib/guest_modules.py): the dependency closure from
modules.dep, what lib/modules/ of an initramfs holds, and that depmod
indexes the package's, the built and the overlays' modules. Fake modules
are gcc-compiled objects (depmod reads them like modules); nothing is
downloaded."""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "cos"))
from coslib import guest_modules as gm  # noqa: E402
from coslib.common import CosError  # noqa: E402

VERSION = "6.1.0-99-test"
# A tree shaped like the Debian package's: the default modules, their
# dependencies, and one module nothing needs.
DEP = {
    "kernel/drivers/virtio/virtio.ko": ["kernel/drivers/virtio/virtio_ring.ko"],
    "kernel/drivers/virtio/virtio_ring.ko": [],
    "kernel/drivers/virtio/virtio_pci_modern_dev.ko": [],
    "kernel/drivers/virtio/virtio_pci.ko": ["kernel/drivers/virtio/virtio.ko",
                                            "kernel/drivers/virtio/virtio_ring.ko",
                                            "kernel/drivers/virtio/virtio_pci_modern_dev.ko"],
    "kernel/drivers/block/virtio_blk.ko": ["kernel/drivers/virtio/virtio.ko"],
    "kernel/drivers/char/virtio_console.ko": ["kernel/drivers/virtio/virtio.ko"],
    "kernel/drivers/net/virtio_net.ko": ["kernel/drivers/net/net_failover.ko",
                                         "kernel/net/core/failover.ko"],
    "kernel/drivers/net/net_failover.ko": ["kernel/net/core/failover.ko"],
    "kernel/net/core/failover.ko": [],
    "kernel/fs/unneeded-thing.ko": [],
}


_OBJECT = []


def fake_module(path, name):
    """A relocatable object with a .modinfo section, named like a module
    (compiled once; depmod does not mind that every copy is the same)."""
    if not _OBJECT:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "m.c"
            src.write_text('__attribute__((section(".modinfo"), used)) static const char m[] = '
                           '"license=GPL";\nint f(void) { return 1; }\n')
            subprocess.run(["gcc", "-c", "-o", str(Path(tmp) / "m.o"), str(src)], check=True)
            _OBJECT.append((Path(tmp) / "m.o").read_bytes())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_OBJECT[0])


class Tree(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.base = Path(self.tmp.name) / "pkg"
        self.tree = self.base / "lib" / "modules" / VERSION
        self.tree.mkdir(parents=True)
        lines = []
        for path, deps in DEP.items():
            fake_module(self.tree / path, Path(path).stem.replace("-", "_"))
            lines.append("%s: %s" % (path, " ".join(deps)))
        (self.tree / "modules.dep").write_text("\n".join(lines) + "\n")
        (self.tree / "modules.order").write_text("".join(p + "\n" for p in DEP))
        (self.tree / "modules.builtin").write_text("kernel/fs/ext4/ext4.ko\n")
        self.kmods = gm.KernelModules(VERSION, self.base, "linux-image-test 1 vmlinuz-" + VERSION)

    def entries(self, built=(), overlays=()):
        return dict(gm.lib_modules_entries(self.kmods, list(built), list(overlays)))


class ClosureTest(Tree):
    def test_dependencies_are_followed(self):
        got = gm.module_closure(self.tree, ["virtio_net"])
        self.assertEqual(got, sorted(["kernel/drivers/net/virtio_net.ko",
                                      "kernel/drivers/net/net_failover.ko",
                                      "kernel/net/core/failover.ko"]))

    def test_default_set_leaves_the_rest_out(self):
        got = gm.module_closure(self.tree, gm.DEFAULT_MODULES)
        self.assertEqual(got, sorted(p for p in DEP if "unneeded" not in p))

    def test_dash_and_underscore_are_one_name(self):
        self.assertEqual(gm.module_closure(self.tree, ["unneeded_thing"]),
                         ["kernel/fs/unneeded-thing.ko"])

    def test_builtin_module_needs_no_file(self):
        (self.tree / "modules.builtin").write_text("kernel/drivers/virtio/virtio-mmio.ko\n")
        self.assertEqual(gm.module_closure(self.tree, ["virtio_mmio", "virtio"]),
                         ["kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko"])

    def test_unknown_module_is_an_error(self):
        with self.assertRaises(CosError) as e:
            gm.module_closure(self.tree, ["virtio_gpu"])
        self.assertIn("virtio_gpu", e.exception.message)


class EntriesTest(Tree):
    prefix = "lib/modules/%s/" % VERSION

    def test_default_modules_indexes_and_depmod_output(self):
        e = self.entries()
        for path in DEP:
            self.assertEqual(self.prefix + path in e, "unneeded" not in path, path)
        order = e[self.prefix + "modules.order"].decode().split()
        self.assertNotIn("kernel/fs/unneeded-thing.ko", order)
        self.assertEqual(len(order), len(DEP) - 1)
        self.assertIn(self.prefix + "modules.builtin", e)
        dep = e[self.prefix + "modules.dep"].decode()
        self.assertIn("kernel/drivers/net/virtio_net.ko:", dep)
        self.assertNotIn("unneeded", dep)
        self.assertIn(self.prefix + "modules.dep.bin", e)

    def test_built_and_overlay_modules_are_indexed(self):
        built = Path(self.tmp.name) / "build" / "poke.ko"
        fake_module(built, "poke")
        extra = Path(self.tmp.name) / "mine.ko"
        fake_module(extra, "mine")
        e = self.entries([built], [(extra, "/lib/modules/%s/updates/mine.ko" % VERSION)])
        self.assertIn(self.prefix + "extra/poke.ko", e)
        dep = e[self.prefix + "modules.dep"].decode()
        self.assertIn("extra/poke.ko:", dep)
        self.assertIn("updates/mine.ko:", dep)
        # The overlay file itself is packed by the overlay code, not here.
        self.assertNotIn(self.prefix + "updates/mine.ko", e)

    def test_an_overlay_modules_dep_wins(self):
        own = Path(self.tmp.name) / "modules.dep"
        own.write_text("mine\n")
        e = self.entries([], [(own, "/lib/modules/%s/modules.dep" % VERSION)])
        self.assertNotIn(self.prefix + "modules.dep", e)
        self.assertIn(self.prefix + "modules.alias", e)

    def test_overlay_modules_of_another_kernel_get_their_own_index(self):
        extra = Path(self.tmp.name) / "mine.ko"
        fake_module(extra, "mine")
        e = dict(gm.lib_modules_entries(None, [], [(extra, "/lib/modules/5.10.0-custom/mine.ko")]))
        self.assertIn("mine.ko:", e["lib/modules/5.10.0-custom/modules.dep"].decode())
        self.assertFalse(any(d.startswith(self.prefix) for d in e))

    def test_nothing_without_modules(self):
        readme = Path(self.tmp.name) / "README"
        readme.write_text("x")
        self.assertEqual(gm.lib_modules_entries(None, [], [(readme, "/lib/modules/README")]), [])
        self.assertEqual(gm.lib_modules_entries(None, [], []), [])


if __name__ == "__main__":
    unittest.main()
