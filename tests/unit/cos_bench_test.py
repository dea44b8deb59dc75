#!/usr/bin/env python3
"""Unit tests of `cos bench` (tools/cos/coslib/bench): option checks, the
guest's JSON line, host-time rates from the VMM's phase lines, the KVM
baseline's output, how a boot run is judged, and the net and blk
benchmarks' parsing (simple_vmm's end-of-run reports, the guest programs'
lines, exits against a baseline)."""

import argparse
import os
import re
import stat
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "cos"))
from coslib import bench  # noqa: E402
from coslib.bench import blk, boot, common, guestfuzz, guestrun, net, smp, vmexit  # noqa: E402
from coslib.common import CosError  # noqa: E402


def bench_args(what, **kw):
    args = argparse.Namespace(what=what, timeout=None, seed=None, calls=1000000,
                              iterations=None, runs=None, emulator="qemu", set=[],
                              host_time=False, kvm_baseline=None, programs=None, mib=None,
                              reads=None, loops=None, icount=False)
    for k, v in kw.items():
        setattr(args, k, v)
    return args


class CheckArgsTest(unittest.TestCase):
    def usage_error(self, args):
        with self.assertRaises(CosError) as cm:
            bench.check_args(args)
        self.assertEqual(cm.exception.status, 2)

    def test_defaults_fill_the_timeout(self):
        args = bench_args("boot")
        bench.check_args(args)
        self.assertEqual(args.timeout, 1800)

    def test_options_of_other_benchmarks_are_usage_errors(self):
        self.usage_error(bench_args("ipc", seed=3))
        self.usage_error(bench_args("boot", iterations=5))
        self.usage_error(bench_args("vmexit", runs=2))
        self.usage_error(bench_args("fuzz", emulator="all"))
        self.usage_error(bench_args("ipc", host_time=True))
        self.usage_error(bench_args("vmexit", timeout=-1))
        self.usage_error(bench_args("fuzz", programs=10))
        self.usage_error(bench_args("guestfuzz", calls=5))
        self.usage_error(bench_args("guestfuzz", emulator="all"))
        self.usage_error(bench_args("vmexit", seed=1))

    def test_mib_and_reads_belong_to_net_and_blk(self):
        self.usage_error(bench_args("blk", mib=4))
        self.usage_error(bench_args("net", reads=10))
        self.usage_error(bench_args("boot", mib=4))
        for what, kw in (("net", {"mib": 4}), ("blk", {"reads": 10})):
            args = bench_args(what, **kw)
            bench.check_args(args)
            self.assertEqual(args.timeout, 1800)
            args = bench_args(what, emulator="all")
            bench.check_args(args)
        self.usage_error(bench_args("vmexit", emulator="all"))

    def test_seed_applies_to_both_fuzzers(self):
        for what in ("fuzz", "guestfuzz"):
            args = bench_args(what, seed=7)
            bench.check_args(args)
        args = bench_args("guestfuzz", programs=100)
        bench.check_args(args)
        self.assertEqual(args.timeout, 7200)

    def test_kvm_baseline_needs_host_time(self):
        args = bench_args("vmexit", kvm_baseline="/bin/true")
        bench.check_args(args)
        with self.assertRaises(CosError) as cm:
            vmexit.run(args)
        self.assertEqual(cm.exception.status, 2)

    def test_host_time_is_qemu_only(self):
        args = bench_args("vmexit", host_time=True, emulator="bochs", timeout=10)
        with self.assertRaises(CosError) as cm:
            vmexit._host_time(args, [])
        self.assertEqual(cm.exception.status, 2)


