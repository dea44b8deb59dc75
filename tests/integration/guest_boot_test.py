#!/usr/bin/env python3
"""The guest bootloader (guest.img) on its own, outside cos: QEMU plays the VMM.

A 512-byte boot sector (assembled below, byte by byte) makes SeaBIOS read a
GuestBootInfo block (written here exactly as src/include/cos/guest_boot.hpp
lays it out) to 0x7000 and guest.img to 0x8000 from the same raw disk, and
jumps to 0000:8000 with interrupts off: the state simple_vmm starts the
vCPU in. QEMU's generic loader puts the bzImage at kKernelFileGpa (64 MiB)
and the initramfs high in RAM, as the VMM would.

  guest_boot_test.py linux   --guest-img build/x86_64/images/guest.img
      boots the Debian cloud kernel with the default initramfs (fetched and
      built like `./cos guest fetch|build` does) and checks the e820 table,
      command line and initramfs reached Linux, the init's greeting, and that
      the shell answers on the serial console.
  guest_boot_test.py errors  --guest-img build/x86_64/images/guest.img
      runs the bootloader on broken inputs (no boot-info block, not a bzImage,
      old protocol, a zImage, too little RAM, an initrd in the kernel's way,
      an initrd above initrd_addr_max, a command line that is too long) and
      checks each prints its message on COM1 and makes the boot-error
      hypercall: QEMU's CPU has no VMX, so VMCALL raises #UD, and QEMU's
      interrupt log (-d int) shows EAX = 0xc05b0001 and EBX = the error code
      at the VMCALL recorded in the image header.

Exit status 0 = pass, 1 = fail, 2 = bad arguments.
"""

import argparse
import os
import re
import select
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "cos"))

# src/include/cos/guest_boot.hpp
BOOTINFO_GPA = 0x7000
BOOTLOADER_GPA = 0x8000
KERNEL_FILE_GPA = 0x4000000
BOOTINFO_MAGIC = 0x42534F43
HYPERCALL_BOOT_ERROR = 0xC05B0001
ERR_BAD_MAGIC, ERR_OLD_PROTOCOL, ERR_NOT_BZIMAGE, ERR_TOO_BIG, ERR_BAD_INFO = 1, 2, 3, 4, 5
E820_RAM, E820_RESERVED = 1, 2

RAM_MIB = 256
# The RAM the boot-info block reports (QEMU's SeaBIOS keeps the top for itself).
RAM_TOP = (RAM_MIB - 2) << 20
CMDLINE_GPA = 0x7200  # the sector after the boot-info block
CMDLINE = "console=ttyS0 earlyprintk=serial,ttyS0 reboot=k panic=-1 tsc=reliable " \
          "no_timer_check acpi=off"


def boot_sector(image_sectors):
    """16-bit code at 0x7c00 reading the boot-info sectors (disk sectors 1-2) to
    0000:7000 and guest.img (sectors 3..) to 0000:8000 with INT 13h AH=42h,
    then entering 0000:8000 with interrupts off."""
    code = bytes([
        0xFA,              # 00 cli
        0x31, 0xC0,        # 01 xor ax, ax
        0x8E, 0xD8,        # 03 mov ds, ax
        0x8E, 0xD0,        # 05 mov ss, ax
        0xBC, 0x00, 0x7C,  # 07 mov sp, 0x7c00
        0xFB,              # 0a sti
        0xBE, 0x40, 0x7C,  # 0b mov si, 0x7c40 (packet 1; dl = boot drive from the BIOS)
        0xB4, 0x42,        # 0e mov ah, 0x42 (extended read)
        0xCD, 0x13,        # 10 int 0x13
        0x72, 0x0F,        # 12 jc fail
        0xBE, 0x50, 0x7C,  # 14 mov si, 0x7c50 (packet 2)
        0xB4, 0x42,        # 17 mov ah, 0x42
        0xCD, 0x13,        # 19 int 0x13
        0x72, 0x06,        # 1b jc fail
        0xFA,              # 1d cli
        0xEA, 0x00, 0x80, 0x00, 0x00,  # 1e jmp 0000:8000
        0xF4,              # 23 fail: hlt
        0xEB, 0xFD,        # 24 jmp fail
    ])
    mbr = bytearray(512)
    mbr[:len(code)] = code
    mbr[0x40:0x50] = struct.pack("<BBHHHQ", 0x10, 0, 2, 0x7000, 0, 1)
    mbr[0x50:0x60] = struct.pack("<BBHHHQ", 0x10, 0, image_sectors, 0x8000, 0, 3)
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr)


