// Processors: cpu_count, thd_cpu and what runs on several CPUs at once —
// threads in parallel, cross-CPU notification, a thread moved while it
// runs, thd_suspend / thd_kill of a thread running on another CPU, and a
// TLB shootdown (an unmap seen at once by a thread spinning on another CPU).
// With one CPU the cases check what a single processor gives (thd_cpu to a
// CPU that is not there is bad_argument); `./cos test` runs the suite on one
// and on two CPUs (boot_kernel_tests_smp_qemu).
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {

constexpr uint64_t kSpinUs = 20000;  // how long the main thread spins to watch a helper

uint64_t cpus() { return static_cast<uint64_t>(sys::cpu_count()); }

// Counts until told to stop.
void count_until_stopped(Helper& h) {
  while (!h.stop) {
    h.t = h.t + 1;
    asm volatile("pause");
  }
}

// Spins (never blocking: on CPU 0 no lower priority runs meanwhile) for
// about `us` microseconds of kernel time.
void spin_us(uint64_t us) {
  const int64_t end = sys::time_now() + static_cast<int64_t>(us);
  while (sys::time_now() < end) asm volatile("pause");
}

// How far h.t advanced while we spun `us` without blocking.
uint64_t progress_while_spinning(Helper& h, uint64_t us) {
  const uint64_t before = h.t;
  spin_us(us);
  return h.t - before;
}

// Starts a counting helper below our priority on CPU `cpu` and waits until
// it counts there.
bool start_counter_on(Helper& h, uint64_t cpu) {
  KT_CHECK(start_helper(h, count_until_stopped, env().main_prio + 10));
  KT_CHECK_OK(sys::thd_cpu(h.thd, cpu));
  const int64_t end = sys::time_now() + 1000000;
  while (h.t == 0 && sys::time_now() < end) asm volatile("pause");
  KT_CHECK(h.t > 0);
  return true;
}

}  // namespace

KT_CASE(cpu_count_and_thd_cpu_errors) {
  const uint64_t n = cpus();
  KT_CMP(n, >=, 1);
  KT_CMP(n, <=, 8);
  Helper& h = helper();
  KT_ASSERT(start_helper(h, count_until_stopped, env().main_prio + 10));
  KT_ERR(sys::thd_cpu(h.thd, n), bad_argument);
  KT_ERR(sys::thd_cpu(h.thd, ~0ull), bad_argument);
  uint64_t ro = copy(h.thd, Rights::read), f = make(ObjType::frame);
  KT_ASSERT(ro && f);
  KT_ERR(sys::thd_cpu(ro, 0), no_rights);
  KT_ERR(sys::thd_cpu(f, 0), wrong_type);
  KT_ERR(sys::thd_cpu(slot(), 0), empty_slot);
  KT_OK(sys::thd_cpu(h.thd, n - 1));
  KT_OK(sys::thd_cpu(h.thd, 0));  // back: below us, it waits for our sleep
  h.stop = 1;
  KT_ASSERT(wait_helper(h));
  KT_ERR(sys::thd_cpu(h.thd, 0), comp_dead);
}

KT_CASE(a_thread_on_another_cpu_runs_while_we_spin) {
  if (cpus() < 2) return;  // one CPU: cpu_count_and_thd_cpu_errors covers it
  Helper& h = helper();
  KT_ASSERT(start_counter_on(h, 1));
  // On CPU 1 it counts while we never give CPU 0 away...
  KT_CMP(progress_while_spinning(h, kSpinUs), >, 0);
  // ...on CPU 0, below our priority, it cannot: moved while it runs there.
  KT_OK(sys::thd_cpu(h.thd, 0));
  spin_us(2000);  // CPU 1 takes it off (the kick) and queues it here
  KT_EQ(progress_while_spinning(h, kSpinUs), 0);
  KT_OK(sys::thd_cpu(h.thd, 1));  // a ready thread moves at once
  spin_us(2000);
  KT_CMP(progress_while_spinning(h, kSpinUs), >, 0);
  h.stop = 1;
  KT_ASSERT(wait_helper(h));
}