class GuestFuzzParseTest(unittest.TestCase):
    GOOD = ("guest_fuzz: seed 9, 500 programs from 0, backend svm; each at most 64 exits or 2000 us\n"
            "guest_fuzz: 500/500 programs, 7000 exits; ends: hlt 1\n"
            "guest_fuzz: canary memory and capabilities intact\n"
            "guest_fuzz: 500 programs in 3210 ms\n"
            "guest_fuzz: 500 programs, seed 9, 7000 exits, 0 failures: passed\n")

    def test_a_passing_run(self):
        r = guestfuzz.parse(self.GOOD)
        self.assertTrue(r["passed"])
        self.assertEqual((r["seed"], r["programs"], r["exits"], r["failures"]), (9, 500, 7000, 0))
        self.assertTrue(r["canary_ok"])
        self.assertEqual(r["elapsed_ms"], 3210)
        self.assertEqual(r["fail_lines"], [])

    def test_failures_and_missing_lines(self):
        bad = ("guest_fuzz: seed 3, 10 programs from 0, backend vmx\n"
               "guest_fuzz: FAIL program 4 (seed 3, long mode, encodings): running the guest: x\n"
               "guest_fuzz: 10 programs, seed 3, 90 exits, 1 failures: FAILED\n")
        r = guestfuzz.parse(bad)
        self.assertFalse(r["passed"])
        self.assertEqual(r["failures"], 1)
        self.assertEqual(len(r["fail_lines"]), 1)
        self.assertFalse(r["canary_ok"])
        r = guestfuzz.parse("guest_fuzz: seed 3, 10 programs from 0\ncos: PANIC: x\n")
        self.assertIsNone(r["programs"])
        self.assertFalse(r["passed"])
        self.assertEqual(r["seed"], 3)

    def test_the_fuzzer_prints_what_the_parser_reads(self):
        source = (Path(__file__).resolve().parents[2] / "src" / "components" / "impl" / "guest_fuzz" /
                  "guest_fuzz.cpp").read_text()
        self.assertIn('"guest_fuzz: %lu programs, seed %lu, %lu exits, %lu failures: %s\\n"', source)
        self.assertIn('"guest_fuzz: seed %lu, %lu programs from %lu, backend %s;', source)
        self.assertIn('"guest_fuzz: canary memory and capabilities intact\\n"', source)


class GuestJsonTest(unittest.TestCase):
    def test_finds_the_prefixed_line(self):
        serial = "noise\nvm_exit_bench: json {\"a\": 1}\nipc_bench: json {\"b\": 2}\n"
        self.assertEqual(common.parse_guest_json(serial, "vm_exit_bench"), {"a": 1})
        self.assertEqual(common.parse_guest_json(serial, "ipc_bench"), {"b": 2})

    def test_missing_or_broken_line(self):
        self.assertIsNone(common.parse_guest_json("nothing", "ipc_bench"))
        self.assertIsNone(common.parse_guest_json("ipc_bench: json {broken", "ipc_bench"))


class StreamRunTest(unittest.TestCase):
    def test_markers_are_timed_once_even_before_the_newline(self):
        run = common.StreamRun({"go": "timing starts"})
        run.start = 100.0
        run._stdout_ok = False
        run.out(b"vm_exit_bench: pio timing st", 101.0)
        run.out(b"arts\nmore\n", 102.5)
        run.out(b"pio timing starts again\n", 109.0)
        run.finish()
        self.assertEqual(run.times, {"go": 2.5})
        self.assertEqual(run.lines, ["vm_exit_bench: pio timing starts", "more",
                                     "pio timing starts again"])


class HostRatesTest(unittest.TestCase):
    def test_rates_from_the_phase_lines(self):
        run = common.StreamRun(vmexit._phase_markers())
        run.times = {"pio.start": 1.0, "pio.end": 3.0, "cpuid.start": 4.0, "cpuid.end": 8.0,
                     "hypercall.start": 9.0}
        rates = vmexit.host_rates(run, 100000)
        self.assertEqual(rates["pio"], 50000)
        self.assertEqual(rates["cpuid"], 25000)
        self.assertIsNone(rates["hypercall"])

    def test_markers_match_what_the_vmm_prints(self):
        source = (Path(__file__).resolve().parents[2] / "src" / "components" / "impl" /
                  "vm_exit_bench" / "vm_exit_bench.cpp").read_text()
        self.assertIn('"vm_exit_bench: %s timing starts\\n"', source)
        self.assertIn('"vm_exit_bench: %s timing ends\\n"', source)
        self.assertEqual(vmexit._phase_markers()["cpuid.end"], "vm_exit_bench: cpuid timing ends")