def disk_image(info_sectors, guest_img):
    """Sector 0 the boot sector, 1-2 the boot-info block and command line, 3.. guest.img."""
    assert len(info_sectors) == 1024
    image = guest_img + b"\0" * (-len(guest_img) % 512)
    return boot_sector(len(image) // 512) + info_sectors + image + b"\0" * 512


def boot_info(kernel_size, initrd_gpa=0, initrd_size=0, e820=None, magic=BOOTINFO_MAGIC,
              version=1, cmdline=CMDLINE):
    if e820 is None:
        e820 = [(0, 0x9FC00, E820_RAM), (0x9FC00, 0x400, E820_RESERVED),
                (0xF0000, 0x10000, E820_RESERVED), (0x100000, RAM_TOP - 0x100000, E820_RAM)]
    cmd = cmdline.encode()
    head = struct.pack("<10I", magic, version, KERNEL_FILE_GPA, kernel_size, initrd_gpa,
                       initrd_size, CMDLINE_GPA, len(cmd), len(e820), 0)
    entries = b"".join(struct.pack("<QQII", a, s, t, 0) for a, s, t in e820)
    page = bytearray(1024)
    page[:len(head) + len(entries)] = head + entries
    page[CMDLINE_GPA - BOOTINFO_GPA:CMDLINE_GPA - BOOTINFO_GPA + len(cmd) + 1] = cmd + b"\0"
    return bytes(page)


class Qemu:
    """QEMU with the serial console on a pipe; stdin of the guest writable."""

    def __init__(self, tmp, disk, kernel, initrd=None, initrd_gpa=0, log=None):
        disk_path = Path(tmp) / "disk.img"
        disk_path.write_bytes(disk)
        argv = ["qemu-system-x86_64", "-machine", "pc", "-m", str(RAM_MIB), "-nographic",
                "-no-reboot", "-monitor", "none", "-net", "none", "-serial", "stdio", "-accel", "tcg",
                "-drive", "format=raw,file=%s,if=ide" % disk_path,
                "-device", "loader,file=%s,addr=0x%x,force-raw=on" % (kernel, KERNEL_FILE_GPA)]
        if initrd:
            argv += ["-device", "loader,file=%s,addr=0x%x,force-raw=on" % (initrd, initrd_gpa)]
        if log:
            argv += ["-d", "int", "-D", str(log)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.output = ""

    def wait_for(self, regex, timeout):
        """Read the console until `regex` matches (True) or timeout / exit (False)."""
        pattern = re.compile(regex, re.M)
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while not pattern.search(self.output):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return bool(pattern.search(self.output))
                self.output += chunk.decode(errors="replace").replace("\r", "")
        return True

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait_exit(self, timeout):
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self.wait_for(r"\Z\A", 0.5)  # keep draining the console
        return self.proc.poll() is not None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        try:
            rest = self.proc.stdout.read()
            self.output += rest.decode(errors="replace").replace("\r", "")
        except (OSError, ValueError):
            pass


def fail(message, output=""):
    sys.stdout.write("FAIL: %s\n" % message)
    if output:
        sys.stdout.write("---- console ----\n%s\n-----------------\n" % output[-6000:])
    return 1


def run_linux(args):
    from coslib import guest
    kernel = Path(args.kernel) if args.kernel else guest.fetch_kernel()
    if args.initrd:
        initrd = Path(args.initrd)
    else:
        from coslib import guest_modules
        initrd = guest.build_initramfs(kmods=guest_modules.debian_kernel_modules())
    guest_img = Path(args.guest_img).read_bytes()
    initrd_size = initrd.stat().st_size
    initrd_gpa = (RAM_TOP - initrd_size) & ~0xFFF  # the top of RAM, like most loaders
    info = boot_info(kernel.stat().st_size, initrd_gpa, initrd_size)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cos-guest-boot-") as tmp:
        q = Qemu(tmp, disk_image(info, guest_img), kernel, initrd, initrd_gpa)
        try:
            steps = [
                r"guest bootloader: Linux boot protocol 0x0000020[6-9a-f]",
                r"Linux version \d+\.\d+",
                r"Command line: " + re.escape(CMDLINE),
                r"BIOS-e820: \[mem 0x0000000000100000-0x%016x\] usable" % (RAM_TOP - 1),
                r"Unpacking initramfs|Trying to unpack rootfs",
                r"^Hello Initramfs in special bootloader!$",
            ]
            for regex in steps:
                if not q.wait_for(regex, args.timeout - (time.monotonic() - start)):
                    return fail("no match for %r within %d s" % (regex, args.timeout), q.output)
                print("ok: %s (%.1f s)" % (regex, time.monotonic() - start))
            time.sleep(1)
            q.send("echo cos-shell-$((6*7))\n")
            if not q.wait_for(r"^cos-shell-42$", 60):
                return fail("the shell did not answer", q.output)
            print("ok: the shell answers (%.1f s)" % (time.monotonic() - start))
            if re.search(r"Kernel panic|init: cannot|init: mounting", q.output):
                return fail("errors on the console", q.output)
        finally:
            q.stop()
    print("linux: passed")
    return 0


def fake_bzimage(version=0x020F, loadflags=0x01, boot_flag=b"\x55\xaa", hdrs=b"HdrS",
                 setup_sects=4, pm_bytes=0x10000, init_size=0x100000, pref=0x1000000,
                 initrd_addr_max=0x7FFFFFFF, cmdline_size=255, size=None):
    """A bzImage-shaped file: setup header fields only, protected-mode part is HLT."""
    data = bytearray((setup_sects + 1) * 512 + pm_bytes)
    data[(setup_sects + 1) * 512:] = b"\xf4" * pm_bytes
    data[0x1F1] = setup_sects
    data[0x1FE:0x200] = boot_flag
    data[0x200:0x202] = b"\xeb\x6a"  # jump: header ends at 0x202 + 0x6a
    data[0x202:0x206] = hdrs
    struct.pack_into("<H", data, 0x206, version)
    data[0x211] = loadflags
    struct.pack_into("<I", data, 0x22C, initrd_addr_max)
    data[0x234] = 1
    struct.pack_into("<I", data, 0x238, cmdline_size)
    struct.pack_into("<Q", data, 0x258, pref)
    struct.pack_into("<I", data, 0x260, init_size)
    if size is not None:
        data = data[:size]
    return bytes(data)


def vmcall_offset(guest_img):
    magic, hdr_version, offset, number = struct.unpack_from("<4I", guest_img, 4)
    assert magic == 0x47534F43 and hdr_version == 1 and number == HYPERCALL_BOOT_ERROR
    assert guest_img[offset:offset + 3] == b"\x0f\x01\xc1", "no VMCALL at the header's offset"
    return offset


def run_errors(args):
    guest_img = Path(args.guest_img).read_bytes()
    vmcall_ip = BOOTLOADER_GPA + vmcall_offset(guest_img)
    small_ram = [(0, 0x9FC00, E820_RAM), (0x100000, 0x700000, E820_RAM)]  # 8 MiB
    cases = [
        # (name, kernel bytes, boot-info kwargs, code, message regex)
        ("no boot-info block", fake_bzimage(), {"magic": 0x12345678}, ERR_BAD_INFO,
         r"no boot-info block at 0x7000"),
        ("boot-info version 2", fake_bzimage(), {"version": 2}, ERR_BAD_INFO,
         r"no boot-info block at 0x7000"),
        ("empty e820 table", fake_bzimage(), {"e820": []}, ERR_BAD_INFO,
         r"the e820 table is empty"),
        ("plain text", b"this is not a kernel\n" * 100, {}, ERR_BAD_MAGIC,
         r"not a bzImage \(no boot flag 0xAA55 at offset 0x1fe\)"),
        ("tiny file", b"\0" * 100, {}, ERR_BAD_MAGIC, r"not a bzImage \(the kernel image is smaller"),
        ("no HdrS", fake_bzimage(hdrs=b"HDRS"), {}, ERR_BAD_MAGIC, r"not a bzImage \(no HdrS\)"),
        ("protocol 2.04", fake_bzimage(version=0x0204), {}, ERR_OLD_PROTOCOL,
         r"kernel boot protocol version 0x00000204 is too old \(need 0x0206 or later\)"),
        ("zImage", fake_bzimage(loadflags=0), {}, ERR_NOT_BZIMAGE,
         r"not a bzImage \(loadflags LOADED_HIGH not set"),
        ("truncated", fake_bzimage(setup_sects=30, pm_bytes=0, size=0x1000), {}, ERR_NOT_BZIMAGE,
         r"the file ends inside its setup code"),
        ("8 MiB of RAM", fake_bzimage(init_size=0x2000000), {"e820": small_ram}, ERR_TOO_BIG,
         r"kernel does not fit: it needs guest RAM from 0x00100000 up to 0x03000000"),
        ("initrd in the way", fake_bzimage(init_size=0x3000000),
         {"initrd_gpa": 0x2000000, "initrd_size": 0x100000}, ERR_TOO_BIG,
         r"kernel does not fit below the initrd at 0x02000000"),
        ("initrd above initrd_addr_max", fake_bzimage(initrd_addr_max=0x37FFFFFF - 0x30000000),
         {"initrd_gpa": 0x8000000, "initrd_size": 0x100000}, ERR_TOO_BIG,
         r"initrd does not fit: it ends above the kernel's initrd_addr_max 0x07ffffff"),
        ("initrd outside RAM", fake_bzimage(), {"initrd_gpa": 0x20000000, "initrd_size": 0x1000},
         ERR_TOO_BIG, r"initrd does not fit: it is not inside guest RAM"),
        ("command line too long", fake_bzimage(cmdline_size=16), {}, ERR_TOO_BIG,
         r"command line too long: the kernel takes at most 0x00000010 bytes"),
    ]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="cos-guest-errors-") as tmp:
        for name, kernel, kwargs, code, message in cases:
            kernel_path = Path(tmp) / "kernel"
            kernel_path.write_bytes(kernel)
            info = boot_info(len(kernel), **kwargs)
            log = Path(tmp) / "int.log"
            if log.exists():
                log.unlink()
            q = Qemu(tmp, disk_image(info, guest_img), kernel_path, log=log)
            try:
                ok = q.wait_for(r"guest bootloader: .*\n", 30)
                exited = q.wait_exit(15)  # #UD, no IDT: triple fault, -no-reboot stops QEMU
            finally:
                q.stop()
            line = re.search(r"guest bootloader: .*$", q.output, re.M)
            text = line.group(0) if line else "(nothing)"
            problems = []
            if not ok or not re.search(message, text):
                problems.append("console: %r" % text)
            trace = log.read_text(errors="replace") if log.exists() else ""
            # QEMU's -d int entry for the #UD at the VMCALL, then its register dump.
            ud = re.search(r"v=06 .*?pc=0*%x\b.*?\n(.*?EAX=([0-9a-f]{8}) EBX=([0-9a-f]{8}))"
                           % vmcall_ip, trace, re.S)
            if not ud:
                problems.append("no #UD at the VMCALL (0x%x) in QEMU's interrupt log" % vmcall_ip)
            elif int(ud.group(2), 16) != HYPERCALL_BOOT_ERROR or int(ud.group(3), 16) != code:
                problems.append("hypercall EAX=%s EBX=%s, expected %08x %08x"
                                % (ud.group(2), ud.group(3), HYPERCALL_BOOT_ERROR, code))
            if not exited:
                problems.append("QEMU did not stop")
            if problems:
                failures += 1
                print("FAIL %s: %s" % (name, "; ".join(problems)))
            else:
                print("PASS %s: %s (hypercall code %d)" % (name, text, code))
    print("%d passed, %d failed" % (len(cases) - failures, failures))
    return 1 if failures else 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("linux", "errors"))
    p.add_argument("--guest-img", required=True, help="the bootloader image (guest.img)")
    p.add_argument("--kernel", help="linux: the bzImage (default: the fetched Debian kernel)")
    p.add_argument("--initrd", help="linux: the initramfs (default: the default initramfs)")
    p.add_argument("--timeout", type=float, default=240, help="linux: seconds for the boot")
    args = p.parse_args(argv)
    if not Path(args.guest_img).is_file():
        print("no %s (build first)" % args.guest_img)
        return 2
    return run_linux(args) if args.what == "linux" else run_errors(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
