#pragma once
// Host time spent inside each CUDA backend call, when the environment variable
// PLAB_CUDA_PROFILE is set: a table on stderr when the backend goes away. It tells the
// launch overhead paid inside the backend from the time spent outside it (a step is
// host-bound when the GPU waits for launches). Off, it costs one branch per call.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

namespace plab::cuda {

class HostProfile {
 public:
  static std::unique_ptr<HostProfile> fromEnvironment() {
    return std::getenv("PLAB_CUDA_PROFILE") ? std::make_unique<HostProfile>() : nullptr;
  }
  void add(const char* name, double microseconds) {
    Entry& e = entries_[name];
    if (e.calls == 0) e.firstCall = microseconds;  // plan set-up, lazy module loading
    e.calls += 1;
    e.microseconds += microseconds;
  }
  ~HostProfile() {
    std::fprintf(stderr, "CUDA backend host time per call (PLAB_CUDA_PROFILE):\n%-24s %10s %12s %12s %14s\n",
                 "call", "calls", "total ms", "first us", "later us/call");
    for (const auto& [name, e] : entries_)
      std::fprintf(stderr, "%-24s %10lld %12.3f %12.1f %14.2f\n", name.c_str(), e.calls, e.microseconds / 1000.0,
                   e.firstCall,
                   e.calls > 1 ? (e.microseconds - e.firstCall) / static_cast<double>(e.calls - 1) : 0.0);
  }

 private:
  struct Entry {
    long long calls = 0;
    double microseconds = 0;
    double firstCall = 0;
  };
  std::map<std::string, Entry> entries_;
};

class ScopedHostTime {
 public:
  ScopedHostTime(HostProfile* profile, const char* name) : profile_(profile), name_(name) {
    if (profile_) start_ = std::chrono::steady_clock::now();
  }
  ~ScopedHostTime() {
    if (profile_)
      profile_->add(name_, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start_).count());
  }
  ScopedHostTime(const ScopedHostTime&) = delete;
  ScopedHostTime& operator=(const ScopedHostTime&) = delete;

 private:
  HostProfile* profile_;
  const char* name_;
  std::chrono::steady_clock::time_point start_{};
};

}  // namespace plab::cuda

#define PLAB_HOST_TIMED(name) ::plab::cuda::ScopedHostTime plabHostTimed_(hostProfile(), name)