class KvmBaselineTest(unittest.TestCase):
    def script(self, body):
        fd, path = tempfile.mkstemp(suffix=".sh")
        with os.fdopen(fd, "w") as f:
            f.write("#!/bin/sh\n" + body)
        os.chmod(path, stat.S_IRWXU)
        self.addCleanup(os.unlink, path)
        return path

    def test_key_values_and_n_exits(self):
        path = self.script('echo "emulator=qemu-tcg"\necho "n_exits=$N_EXITS"\n'
                           'echo "not a pair"\necho "kvm_out_exits_per_host_s=9700"\n')
        values = vmexit.run_kvm_baseline(path, 1234, 60)
        self.assertEqual(values, {"emulator": "qemu-tcg", "n_exits": "1234",
                                  "kvm_out_exits_per_host_s": "9700"})

    def test_failure_is_an_error(self):
        with self.assertRaises(CosError):
            vmexit.run_kvm_baseline(self.script("echo x=1\nexit 3\n"), 10, 60)

    def test_not_executable_is_a_usage_error(self):
        with self.assertRaises(CosError) as cm:
            vmexit.run_kvm_baseline("/nonexistent/kvm-tcg-baseline", 10, 60)
        self.assertEqual(cm.exception.status, 2)


class IcountOptionTest(unittest.TestCase):
    def test_icount_is_for_guestfuzz_under_qemu(self):
        for args in (bench_args("fuzz", icount=True), bench_args("boot", icount=True),
                     bench_args("guestfuzz", icount=True, emulator="bochs")):
            with self.assertRaises(CosError) as cm:
                bench.check_args(args)
            self.assertEqual(cm.exception.status, 2)
        bench.check_args(bench_args("guestfuzz", icount=True))


class SmpTest(unittest.TestCase):
    def test_loops_and_emulator(self):
        for args in (bench_args("ipc", loops=2), bench_args("smp", emulator="bochs"),
                     bench_args("smp", emulator="all")):
            with self.assertRaises(CosError) as cm:
                bench.check_args(args)
            self.assertEqual(cm.exception.status, 2)
        args = bench_args("smp", loops=3, iterations=10)
        bench.check_args(args)
        self.assertEqual(args.timeout, 1800)

    def test_markers_match_the_output_not_the_echoed_command(self):
        cmd = smp.commands(2, 1000)
        self.assertEqual(cmd.count("while [ $i -lt 1000 ]"), 2)
        echoed = "~ # " + cmd.rstrip("\n")
        self.assertIsNone(re.search(smp.START_RE, echoed))
        self.assertIsNone(re.search(smp.END_RE, echoed))
        self.assertIsNotNone(re.search(smp.START_RE, "SMPBENCH start\r"))

    def test_parse_a_run(self):
        run = common.StreamRun({})
        run.lines = ["cos: virtualization: AMD SVM (NPT, 16 ASIDs)", "simple_vmm: vCPU 1 on CPU 1",
                     "SMPBENCH start", "SMPBENCH end",
                     "simple_vmm: guest powered off after 900 exits"]
        run.line_times = [0.1, 0.2, 1.0, 4.5, 5.0]
        run.status, run.killed, run.stderr_lines = 0, False, []
        rec = smp.parse_run(run, 2)
        self.assertTrue(rec["ok"], rec["problem"])
        self.assertEqual(rec["host_s"], 3.5)
        self.assertEqual(rec["placement"], ["vCPU 1 on CPU 1"])
        self.assertEqual(rec["backend"], "AMD SVM")
        run.lines = run.lines[:2]
        run.line_times = run.line_times[:2]
        self.assertIn("SMPBENCH", smp.parse_run(run, 2)["problem"])


