// Asynchronous notification: receive endpoints (where threads wait) and send
// endpoints (capabilities to notify one receive endpoint). Interrupt lines and
// the periodic timer notify receive endpoints too.
#pragma once
#include <stdint.h>

#include <boost/intrusive/list.hpp>

#include "kernel/object.hpp"
#include "kernel/run_queue.hpp"

namespace cos {

/// Receive endpoints with a periodic timer are on a kernel list.
struct TimerListTag;
using TimerListHook = boost::intrusive::list_base_hook<
    boost::intrusive::tag<TimerListTag>, boost::intrusive::link_mode<boost::intrusive::safe_link>>;

struct RcvEndpoint : KObject, TimerListHook {
  static constexpr abi::ObjType kType = abi::ObjType::rcv;
  uint64_t pending;        ///< notifications not yet received
  uint64_t period_us;      ///< periodic timer period in microseconds (0: none)
  uint64_t next_us;        ///< kernel time of the next periodic notification
  int irq_line;            ///< bound ISA line, or -1
  /// Threads blocked in rcv, longest-waiting first (a blocked thread is never
  /// in the run queue, so it reuses its scheduling hook).
  boost::intrusive::list<SchedEntity, boost::intrusive::constant_time_size<false>> waiters;
};

struct SendEndpoint : KObject {
  static constexpr abi::ObjType kType = abi::ObjType::asnd;
  RcvEndpoint* target;  ///< referenced while the send endpoint exists
};

}  // namespace cos