KT_CASE(a_thread_moves_itself_and_returns) {
  if (cpus() < 2) return;
  Helper& h = helper();
  h.a = 1;
  KT_ASSERT(start_helper(h, [](Helper& x) {
    x.r0 = sys::thd_cpu(x.thd, x.a);  // our own thread capability works from the helper too
    while (!x.stop) {
      x.t = x.t + 1;
      asm volatile("pause");
    }
  }, env().main_prio + 10));
  sleep_us(2000);  // it runs once we block, and moves
  KT_EQ(h.r0, 0);
  KT_CMP(progress_while_spinning(h, kSpinUs), >, 0);
  h.stop = 1;
  KT_ASSERT(wait_helper(h));
}

KT_CASE(asnd_wakes_a_thread_on_another_cpu_round_trips) {
  if (cpus() < 2) return;
  uint64_t r_main = 0, a_main = 0, r_help = 0, a_help = 0;
  KT_ASSERT(make_endpoint(r_main, a_main) && make_endpoint(r_help, a_help));
  Helper& h = helper();
  h.a = r_help;
  h.b = a_main;
  h.c = 2000;  // round trips
  KT_ASSERT(start_helper(h, [](Helper& x) {
    for (uint64_t i = 0; i < x.c; ++i) {
      const int64_t r = sys::rcv(x.a, 1000000, 0);
      if (r < 1) {
        x.r0 = r;
        return;
      }
      x.t = x.t + 1;
      sys::asnd(x.b);
    }
    x.r0 = 1;
  }, env().main_prio + 10));
  KT_OK(sys::thd_cpu(h.thd, 1));
  for (uint64_t i = 0; i < h.c; ++i) {
    KT_OK(sys::asnd(a_help));
    KT_EQ(sys::rcv(r_main, 1000000, 0), 1);  // a timeout would say a wakeup was lost
  }
  KT_EQ(h.t, h.c);
  KT_ASSERT(wait_helper(h));
  KT_EQ(h.r0, 1);
}

KT_CASE(suspend_resume_and_kill_a_thread_running_on_another_cpu) {
  if (cpus() < 2) return;
  Helper& h = helper();
  KT_ASSERT(start_counter_on(h, 1));
  KT_OK(sys::thd_suspend(h.thd));
  spin_us(2000);
  KT_EQ(progress_while_spinning(h, kSpinUs), 0);
  KT_OK(sys::thd_resume(h.thd));
  spin_us(2000);
  KT_CMP(progress_while_spinning(h, kSpinUs), >, 0);
  KT_OK(sys::thd_kill(h.thd));
  spin_us(2000);
  KT_EQ(progress_while_spinning(h, kSpinUs), 0);
  KT_ERR(sys::thd_kill(h.thd), comp_dead);
  KT_EQ(h.state, 1);  // killed while counting: it never finished
  h.state = 2;
  KT_ASSERT(wait_helper(h));
}

KT_CASE(unmap_reaches_a_thread_spinning_on_another_cpu) {
  if (cpus() < 2) return;
  // A child on CPU 1 reads its data page in a loop (CPU 1's TLB keeps the
  // translation) and counts the reads in a page it shares with us. Once we
  // unmap the data page it must fault at its next read: without a TLB
  // shootdown CPU 1 would go on reading the page, which returns to its
  // untyped and may be anyone's next.
  Child c;
  KT_ASSERT(c.build(KT_BLOB_OF(read_count)));
  uint64_t counter = make(ObjType::frame);
  KT_ASSERT(counter && map_scratch(0, counter));
  constexpr uint64_t kCounterVa = 0x700000;
  KT_OK(sys::pgtbl_map(c.pt, kCounterVa, counter, 0, Rights::read | Rights::write, env().ut));
  uint64_t thd = c.thread(0, kCounterVa, env().main_prio + 10);
  KT_ASSERT(thd);
  KT_OK(sys::thd_cpu(thd, 1));
  sleep_us(5000);  // it starts (here, then moves) and counts
  KT_CMP(*at(scratch(0)), >, 0);
  KT_OK(sys::pgtbl_unmap(c.pt, kChildData));
  spin_us(2000);  // a read in flight lands; the fault ends the thread
  const uint64_t after = *at(scratch(0));
  spin_us(kSpinUs);
  KT_EQ(*at(scratch(0)), after);  // no read of the unmapped page succeeded
  KT_ERR(sys::thd_kill(thd), comp_dead);  // the fault ended it
}