class BootRunTest(unittest.TestCase):
    def run_of(self, lines, times, status=0, killed=False, stderr=()):
        run = common.StreamRun({})
        run.lines, run.times, run.status, run.killed = list(lines), dict(times), status, killed
        run.stderr_lines = list(stderr)
        return run

    GOOD = ["cos: virtualization: AMD SVM (NPT, ASIDs)",
            "simple_vmm: guest powered off after 5000 exits",
            "simple_vmm: exits by reason: io=4000 cpuid=900"]

    def test_a_good_run(self):
        rec = boot.parse_boot_run(self.run_of(self.GOOD, {"init": 10.0, "shutdown": 12.5,
                                                          "exit": 13.0}), 1)
        self.assertTrue(rec["ok"], rec["problem"])
        self.assertEqual(rec["backend"], "AMD SVM")
        self.assertEqual(rec["exits_total"], 5000)
        self.assertEqual(rec["exits_by_reason"], {"io": 4000, "cpuid": 900})

    def test_failures_are_named(self):
        rec = boot.parse_boot_run(self.run_of(self.GOOD, {}), 1)
        self.assertFalse(rec["ok"])
        self.assertIn("init never printed", rec["problem"])
        rec = boot.parse_boot_run(self.run_of(self.GOOD, {"init": 1}, status=1,
                                              stderr=["cos: run failed: kernel panic"]), 2)
        self.assertIn("kernel panic", rec["problem"])
        crashed = ["simple_vmm: guest crashed after 10 exits"]
        rec = boot.parse_boot_run(self.run_of(crashed, {"init": 1}), 3)
        self.assertIn("crashed", rec["problem"])

    def test_summary_takes_the_median_run(self):
        recs = []
        for i, init in enumerate((12.0, 10.0, 11.0), 1):
            rec = boot.parse_boot_run(self.run_of(self.GOOD, {"init": init, "shutdown": init + 1,
                                                              "exit": init + 2}), i)
            recs.append(rec)
        s = boot.summarise_boot(recs)
        self.assertEqual(s["init_s"], {"median": 11.0, "min": 10.0, "max": 12.0})
        self.assertEqual(s["median_run"], 3)




ROOT = Path(__file__).resolve().parents[2]


def fake_run(lines, times=None, status=0, killed=False, stderr=()):
    """A finished StreamRun with `lines` arriving at `times` (host seconds)."""
    run = common.StreamRun({})
    run.lines = list(lines)
    run.line_times = list(times) if times is not None else [float(i) for i in range(len(lines))]
    run.status, run.killed, run.stderr_lines = status, killed, list(stderr)
    return run


def vm_report(exits, reasons, net_tx=None, sectors=None):
    lines = ["simple_vmm: guest powered off after %d exits" % exits,
             "simple_vmm: exits by reason: " + " ".join("%s=%d" % kv for kv in reasons.items())]
    if net_tx is not None:
        lines.append("simple_vmm: virtio-net: sent 10 frames (%d bytes, 0 dropped, 0 bad), "
                     "received 7 frames (500 bytes, 1 dropped)" % net_tx)
    if sectors is not None:
        lines.append("simple_vmm: virtio-blk: 40 requests ok, 0 I/O errors, 1 unsupported; "
                     "%d sectors read, 0 written" % sectors)
    return lines


