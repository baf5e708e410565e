#include "sse/framer.h"

namespace lingmo::sse {

bool Framer::feed(std::string_view bytes, std::vector<Event>& out) {
  if (failed_) return false;
  for (char c : bytes) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the LF of a CRLF pair already ended the line
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = (c == '\r');
      on_line(out);
      continue;
    }
    line_.push_back(c);
    if (++event_bytes_ > max_) {
      failed_ = true;
      return false;
    }
  }
  return true;
}

void Framer::on_line(std::vector<Event>& out) {
  if (line_.empty()) {  // blank line: dispatch
    if (has_data_) out.push_back(std::move(cur_));
    cur_ = Event{};
    has_data_ = has_fields_ = false;
    event_bytes_ = 0;
    return;
  }
  if (line_[0] == ':') {  // comment
    line_.clear();
    return;
  }
  std::string_view l(line_);
  size_t colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) cur_.data.push_back('\n');
    cur_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    cur_.event.assign(value);
  } else if (field == "id") {
    cur_.id.assign(value);
  }
  has_fields_ = true;
  line_.clear();
}

}  // namespace lingmo::sse
