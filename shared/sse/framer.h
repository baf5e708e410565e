// Incremental Server-Sent Events framer (WHATWG rules): fed arbitrary byte slices — an event may
// be split anywhere, even between CR and LF — it yields whole events. Comment lines (": keep-alive"
// from DeepSeek) are dropped. Byte-bounded: an event larger than the cap is an error, never an
// unbounded buffer. Knows nothing about what the events mean (translation is elsewhere).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace lingmo::sse {

struct Event {
  std::string event;  // "event:" field, empty if absent
  std::string data;   // "data:" lines joined with '\n'
  std::string id;
};

class Framer {
 public:
  explicit Framer(size_t max_event_bytes = 4 * 1024 * 1024) : max_(max_event_bytes) {}

  // Appends complete events to `out`. Returns false once the current event exceeds the cap
  // (the framer then stays failed).
  bool feed(std::string_view bytes, std::vector<Event>& out);
  bool failed() const { return failed_; }
  // True when bytes of an unfinished event are buffered (a stream that ends here was cut).
  bool mid_event() const { return !line_.empty() || has_fields_; }

 private:
  void on_line(std::vector<Event>& out);

  size_t max_;
  size_t event_bytes_ = 0;
  std::string line_;
  Event cur_;
  bool has_data_ = false;
  bool has_fields_ = false;
  bool after_cr_ = false;
  bool failed_ = false;
};

}  // namespace lingmo::sse