class VmReportTest(unittest.TestCase):
    def test_reports_in_order_with_their_devices(self):
        lines = (["noise", "simple_vmm: exits by reason: io=1"] + vm_report(100, {"io": 60}, net_tx=900)
                 + ["a| unrelated"] + vm_report(200, {"io": 70, "npf": 5}, sectors=16))
        reports = guestrun.parse_vm_reports(lines)
        self.assertEqual(len(reports), 2)
        self.assertEqual(reports[0]["exits_total"], 100)
        self.assertEqual(reports[0]["exits_by_reason"], {"io": 60})
        self.assertEqual(reports[0]["net"]["tx_bytes"], 900)
        self.assertEqual(reports[0]["net"]["rx_dropped"], 1)
        self.assertNotIn("blk", reports[0])
        self.assertEqual(reports[1]["blk"], {"ok": 40, "io_errors": 0, "unsupported": 1,
                                             "sectors_read": 16, "sectors_written": 0})
        self.assertEqual(reports[1]["end"], "powered off")

    def test_the_vmm_prints_what_the_parser_reads(self):
        main = (ROOT / "src" / "components" / "impl" / "simple_vmm" / "main.cpp").read_text()
        platform = (ROOT / "src" / "components" / "impl" / "simple_vmm" / "platform.cpp").read_text()
        self.assertIn('"simple_vmm: guest %s after %lu exits\\n"', main)
        self.assertIn('"simple_vmm: exits by reason:"', main)
        self.assertIn('"simple_vmm: virtio-net: sent %lu frames (%lu bytes, %lu dropped, %lu bad), '
                      'received %lu frames (%lu bytes, %lu dropped)\\n"', platform)
        self.assertIn('"simple_vmm: virtio-blk: %lu requests ok, %lu I/O errors, %lu unsupported; '
                      '%lu sectors read, %lu written\\n"', platform)

    def test_exits_lines(self):
        lines = ["a| netperf: exits send: total=2400 gpa_fault=1526 cpuid=33",
                 "b| netperf: exits receive: total=0",
                 "blkperf: exits seq: total=600 msr_write=158"]
        self.assertEqual(guestrun.parse_exits_line(lines, "a| netperf", "send"),
                         {"total": 2400, "by_reason": {"gpa_fault": 1526, "cpuid": 33}})
        self.assertEqual(guestrun.parse_exits_line(lines, "b| netperf", "receive"),
                         {"total": 0, "by_reason": {}})
        self.assertIsNone(guestrun.parse_exits_line(lines, "a| netperf", "receive"))
        self.assertIsNone(guestrun.parse_exits_line(lines, "blkperf", "rand"))
        self.assertEqual(guestrun.per_unit({"total": 600}, 64.0), 9.4)
        self.assertIsNone(guestrun.per_unit(None, 64.0))
        self.assertIsNone(guestrun.per_unit({"total": 600}, 0))

    def test_the_guest_header_reads_the_vmm_leaf(self):
        header = (ROOT / "guest" / "bench" / "cos_exits.h").read_text()
        policy = (ROOT / "src" / "components" / "impl" / "simple_vmm" / "cpuid_policy.hpp").read_text()
        self.assertIn("#define COS_EXIT_COUNTERS_LEAF 0x40000100u", header)
        self.assertIn("kExitCountersLeaf = 0x40000100;", policy)
        self.assertIn('"%s: exits %s: total=%llu"', header)
        # The names it prints are vmrt::exit_reason_name's, in vm::ExitReason order.
        names = re.findall(r'case vm::ExitReason::(\w+): return "(\w+)";',
                           (ROOT / "src" / "components" / "lib" / "vmrt" / "vcpu_state.cpp").read_text())
        vm_hpp = (ROOT / "src" / "include" / "cos" / "vm.hpp").read_text()
        enum = re.search(r"enum class ExitReason : uint32_t \{(.*?)\};", vm_hpp, re.S).group(1)
        values = dict(re.findall(r"^\s+(\w+) = (\d+),", enum, re.M))
        table = re.search(r"names\[\] = \{(.*?)\};", header, re.S).group(1)
        listed = re.findall(r'"(\w+)"', table)
        self.assertGreater(len(names), 10)
        for member, name in names:
            if int(values[member]) < len(listed):
                self.assertEqual(listed[int(values[member])], name)
        self.assertEqual(len(listed), 18)

    def test_host_interval_needs_the_start_first(self):
        run = fake_run(["end 1", "start", "x", "end 2"], [1.0, 2.0, 2.5, 4.25])
        secs, m = guestrun.host_interval(run, r"^start", r"^end (\d)")
        self.assertEqual(secs, 2.25)
        self.assertEqual(m.group(1), "2")
        self.assertEqual(guestrun.host_interval(run, "nothing", "end"), (None, None))


