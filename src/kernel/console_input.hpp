// Console input: bytes typed on the kernel console (the COM1 8250 UART the
// kernel owns) go to one reader at a time, the one with the input focus.
// Readers are receive endpoints bound with console_bind; each has its own
// queue, notified when bytes arrive, and read with console_read.
//
// In the input stream Ctrl-A (0x01) is an escape, as in QEMU and `./cos
// run`: Ctrl-A 1..8 gives the focus to reader 1..8 (in the order they were
// bound), Ctrl-A Ctrl-A is one literal Ctrl-A; any other byte after Ctrl-A
// is dropped with the escape (and counted). Pure logic: host-compilable and
// unit-tested; the kernel glue is sys_console.cpp.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos {

class ConsoleInput {
 public:
  /// Readers at most (each bound endpoint is one).
  static constexpr unsigned kReaders = 8;
  /// Bytes each reader's queue holds; beyond that input stays in the UART.
  static constexpr unsigned kQueueBytes = 1024;
  /// Ctrl-A.
  static constexpr uint8_t kEscape = 0x01;

  /// What feed() did with a byte.
  enum class Fed : uint8_t {
    queued,      ///< for the focused reader (`reader` is its index)
    escape,      ///< an escape started (nothing queued yet)
    focus,       ///< the focus moved to `reader`
    dropped,     ///< an unknown escape, or a byte with no reader bound
  };

  /// Binds `key` (the reader's identity: its endpoint) as a new reader; the
  /// first reader gets the focus. Returns its index, or -1 if all kReaders
  /// are taken or `key` is bound already.
  int bind(const void* key);
  /// Unbinds `key`, dropping its queue; the focus moves to the first reader
  /// left. Returns false if it was not bound.
  bool unbind(const void* key);
  /// The reader index of `key`, or -1.
  int find(const void* key) const;
  /// The endpoint of reader `i` (nullptr if free).
  const void* key(unsigned i) const { return i < kReaders ? readers_[i].key : nullptr; }
  /// The focused reader's index, or -1 when no reader is bound.
  int focus() const { return focus_; }
  /// True if the next byte can be taken without losing it: a reader has the
  /// focus and its queue has room (otherwise input waits in the UART).
  bool can_feed() const;
  /// Takes one byte from the UART; `reader` tells whom it concerned.
  Fed feed(uint8_t byte, int& reader);
  /// Copies up to `max` queued bytes of `key`'s reader to `out`.
  size_t read(const void* key, uint8_t* out, size_t max);
  /// Bytes queued for `key`'s reader.
  size_t queued(const void* key) const;
  /// Bytes dropped so far (no reader bound, unknown escapes).
  uint64_t dropped() const { return dropped_; }

 private:
  struct Reader {
    const void* key = nullptr;
    uint8_t queue[kQueueBytes];
    uint32_t head = 0, count = 0;
  };
  Reader readers_[kReaders];
  unsigned order_[kReaders] = {};  ///< bound readers, oldest first
  unsigned bound_ = 0;
  int focus_ = -1;
  bool in_escape_ = false;
  uint64_t dropped_ = 0;
};

}  // namespace cos
