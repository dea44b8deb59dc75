#!/usr/bin/env python3
"""Unit tests of `cos bench` (tools/cos/coslib/bench): option checks, the
guest's JSON line, host-time rates from the VMM's phase lines, the KVM
baseline's output, and how a boot run is judged."""

import argparse
import os
import stat
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "cos"))
from coslib import bench  # noqa: E402
from coslib.bench import boot, common, guestfuzz, vmexit  # noqa: E402
from coslib.common import CosError  # noqa: E402


def bench_args(what, **kw):
    args = argparse.Namespace(what=what, timeout=None, seed=None, calls=1000000,
                              iterations=None, runs=None, emulator="qemu", set=[],
                              host_time=False, kvm_baseline=None, programs=None)
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


if __name__ == "__main__":
    unittest.main()