class NetRunTest(unittest.TestCase):
    NBYTES = 8 * 1024 * 1024

    def lines(self, nbytes, received=None, exits_b=True):
        out = ["cos: virtualization: AMD SVM (NPT, ASIDs)",
               "a| 10 packets transmitted, 10 packets received, 0% packet loss",
               "a| round-trip min/avg/max = 0.512/0.734/1.250 ms",
               "a| netperf: send start %d" % nbytes,
               "b| netperf: received %d bytes in 3.900 s" % nbytes]
        if exits_b:
            out.append("b| netperf: exits receive: total=1220 gpa_fault=614 cpuid=33")
        out += ["a| netperf: sent %d bytes in 4.000 s, 2.00 MiB/s; peer received %d"
                % (nbytes, nbytes if received is None else received),
                "a| netperf: exits send: total=2400 gpa_fault=1526 cpuid=33 hlt=225",
                "a| netbench: done"]
        out += vm_report(3000, {"io": 100}, net_tx=500)
        out += vm_report(5000, {"io": 200}, net_tx=nbytes + 1000)
        return out

    def times(self, lines):
        t = [float(i) for i in range(len(lines))]
        start = lines.index("a| netperf: send start %d" % self.NBYTES)
        sent = [i for i, l in enumerate(lines) if "netperf: sent" in l][0]
        t[sent] = t[start] + 5.0   # the 'sent' line 5 host seconds later
        return t

    def test_a_good_run(self):
        lines = self.lines(self.NBYTES)
        m = net.parse_net_run(fake_run(lines, self.times(lines)), self.NBYTES)
        self.assertTrue(m["ok"], m["problem"])
        self.assertEqual(m["ping"], {"min_ms": 0.512, "avg_ms": 0.734, "max_ms": 1.25,
                                     "transmitted": 10, "received": 10})
        self.assertEqual(m["transfer"]["host_s"], 5.0)
        self.assertEqual(m["transfer"]["host_mib_s"], 1.6)
        self.assertEqual(m["transfer"]["guest_mib_s"], 2.0)
        self.assertEqual(m["transfer"]["server_s"], 3.9)
        self.assertEqual(m["exits"]["vm_a"]["per_mib"], 300.0)
        self.assertEqual(m["exits"]["vm_b"]["per_mib"], 152.5)
        self.assertEqual(m["exits"]["vm_a"]["by_reason"]["hlt"], 225)
        self.assertEqual([r["exits_total"] for r in m["vm_reports"]], [3000, 5000])

    def test_failures_are_named(self):
        def problem(lines, nbytes, **kw):
            rec = net.parse_net_run(fake_run(lines, **kw), nbytes)
            self.assertFalse(rec["ok"])
            return rec["problem"]
        self.assertIn("received 5 of", problem(self.lines(self.NBYTES, received=5), self.NBYTES))
        self.assertIn("from vm_b", problem(self.lines(self.NBYTES, exits_b=False), self.NBYTES))
        self.assertIn("no ping summary", problem(self.lines(self.NBYTES)[3:], self.NBYTES))
        no_sent = [l for l in self.lines(self.NBYTES) if "netperf: sent" not in l]
        self.assertIn("netperf: sent", problem(no_sent, self.NBYTES))
        self.assertIn("status 1", problem(self.lines(self.NBYTES), self.NBYTES, status=1))
        no_done = [l for l in self.lines(self.NBYTES) if "netbench: done" not in l]
        self.assertIn("did not finish", problem(no_done, self.NBYTES))

    def test_the_programs_print_what_the_parser_reads(self):
        src = (ROOT / "guest" / "bench" / "netperf.c").read_text()
        self.assertIn('"netperf: send start %llu\\n"', src)
        self.assertIn('"netperf: sent %llu bytes in %.3f s, %.2f MiB/s; peer received %llu\\n"', src)
        self.assertIn('"netperf: received %llu bytes in %.3f s\\n"', src)
        self.assertIn('cos_exits_print("netperf", "send", &before, &after);', src)
        self.assertIn('cos_exits_print("netperf", "receive", &before, &after);', src)
        script = (ROOT / "composition_scripts" / "files" / "bench_net" / "netbench").read_text()
        self.assertIn('echo "netbench: done"', script)
        self.assertIn("ping -c", script)


