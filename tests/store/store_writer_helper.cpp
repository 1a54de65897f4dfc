// A second process that writes a run, for tst_store_processes.
//   plab_store_writer_helper DB hold        create a run, commit 5 steps, print "ready <id>", then wait
//                                           forever (the test kills it with SIGKILL)
//   plab_store_writer_helper DB stream N    create a run, print "ready <id>", append N steps with a
//                                           commit every 20 ms, finish `completed`, print "done"
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "store/store.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: plab_store_writer_helper DB hold|stream N\n";
    return 2;
  }
  const std::string path = argv[1], mode = argv[2];
  try {
    plab::StoreOptions options;
    options.flushInterval = std::chrono::milliseconds(20);
    plab::RunWriter writer(path, options);
    const auto id = writer.createRun({{"dataset", {{"name", "spirals"}}}}, "helper " + mode, "cpu", "helper");
    auto step = [](std::int64_t s) {
      plab::StepMetrics m;
      m.step = s;
      m.loss = 1.0 / double(s);
      m.lossScale = 65536;
      return m;
    };
    if (mode == "hold") {
      for (int s = 1; s <= 5; ++s) writer.appendStep(step(s));
      writer.flush();
      std::cout << "ready " << id << std::endl;
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    const long total = argc > 3 ? std::atol(argv[3]) : 1000;
    std::cout << "ready " << id << std::endl;
    for (long s = 1; s <= total; ++s) {
      writer.appendStep(step(s));
      if (s % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    writer.finish(plab::RunStatus::completed);
    std::cout << "done" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "plab_store_writer_helper: " << e.what() << "\n";
    return 1;
  }
}
