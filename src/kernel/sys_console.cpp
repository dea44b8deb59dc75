// Console input for components (console_bind, console_read): the glue
// between the kernel's UART (platform::console_poll) and ConsoleInput.
#include "kernel/console.hpp"
#include "kernel/console_input.hpp"
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"
#include "kernel/syscalls.hpp"

namespace cos {
namespace {

ConsoleInput g_input;
/// The component that bound each reader (for the focus message).
char g_reader_name[ConsoleInput::kReaders][32];

RcvEndpoint* endpoint_of(int reader) {
  return static_cast<RcvEndpoint*>(const_cast<void*>(g_input.key(static_cast<unsigned>(reader))));
}

void unbind(RcvEndpoint* ep) {
  if (!g_input.unbind(ep)) return;
  obj_unref(ep);
  if (g_input.focus() < 0) platform::console_input_enable(false);
}

}  // namespace

void console_input_poll() {
  bool notify[ConsoleInput::kReaders] = {};
  uint8_t byte;
  while (g_input.can_feed() && platform::console_poll(byte)) {
    int reader;
    switch (g_input.feed(byte, reader)) {
      case ConsoleInput::Fed::queued:
        notify[reader] = true;
        break;
      case ConsoleInput::Fed::focus:
        kprintf("\ncos: console input goes to '%s' now\n", g_reader_name[reader]);
        break;
      default:
        break;
    }
  }
  for (unsigned i = 0; i < ConsoleInput::kReaders; ++i)
    if (notify[i]) rcv_notify(endpoint_of(static_cast<int>(i)));
}

void console_endpoint_orphaned(RcvEndpoint* ep) { unbind(ep); }

namespace sys {

int64_t console_bind(Thread* t, uint64_t console_slot, uint64_t rcv_slot, uint64_t on) {
  Capability* cc;
  RcvEndpoint* ep;
  Error e = caps(t).get(console_slot, ObjType::console, cc, Rights::read);
  if (e == Error::ok) e = caps(t).get(rcv_slot, Rights::write, ep);
  if (e != Error::ok) return err(e);
  if (on > 1) return err(Error::bad_argument);
  if (!on) {
    if (g_input.find(ep) < 0) return err(Error::not_bound);
    unbind(ep);
    return 0;
  }
  if (g_input.find(ep) >= 0) return err(Error::already_bound);
  int i = g_input.bind(ep);
  if (i < 0) return err(Error::out_of_memory);
  obj_ref(ep);
  for (unsigned k = 0; k < sizeof(g_reader_name[i]); ++k) g_reader_name[i][k] = t->current->name[k];
  platform::console_input_enable(true);
  console_input_poll();  // what waited in the UART
  return 0;
}

int64_t console_read(Thread* t, uint64_t console_slot, uint64_t rcv_slot, uint64_t buf, uint64_t len) {
  Capability* cc;
  RcvEndpoint* ep;
  Error e = caps(t).get(console_slot, ObjType::console, cc, Rights::read);
  if (e == Error::ok) e = caps(t).get(rcv_slot, Rights::read, ep);
  if (e != Error::ok) return err(e);
  if (len > 4096) return err(Error::bad_argument);
  if (g_input.find(ep) < 0) return err(Error::not_bound);
  // The whole buffer is checked first: a byte taken from the queue is never lost.
  if (!platform::user_writable(t->current->pgtbl_root, buf, len)) return err(Error::bad_address);
  uint8_t chunk[256];
  uint64_t done = 0;
  while (done < len) {
    size_t want = len - done < sizeof(chunk) ? len - done : sizeof(chunk);
    size_t n = g_input.read(ep, chunk, want);
    if (n == 0) break;
    platform::copy_to_user(t->current->pgtbl_root, buf + done, chunk, n);
    done += n;
  }
  console_input_poll();  // room again: take what waited in the UART
  return static_cast<int64_t>(done);
}

}  // namespace sys
}  // namespace cos