class BlkRunTest(unittest.TestCase):
    LINES = (["blkperf: seq start /dev/vda",
              "blkperf: seq: read 67108864 bytes in 8.000 s, 8.00 MiB/s (direct)",
              "blkperf: exits seq: total=600 gpa_fault=222 cpuid=33",
              "blkperf: rand start /dev/vda 2000",
              "blkperf: rand: 2000 reads of 4096 bytes in 2.000 s, 1000 IOPS (cached)",
              "blkperf: exits rand: total=7694 gpa_fault=4352"]
             + vm_report(9000, {"io": 500}, sectors=131072 + 16000))
    TIMES = [0.0, 10.0, 10.0, 11.0, 15.0, 15.0, 16.0, 16.0, 16.0]

    def test_a_good_run(self):
        rec = blk.parse_blk_run(fake_run(self.LINES, self.TIMES))
        self.assertTrue(rec["ok"], rec["problem"])
        self.assertEqual(rec["seq"]["host_mib_s"], 6.4)
        self.assertEqual(rec["seq"]["guest_mib_s"], 8.0)
        self.assertEqual(rec["seq"]["mode"], "direct")
        self.assertEqual(rec["seq"]["exits"]["per_mib"], 9.4)
        self.assertEqual(rec["rand"]["host_iops"], 500)
        self.assertEqual(rec["rand"]["guest_iops"], 1000)
        self.assertEqual(rec["rand"]["mode"], "cached")
        self.assertEqual(rec["rand"]["exits"]["per_read"], 3.8)
        self.assertEqual(rec["vm_report"]["blk"]["sectors_read"], 147072)

    def test_failures_are_named(self):
        def problem(lines, **kw):
            rec = blk.parse_blk_run(fake_run(lines, **kw))
            self.assertFalse(rec["ok"])
            return rec["problem"]
        self.assertIn("no blkperf seq result", problem(self.LINES[3:]))
        self.assertIn("no 'blkperf: exits rand'", problem(self.LINES[:5] + self.LINES[6:]))
        self.assertIn("report is missing", problem(self.LINES[:6]))
        rebooted = self.LINES[:6] + ["simple_vmm: guest rebooted after 3 exits"]
        self.assertIn("rebooted", problem(rebooted))
        self.assertIn("did not return", problem([], killed=True))

    def test_the_program_prints_what_the_parser_reads(self):
        src = (ROOT / "guest" / "bench" / "blkperf.c").read_text()
        self.assertIn('"blkperf: seq start %s\\n"', src)
        self.assertIn('"blkperf: seq: read %llu bytes in %.3f s, %.2f MiB/s (%s)\\n"', src)
        self.assertIn('"blkperf: rand start %s %lu\\n"', src)
        self.assertIn('"blkperf: rand: %lu reads of %d bytes in %.3f s, %.0f IOPS (%s)\\n"', src)
        self.assertIn('cos_exits_print("blkperf", "seq", &before, &after);', src)
        self.assertIn('cos_exits_print("blkperf", "rand", &before, &after);', src)


if __name__ == "__main__":
    unittest.main()
